// The accounts service's wiring, apart from accounts.ts: the route modules take an `Accounts`,
// and accounts.ts does not import them (no import cycle).
import type { FastifyPluginAsync } from 'fastify';
import { SqliteAdapter, sql } from 'kysely';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { Accounts, type AccountsOptions } from './accounts.js';
import { authRoutes } from './auth-routes.js';
import { deviceRoutes } from './device-routes.js';

/**
 * Makes the accounts service on the server's database, loads the phone-number keys of the year
 * and starts its sweep of expired codes and the keys' refresh; `accounts.close()` stops them.
 */
export async function openAccounts(
  config: ServerConfig,
  logger: Logger,
  options: AccountsOptions,
): Promise<Accounts> {
  if (options.db.getExecutor().adapter instanceof SqliteAdapter) {
    // Deleted rows (used SMS codes with their number hashes) are overwritten, not left in free pages.
    await sql`pragma secure_delete = on`.execute(options.db);
  }
  const accounts = new Accounts(config, logger, options);
  await accounts.phoneKeys.refresh();
  accounts.phoneKeys.startRefreshing();
  accounts.startSweeping();
  return accounts;
}

/**
 * The accounts API, registered with the prefix `/api`: `/auth/*`, `/me`, `/devices`,
 * `/directory/*`. Cookies are parsed by the root app (every API reads the session).
 */
export const accountsApi: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  authRoutes(app, accounts);
  deviceRoutes(app, accounts);
};
