import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { AccountApi } from '@conclave/client';
import { Bot, type BotOptions } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import type { TapRecord } from '@conclave/server/sfu';
import { until as waitUntil } from '@conclave/testing';
import {
  adminSetPlan,
  createDatabase,
  loadConfig,
  startConclave,
  type ConclaveServer,
  type ConclaveStartOptions,
} from '@conclave/server';

export interface TestServer {
  server: ConclaveServer;
  url: string;
  dataDir: string;
  /** Stops the server (not the data dir): for restart tests. */
  stop(): Promise<void>;
  /** Stops the server and removes its data dir. */
  close(): Promise<void>;
}

export const HOST_PASSWORD = 'bots host password';

/**
 * Signs up an account on the server and puts it on the paid plan (as `conclave admin plan`
 * does, on the server's database), so it may host E2EE meetings. Returns the signed-in API.
 */
export async function hostAccount(
  ts: Pick<TestServer, 'url' | 'dataDir'>,
  email = `host-${Math.random().toString(36).slice(2, 10)}@example.org`,
): Promise<{ api: AccountApi; email: string; password: string }> {
  const api = new AccountApi({ serverUrl: ts.url });
  await api.signUp({ email, password: HOST_PASSWORD, displayName: 'Host' });
  const db = createDatabase({ dataDir: ts.dataDir });
  try {
    if (!(await adminSetPlan(db, email, 'paid'))) throw new Error(`no account ${email}`);
  } finally {
    await db.destroy();
  }
  return { api, email, password: HOST_PASSWORD };
}

/** A full Conclave server (HTTP, signaling, SFU workers) on 127.0.0.1 with a temporary data dir. */
export async function startTestServer(
  opts: { dataDir?: string; port?: number; rekeySeconds?: number } & ConclaveStartOptions = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'conclave-e2e-')));
  const config = loadConfig(
    [
      '--port',
      String(opts.port ?? 0),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--sfu-workers',
      '1',
      '--rekey-seconds',
      String(opts.rekeySeconds ?? 300),
    ],
    { CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_TEST_LOG_LEVEL ?? 'warn' },
  );
  const server = await startConclave(config, { loopbackOnly: true, ...opts });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    server,
    url: server.url,
    dataDir,
    stop,
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** What `botSuite` gives a test file: its server, host account, SFU taps and a bot maker. */
export interface BotSuite {
  readonly ts: TestServer;
  /** A signed-in host account on the paid plan (E2EE meetings). */
  readonly host: AccountApi;
  /** Every payload the SFU forwarded (with `tap`), emptied after each test. */
  readonly taps: TapRecord[];
  /** A bot on loopback media, stopped after the test; `extra` overrides any option. */
  bot(meetingId: string, name: string, extra?: Partial<BotOptions>): Bot;
  /** Stops the server and starts it again on the same port and data (a server restart). */
  restart(): Promise<void>;
}

/**
 * The shared setup of the bot end-to-end files: one server and host account per file (hooks
 * registered here), the bots a test made stopped after it, even when it fails.
 */
export function botSuite(opts: { tap?: boolean } = {}): BotSuite {
  let ts: TestServer | undefined;
  let host: AccountApi | undefined;
  let bots: Bot[] = [];
  const taps: TapRecord[] = [];
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('botSuite: used before its beforeAll ran');
    return v;
  };
  const start = async (again?: TestServer) => {
    const port = again ? Number(new URL(again.url).port) : undefined;
    const server = await startTestServer({ tap: opts.tap ?? false, dataDir: again?.dataDir, port });
    if (opts.tap) server.server.sfu.on('tap', (t) => taps.push(t));
    return server;
  };
  beforeAll(async () => {
    ts = await start();
    host = (await hostAccount(ts)).api;
  });
  afterEach(async () => {
    await Promise.all(bots.map((b) => b.stop().catch(() => undefined)));
    bots = [];
    taps.length = 0;
  });
  afterAll(async () => {
    await ts?.close();
  });
  return {
    get ts() {
      return ready(ts);
    },
    get host() {
      return ready(host);
    },
    taps,
    bot(meetingId, name, extra = {}) {
      const b = new Bot({
        serverUrl: ready(ts).url,
        meetingId,
        name,
        transport: () => new NodeMediaPeer({ loopbackOnly: true }),
        ...extra,
      });
      bots.push(b);
      return b;
    },
    async restart() {
      const old = ready(ts);
      await old.stop();
      ts = await start(old);
    },
  };
}

/** `until` of @conclave/testing with the longer default these media tests need (10 s). */
export const until = (pred: () => boolean, what: string, ms = 10_000): Promise<number> =>
  waitUntil(pred, what, ms);

export { sleep } from '@conclave/testing';
