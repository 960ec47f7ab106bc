import { AccountApi } from '@conclave/client';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { healthResponse } from '@conclave/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startConclave, type ConclaveServer, type ConclaveStartOptions } from '../src/index.js';
import { attachWebSocketEndpoint } from '../src/ws-endpoint.js';
import { memoryLogger, tempDir, testConfig } from './helpers.js';

/** Messages are queued from the start: a hub may send before the client's `open` handler returns. */
const inboxes = new WeakMap<WebSocket, { queue: string[]; waiters: ((m: string) => void)[] }>();

function openSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const inbox = { queue: [] as string[], waiters: [] as ((m: string) => void)[] };
    inboxes.set(ws, inbox);
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const waiter = inbox.waiters.shift();
      if (waiter) waiter(text);
      else inbox.queue.push(text);
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  const inbox = inboxes.get(ws);
  if (!inbox) throw new Error('not opened with openSocket');
  const queued = inbox.queue.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  return new Promise((resolve) => inbox.waiters.push(resolve));
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(-1);
    else ws.once('close', (code: number) => resolve(code));
  });
}

/** Files of `dir` this process holds open (the SQLite database and its WAL and shared memory). */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) open.push(target);
    } catch {
      // closed meanwhile (e.g. the fd of readdirSync itself)
    }
  }
  return open;
}

/** Pids of this process's children that run the SFU worker. */
function sfuWorkerPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid (after the command, which is in parentheses).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('sfu/worker/main.ts'))
        pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** `{part, msg}` of the composition root's "part opened" / "part closed" log lines. */
function partLog(lines: string[]): string[] {
  return lines
    .map((l) => JSON.parse(l) as { part?: string; msg?: string })
    .filter((l) => l.part !== undefined && (l.msg === 'part opened' || l.msg === 'part closed'))
    .map((l) => `${l.msg === 'part opened' ? 'opened' : 'closed'} ${l.part}`);
}

