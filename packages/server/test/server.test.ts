import { AccountApi } from '@conclave/client';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { healthResponse, parseServerMessage } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer, type HubDeps, type RunningServer, type SignalingHub } from '../src/index.js';
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

describe('startServer', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  async function start(
    dataDir: string,
    options: Parameters<typeof startServer>[1] = {},
  ): Promise<RunningServer> {
    const server = await startServer(testConfig(dataDir), {
      logger: memoryLogger().logger,
      webRoot: null,
      ...options,
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

  it('answers on /ws through the placeholder hub', async () => {
    const server = await start(dir());
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws`);
    ws.send(JSON.stringify({ v: 1, type: 'ping' }));
    const reply = parseServerMessage(await nextMessage(ws));
    expect(reply).toEqual({
      ok: true,
      value: { v: 1, type: 'error', code: 'internal_error', message: 'signaling not available' },
    });
    ws.send('not even json');
    expect(JSON.parse(await nextMessage(ws))).toMatchObject({ type: 'error', code: 'internal_error' });
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

  it('closes sockets that send frames above the signaling limit, even if the hub ignores errors', async () => {
    // A hub that adds no 'error' listener: the endpoint's own listener keeps the process alive.
    const server = await start(dir(), {
      createHub: () => ({ handleConnection: () => undefined, close: async () => undefined }),
    });
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws`);
    const code = closed(ws);
    ws.send(Buffer.alloc(2 * 1024 * 1024 + 1, 0x61));
    expect(await code).toBe(1009);
  });

  it('hands connections to the hub from the factory and closes it', async () => {
    const events: string[] = [];
    let deps: HubDeps | undefined;
    const server = await start(dir(), {
      createHub: async (d) => {
        deps = d;
        const hub: SignalingHub = {
          handleConnection(socket, info) {
            events.push(`connection from ${info.ip}`);
            socket.send('hello');
          },
          async close() {
            events.push('hub closed');
          },
        };
        return hub;
      },
    });
    expect(deps?.externalSender.publicKey.length).toBe(32);
    expect(deps?.config.port).toBe(0);
    expect(await deps?.store.get('nosuchmeeting')).toBeUndefined();
    const ws = await openSocket(`${server.url.replace('http', 'ws')}/ws`);
    expect(await nextMessage(ws)).toBe('hello');
    const code = closed(ws);
    await server.close();
    await server.close(); // idempotent
    expect(await code).toBe(1001);
    expect(events).toEqual(['connection from 127.0.0.1', 'hub closed']);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('keeps the external-sender key across restarts', async () => {
    const dataDir = dir();
    const keys: Uint8Array[] = [];
    const createHub = (d: HubDeps): SignalingHub => {
      keys.push(d.externalSender.publicKey);
      return { handleConnection: () => undefined, close: async () => undefined };
    };
    const first = await start(dataDir, { createHub });
    await first.close();
    const second = await start(dataDir, { createHub });
    await second.close();
    expect(keys).toHaveLength(2);
    expect(Buffer.from(keys[1] ?? [])).toEqual(Buffer.from(keys[0] ?? []));
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
    const port = (blocker.address() as { port: number }).port;
    const dataDir = dir();
    await expect(
      startServer(testConfig(dataDir, { port }), { logger: memoryLogger().logger, webRoot: null }),
    ).rejects.toThrow(/EADDRINUSE/);
    // The database was closed again: a new server can open it.
    const server = await start(dataDir);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
