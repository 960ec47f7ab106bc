import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MlsDevice, toBase64 } from '@conclave/crypto';
import { MAX_SIGNALING_BYTES } from '@conclave/protocol';
import type { ConclaveClient } from '../src/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

let server: HubServer;
let clients: ConclaveClient[] = [];
const sockets: WebSocket[] = [];
beforeEach(async () => {
  server = await startHubServer({ commitTimeoutMs: 1_000, rekeyMs: 0 });
});
afterEach(async () => {
  for (const s of sockets) s.terminate();
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients = [];
  await server.close();
});

/** A raw signaling socket that collects every server message. */
async function raw(): Promise<{
  ws: WebSocket;
  got: Array<Record<string, unknown>>;
  send: (m: unknown) => void;
}> {
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws');
  sockets.push(ws);
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((r) => ws.once('open', r));
  return { ws, got, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

async function meetingWithTwo() {
  const { id, hostSecret } = server.directory.add('robust');
  const host = client(server, id, 'host', { hostSecret });
  const bob = client(server, id, 'bob');
  clients.push(host, bob);
  await host.connect();
  await bob.connect();
  await until(
    () => host.roster().length === 2 && bob.e2ee.securityCode === host.e2ee.securityCode,
    'two in group',
  );
  return { id, host, bob };
}

describe('bad signaling input gets clear errors and the meeting goes on', () => {
  it('malformed, unversioned, unknown-type and oversized messages', async () => {
    const { host, bob } = await meetingWithTwo();
    const r = await raw();
    r.send('{not json');
    r.send({ type: 'join', meetingId: 'robust' });
    r.send({ v: 1, type: 'teleport' });
    r.send({ v: 1, type: 'join', meetingId: 'robust', displayName: '', deviceId: 'd' });
    r.send({ v: 1, type: 'commit', epoch: '1', commit: 'AAAA' });
    await until(() => r.got.length >= 5, 'five errors');
    expect(r.got.map((m) => m.code)).toEqual([
      'bad_request',
      'unsupported_version',
      'bad_request',
      'bad_request',
      'not_joined',
    ]);
    expect(String(r.got[3]!.message)).toMatch(/displayName/);
    // an oversized frame is cut by the WebSocket limit or refused by the parser; the server lives on
    const big = 'x'.repeat(MAX_SIGNALING_BYTES + 10);
    r.send(JSON.stringify({ v: 1, type: 'chat', text: big }));
    await until(
      () => r.ws.readyState === r.ws.CLOSED || r.got.some((m) => m.code === 'message_too_large'),
      'oversized refused',
    );
    // the meeting still works: chat goes through, and a new participant joins the group
    const got: string[] = [];
    host.on('chat', (m) => got.push(m.text));
    await bob.sendChat('still here');
    await until(() => got.includes('still here'), 'chat after abuse');
    const carol = client(server, 'robust', 'carol');
    clients.push(carol);
    await carol.connect();
    await until(
      () => host.roster().length === 3 && carol.e2ee.securityCode === host.e2ee.securityCode,
      'carol added',
    );
  });

  it('a stale-epoch commit and a garbage commit are refused; the group is unchanged', async () => {
    const { id } = await meetingWithTwo();
    const r = await raw();
    const join = { v: 1, type: 'join', meetingId: id, displayName: 'rawbot', deviceId: 'raw-1' };
    // bytes that are no key package: refused at the door
    r.send({ ...join, keyPackage: 'AAAA' });
    await until(
      () => r.got.some((m) => m.type === 'error' && m.ref === 'join'),
      'garbage key package refused',
    );
    expect(r.got.find((m) => m.ref === 'join')?.code).toBe('bad_request');
    const device = await MlsDevice.create({ kind: 'guest', deviceId: 'raw-1', displayName: 'rawbot' });
    r.send({ ...join, keyPackage: toBase64(await device.createKeyPackage()) });
    await until(() => r.got.some((m) => m.type === 'joined'), 'raw joined');
    r.send({ v: 1, type: 'commit', epoch: '0', commit: 'AAAA' });
    await until(() => r.got.some((m) => m.type === 'error' && m.ref === 'commit'), 'commit refused');
    // not in the group yet (or just added, its Welcome unconfirmed), and never asked: its commit
    // is refused before any MLS parsing
    expect(['no_group', 'commit_pending', 'not_your_turn']).toContain(
      r.got.find((m) => m.ref === 'commit')?.code,
    );
  });

  it('the delivery service refuses stale and malformed commits from members', async () => {
    const { host, bob } = await meetingWithTwo();
    const errors: string[] = [];
    bob.on('error', (code, _m, ref) => errors.push(`${ref}:${code}`));
    const epoch = host.e2ee.epoch!;
    // send through bob's connection: a commit for an old epoch, then bytes that are no MLS message
    const signaling = (bob as unknown as { signaling: { send(m: unknown): void } }).signaling;
    signaling.send({ type: 'commit', epoch: String(epoch - 1n), commit: 'AAAAAAAA' });
    signaling.send({ type: 'commit', epoch: String(epoch), commit: 'AAAAAAAA' });
    signaling.send({ type: 'app', epoch: String(epoch), data: 'AAAAAAAA' });
    await until(() => errors.length === 3, 'three errors');
    // bob was not asked to commit: the delivery service says so before parsing anything
    expect(errors).toEqual(['commit:stale_epoch', 'commit:not_your_turn', 'app:bad_mls_message']);
    expect(host.e2ee.epoch).toBe(epoch);
    const got: string[] = [];
    host.on('chat', (m) => got.push(m.text));
    await bob.sendChat('after');
    await until(() => got.includes('after'), 'chat');
  });

  it('host-only actions are refused to participants', async () => {
    const { host, bob } = await meetingWithTwo();
    const errors: string[] = [];
    bob.on('error', (code, _m, ref) => errors.push(`${ref}:${code}`));
    bob.remove(host.participantId!);
    bob.endForAll();
    await until(() => errors.length === 2, 'refusals');
    expect(errors).toEqual(['remove:forbidden', 'end:forbidden']);
    expect(host.state).toBe('joined');
  });
});