/** The whole service without media workers (`media: false`), as most server tests run it. */
describe('startConclave', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function start(
    dataDir: string,
    options: ConclaveStartOptions = {},
  ): Promise<ConclaveServer<undefined>> {
    const server = await startConclave(testConfig(dataDir), {
      logger: memoryLogger().logger,
      webRoot: null,
      ...options,
      media: false,
    });
    cleanups.push(() => server.close());
    return server;
  }

  function dir() {
    const d = tempDir();
    cleanups.push(d.remove);
    return d.path;
  }

  it('listens on an ephemeral port and serves /healthz and the API', async () => {
    const server = await start(dir());
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.publicUrl).toBe(server.url);
    const health = await fetch(`${server.url}/healthz`);
    expect(healthResponse.parse(await health.json()).status).toBe('ok');
    const host = new AccountApi({ serverUrl: server.url });
    await host.signUp({ email: 'real@example.org', password: 'real http password' });
    const created = await host.createMeeting({ title: 'Real HTTP', mode: 'standard' });
    expect(created.joinUrl).toBe(`${server.url}/m/${created.meeting.id}`);
  });

  it('answers on /ws through the meeting hub, and closes its sockets with 1001', async () => {
    const server = await start(dir());
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws`);
    ws.send(JSON.stringify({ v: 1, type: 'ping', t: 7 }));
    expect(JSON.parse(await nextMessage(ws))).toMatchObject({ v: 1, type: 'pong', t: 7 });
    ws.send('not even json');
    expect(JSON.parse(await nextMessage(ws))).toMatchObject({ type: 'error', code: 'bad_request' });
    ws.send(JSON.stringify({ v: 1, type: 'chat', text: 'hello' }));
    expect(JSON.parse(await nextMessage(ws))).toMatchObject({ type: 'error', code: 'not_joined' });
    const code = closed(ws);
    await server.close();
    expect(await code).toBe(1001);
  });

  it('refuses upgrades on other paths', async () => {
    const server = await start(dir());
    await expect(openSocket(`${server.url.replace('http', 'ws')}/other`)).rejects.toThrow(/404/);
    // The query string does not matter for the path.
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws?x=1`);
    ws.close();
  });

  it('hands connections to the hub and closes the hub before its sockets', async () => {
    const events: string[] = [];
    const server = await start(dir());
    expect(server.storage.externalSender.publicKey.length).toBe(32);
    expect(await server.storage.meetings.get('nosuchmeeting')).toBeUndefined();
    const take = server.hub.handleConnection.bind(server.hub);
    vi.spyOn(server.hub, 'handleConnection').mockImplementation((socket, info) => {
      events.push(`connection from ${info.ip}`);
      take(socket, info);
    });
    const closeHub = server.hub.close.bind(server.hub);
    vi.spyOn(server.hub, 'close').mockImplementation(async () => {
      events.push('hub closed');
      await closeHub();
    });
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws`);
    ws.send(JSON.stringify({ v: 1, type: 'ping' }));
    expect(JSON.parse(await nextMessage(ws))).toMatchObject({ type: 'pong' });
    const code = closed(ws).then((c) => events.push(`socket closed ${c}`));
    await server.close();
    await server.close(); // idempotent
    await code;
    expect(events).toEqual(['connection from 127.0.0.1', 'hub closed', 'socket closed 1001']);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('keeps the external-sender key across restarts', async () => {
    const dataDir = dir();
    const first = await start(dataDir);
    const key = Buffer.from(first.storage.externalSender.publicKey);
    await first.close();
    const second = await start(dataDir);
    await second.close();
    expect(Buffer.from(second.storage.externalSender.publicKey)).toEqual(key);
  });

  it('keeps meetings across restarts', async () => {
    const dataDir = dir();
    const first = await start(dataDir);
    const host = new AccountApi({ serverUrl: first.url });
    await host.signUp({ email: 'durable@example.org', password: 'durable password' });
    const { meeting } = await host.createMeeting({ title: 'durable', mode: 'standard' });
    await first.close();
    const second = await start(dataDir);
    const got = await fetch(`${second.url}/api/meetings/${meeting.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ meeting: { title: 'durable' } });
  });

  it('serves a built web app with index.html for meeting links and account pages', async () => {
    const web = join(dir(), 'dist');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    const server = await start(dir(), { webRoot: web });
    const root = await fetch(`${server.url}/`);
    expect(await root.text()).toContain('<title>app</title>');
    for (const page of ['/m/abcdefghij', '/signin', '/signup', '/account', '/account/unlock']) {
      const link = await fetch(`${server.url}${page}`);
      expect(link.status, page).toBe(200);
      expect(await link.text()).toContain('<title>app</title>');
    }
    const asset = await fetch(`${server.url}/assets/app.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(`${server.url}/assets/none.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ v: 1, error: { code: 'bad_request' } });
    const api = await fetch(`${server.url}/api/meetings/nosuchmeeting`);
    expect(await api.json()).toMatchObject({ error: { code: 'unknown_meeting' } });
  });

  it('fails cleanly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const dataDir = dir();
    const log = memoryLogger();
    await expect(
      startConclave(testConfig(dataDir, { port }), { media: false, logger: log.logger, webRoot: null }),
    ).rejects.toThrow(/EADDRINUSE/);
    // Every part was opened before listening failed, and each was closed again, the last first.
    expect(partLog(log.lines)).toEqual([
      'opened storage',
      'opened reports',
      'opened HTTP',
      'opened signaling',
      'opened moderation sweep',
      'closed moderation sweep',
      'closed signaling',
      'closed HTTP',
      'closed reports',
      'closed storage',
    ]);
    expect(openFilesUnder(dataDir)).toEqual([]);
    const server = await start(dataDir);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

/** The whole service with its SFU worker (about a second per start). */
describe('startConclave with media', () => {
  it('opens store, SFU, HTTP and signaling, and closes them the other way round, also when start-up fails', async () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    try {
      const d = tempDir();
      cleanups.push(d.remove);
      const config = testConfig(d.path, { sfuWorkers: 1 });

      const log = memoryLogger();
      const server = await startConclave(config, { loopbackOnly: true, logger: log.logger, webRoot: null });
      cleanups.push(() => server.close());
      const workers = sfuWorkerPids();
      expect(workers).toHaveLength(1);
      expect(openFilesUnder(d.path).length).toBeGreaterThan(0);
      await server.close();
      expect(sfuWorkerPids()).toEqual([]);
      expect(openFilesUnder(d.path)).toEqual([]);
      const order = ['storage', 'SFU', 'reports', 'HTTP', 'signaling', 'moderation sweep'];
      expect(partLog(log.lines)).toEqual([
        ...order.map((p) => `opened ${p}`),
        ...order.reverse().map((p) => `closed ${p}`),
      ]);

      // The same start with the port taken: listening is the last step, so every part was open.
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
      const failedLog = memoryLogger();
      await expect(
        startConclave(
          { ...config, port: (blocker.address() as AddressInfo).port },
          { loopbackOnly: true, logger: failedLog.logger, webRoot: null },
        ),
      ).rejects.toThrow(/EADDRINUSE/);
      expect(partLog(failedLog.lines)).toEqual(partLog(log.lines));
      expect(sfuWorkerPids()).toEqual([]);
      expect(openFilesUnder(d.path)).toEqual([]);
    } finally {
      for (const c of cleanups.reverse()) await c();
    }
  });
});

describe('the signaling endpoint', () => {
  it('closes sockets that send frames above the signaling limit, even if the hub ignores errors', async () => {
    const http = createHttpServer();
    // A hub that adds no 'error' listener: the endpoint's own listener keeps the process alive.
    const endpoint = attachWebSocketEndpoint({
      server: http,
      logger: memoryLogger().logger,
      trustProxy: false,
      publicUrl: undefined,
      onConnection: () => undefined,
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const ws = await openSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`);
      const code = closed(ws);
      ws.send(Buffer.alloc(2 * 1024 * 1024 + 1, 0x61));
      expect(await code).toBe(1009);
    } finally {
      await endpoint.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});
