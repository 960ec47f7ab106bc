import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '@conclave/crypto';
import type { ConclaveClient } from '../src/index.js';
import { RecordingKeySink } from '../src/node/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

let server: HubServer | undefined;
const clients: ConclaveClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients.length = 0;
  await server?.close();
});

describe('periodic rekey', () => {
  it('the server asks for an empty commit every rekey interval; everyone follows with a new code', async () => {
    server = await startHubServer({ rekeyMs: 250, commitTimeoutMs: 1_000 });
    const { id, hostSecret } = server.directory.add('rekey');
    const sink = new RecordingKeySink();
    const host = client(server, id, 'host', { hostSecret, keySink: sink });
    const bob = client(server, id, 'bob');
    clients.push(host, bob);
    await host.connect();
    await bob.connect();
    await until(() => host.roster().length === 2 && bob.e2ee.epoch === host.e2ee.epoch, 'two in group');
    const start = host.e2ee.epoch!;
    const codes = new Set<string>();
    host.on('epoch', (_e, code) => codes.add(code));
    const from = sink.seen.length;
    await until(
      () =>
        host.e2ee.epoch! >= start + 3n &&
        bob.e2ee.epoch === host.e2ee.epoch &&
        bob.e2ee.securityCode === host.e2ee.securityCode,
      'three rekeys',
      5_000,
    );
    expect(codes.size).toBeGreaterThanOrEqual(3);
    // the key sink got each epoch's base key, a fresh one every time
    const keys = sink.seen.slice(from).map((k) => `${k.epoch}:${k.ownLeafIndex}:${toHex(k.baseKey)}`);
    expect(new Set(keys).size).toBeGreaterThanOrEqual(3);
    expect(new Set(sink.seen.map((k) => toHex(k.baseKey))).size).toBe(sink.seen.length);
    expect(keys.at(-1)!.startsWith(`${host.e2ee.epoch}:${host.ownLeafIndex}:`)).toBe(true);
    expect(bob.e2ee.securityCode).toBe(host.e2ee.securityCode);
    expect(host.roster()).toHaveLength(2);
  });
});

describe('departures with default timings', () => {
  it('one Remove proposal per departure, committed once (no timeout storm)', async () => {
    const { ExternalSender } = await import('@conclave/crypto');
    const sender = await ExternalSender.generate();
    let proposals = 0;
    const sign = sender.proposeRemove.bind(sender);
    sender.proposeRemove = (...args) => {
      proposals++;
      return sign(...args);
    };
    server = await startHubServer({ rekeyMs: 0 }, sender); // commit timeout left at its default
    const { id, hostSecret } = server.directory.add('storm');
    const host = client(server, id, 'host', { hostSecret });
    const bob = client(server, id, 'bob');
    const carol = client(server, id, 'carol');
    clients.push(host, bob, carol);
    for (const c of [host, bob, carol]) await c.connect();
    await until(() => host.roster().length === 3 && carol.e2ee.epoch === host.e2ee.epoch, 'three in group');
    const epoch = host.e2ee.epoch!;
    await carol.leave();
    await until(() => host.roster().length === 2 && bob.e2ee.epoch === host.e2ee.epoch, 'carol removed');
    await new Promise((r) => setTimeout(r, 300));
    expect(proposals).toBe(1);
    expect(host.e2ee.epoch).toBe(epoch + 1n);
  });
});

describe('silent drops', () => {
  it('a participant whose connection stops answering pings is removed from the group', async () => {
    server = await startHubServer({ rekeyMs: 0 }, undefined, 200);
    const { id, hostSecret } = server.directory.add('silent');
    const host = client(server, id, 'host', { hostSecret });
    const bob = client(server, id, 'bob');
    const ghost = client(server, id, 'ghost', { reconnect: false });
    clients.push(host, bob, ghost);
    for (const c of [host, bob, ghost]) await c.connect();
    await until(() => host.roster().length === 3 && ghost.e2ee.epoch === host.e2ee.epoch, 'three in group');
    // The network vanishes: the socket stays open but nothing is read (no pong), nothing is closed.
    const ws = (ghost as unknown as { signaling: { ws: { _socket: { pause(): void } } } }).signaling.ws;
    ws._socket.pause();
    await until(() => host.roster().length === 2 && bob.roster().length === 2, 'ghost removed', 3_000);
    expect(
      host
        .roster()
        .map((m) => m.identity.displayName)
        .sort(),
    ).toEqual(['bob', 'host']);
  });
});
