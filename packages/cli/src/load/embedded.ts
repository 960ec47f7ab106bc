import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountApi } from '@conclave/client';
import { adminSetPlan, loadConfig, startConclave, type ConclaveServer } from '@conclave/server';

/** A server started in this process for a load run, with a host account that may host E2EE. */
export interface EmbeddedServer {
  server: ConclaveServer;
  url: string;
  /** Signed in; on the paid plan (E2EE hosting). */
  host: AccountApi;
  close(): Promise<void>;
}

/**
 * Starts the whole service (HTTP, hub, SFU workers) in this process, SQLite in a temporary
 * folder removed at `close`. Every bot connects from 127.0.0.1, so the per-address limits on
 * sockets and joins are raised; everything else is the default configuration.
 */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-load-'));
  let server: ConclaveServer | undefined;
  try {
    const config = loadConfig(
      [
        ...['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
        ...['--max-sockets-per-address', '100000', '--max-sockets-per-network', '1000000'],
        ...['--joins-per-minute-per-address', '100000', '--joins-per-minute-per-network', '1000000'],
      ],
      { CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_LOG_LEVEL ?? 'error' },
    );
    server = await startConclave(config, {
      loopbackOnly: true,
      webRoot: null,
      createMeetingLimit: { capacity: 1000, refillPerSecond: 1000 },
    });
    const host = new AccountApi({ serverUrl: server.url });
    const email = `load-${randomBytes(6).toString('hex')}@example.org`;
    await host.signUp({ email, password: randomBytes(18).toString('base64url') });
    await adminSetPlan(server.storage.db, email, 'paid');
    const running = server;
    return {
      server: running,
      url: running.url,
      host,
      close: async () => {
        await running.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await server?.close().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }
}
