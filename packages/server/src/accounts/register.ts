// Wiring of the accounts API, apart from accounts.ts: the route modules take an `Accounts`,
// and accounts.ts does not import them (no import cycle).
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance } from 'fastify';
import { SqliteAdapter, sql } from 'kysely';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { createDatabase } from '../store/database.js';
import { migrateToLatest } from '../store/migrate.js';
import { registerVerificationRoutes } from '../verification/routes.js';
import { Accounts, type AccountsOptions } from './accounts.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerDeviceRoutes } from './device-routes.js';

/**
 * Registers the accounts API on the app (cookies, `/api/auth/*`, `/api/me`, `/api/devices`,
 * `/api/directory/*`, `/api/verification/*`) and decorates it with `app.accounts`.
 */
export async function registerAccounts(
  app: FastifyInstance,
  deps: { config: ServerConfig; logger: Logger } & AccountsOptions,
): Promise<Accounts> {
  const { config, logger } = deps;
  if (!app.hasRequestDecorator('cookies')) await app.register(fastifyCookie);
  let db = deps.db;
  if (!db) {
    const own = createDatabase(config);
    db = own;
    app.addHook('onClose', () => own.destroy());
    await migrateToLatest(own);
  }
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    // Deleted rows (used SMS codes with their number hashes) are overwritten, not left in free pages.
    await sql`pragma secure_delete = on`.execute(db);
  }
  const accounts = new Accounts(db, config, logger, deps);
  app.decorate('accounts', accounts);
  // Expired codes (number hash and expiry) go within a minute even when nobody asks for one.
  const sweep = setInterval(() => {
    accounts.verification.store
      .purgeExpired()
      .catch((err: unknown) => logger.error({ err }, 'purging codes failed'));
  }, 60_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
  registerAuthRoutes(app, accounts);
  registerDeviceRoutes(app, accounts);
  registerVerificationRoutes(app, accounts);
  return accounts;
}
