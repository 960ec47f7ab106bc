import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SignalingConnection, type WebSocketLike } from '@conclave/client';
import { MlsDevice, MlsSession, fromBase64, toBase64 } from '@conclave/crypto';
import type { ServerMessage, ServerMessageOf } from '@conclave/protocol';
import { until } from '@conclave/testing';
import type { MediaRouter } from '../src/meeting/index.js';
import { oneMeeting, startHubServer, type HubServer } from './hub-server.js';

// Request ids: a client message may carry `rid`; the server echoes it in the errors that
// message causes and in its direct reply, so a client matches answers to its requests.
// A signaling-only hub (one E2EE meeting, an SFU stand-in that answers every offer).

const { meeting: MEETING, hostSecret: HOST_SECRET, directory } = oneMeeting('rid-meeting');

const ANSWER = 'v=0 the stand-in SFU answer';
/**
 * An SFU stand-in: every operation succeeds, a publish offer gets ANSWER (whether the hub asks
 * by method, `publishOffer(...)`, or through `call('publishOffer', ...)`).
 */
const sfu = new Proxy(
  {},
  {
    get: (_target, name) =>
      name === 'then' // not a promise itself
        ? undefined
        : async (op: unknown) =>
            name === 'publishOffer' || (name === 'call' && op === 'publishOffer') ? ANSWER : null,
  },
) as MediaRouter;

let server: HubServer;
let wsUrl: string;
beforeAll(async () => {
  // the periodic rekey asks the group's only member to commit
  server = await startHubServer({ directory, sfu, timings: { rekeyMs: 200 } });
  wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
});
afterAll(() => server.close());

const sockets: WebSocket[] = [];
const connections: SignalingConnection[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const c of connections.splice(0)) c.close();
});

/** A raw signaling socket that keeps every server message. */
async function raw(): Promise<{ got: Array<Record<string, unknown>>; send: (m: unknown) => void }> {
  const ws = new WebSocket(wsUrl);
  sockets.push(ws);
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((r) => ws.once('open', r));
  return { got, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

/** The SDK's signaling connection (it gives every message a fresh rid). */
async function sdkConnection(): Promise<{ conn: SignalingConnection; got: ServerMessage[] }> {
  const got: ServerMessage[] = [];
  const conn = new SignalingConnection(wsUrl, (url) => new WebSocket(url) as unknown as WebSocketLike, {
    message: (m) => got.push(m),
    invalid: () => undefined,
    closed: () => undefined,
  });
  connections.push(conn);
  await conn.open();
  return { conn, got };
}

function next<T extends ServerMessage>(
  got: ServerMessage[],
  pred: (m: ServerMessage) => boolean,
): Promise<T> {
  return until(() => got.some(pred), 'a server message').then(() => got.find(pred) as T);
}

describe('request ids on signaling', () => {
  it('two requests with different rids each get their error back with their own rid; bad JSON gets none', async () => {
    const r = await raw();
    r.send({ v: 1, type: 'chat', text: 'too early', rid: 'first-1' });
    r.send({ v: 1, type: 'commit', epoch: '1', commit: 'AAAA', rid: 'second-2' });
    r.send('{"v":1,"type":"ping","rid":"in-bad-json"');
    r.send({ v: 1, type: 'chat', text: '', rid: 'valid-rid' }); // fails the schema; its rid is valid
    r.send({ v: 1, type: 'chat', text: 'hi', rid: 'not a rid!' }); // fails on the rid itself
    r.send({ v: 2, type: 'ping', rid: 'old-version' });
    r.send({ v: 1, type: 'ping', rid: 'ping-1' });
    await until(() => r.got.length >= 7, 'seven answers');
    expect(r.got).toEqual([
      expect.objectContaining({ type: 'error', code: 'not_joined', ref: 'chat', rid: 'first-1' }),
      expect.objectContaining({ type: 'error', code: 'not_joined', ref: 'commit', rid: 'second-2' }),
      { v: 1, type: 'error', code: 'bad_request', message: 'message is not valid JSON' },
      expect.objectContaining({ type: 'error', code: 'bad_request', ref: 'chat', rid: 'valid-rid' }),
      expect.objectContaining({
        type: 'error',
        code: 'bad_request',
        ref: 'chat',
        message: expect.stringMatching(/^rid: /),
      }),
      expect.objectContaining({ type: 'error', code: 'unsupported_version', rid: 'old-version' }),
      { v: 1, type: 'pong', rid: 'ping-1' },
    ]);
    expect(r.got[4]).not.toHaveProperty('rid');
  });

  it('a refused join carries the join’s rid', async () => {
    const r = await raw();
    const join = { v: 1, type: 'join', meetingId: 'no-such-meeting', displayName: 'Ann', deviceId: 'd1' };
    r.send({ ...join, rid: 'join-a' });
    await until(() => r.got.length >= 1, 'the answer to the join');
    r.send({ ...join, rid: 'join-b' });
    await until(() => r.got.length >= 2, 'the answer to the second join');
    expect(r.got).toEqual([
      expect.objectContaining({ type: 'error', code: 'unknown_meeting', ref: 'join', rid: 'join-a' }),
      expect.objectContaining({ type: 'error', code: 'unknown_meeting', ref: 'join', rid: 'join-b' }),
    ]);
  });

  it('in a meeting: direct replies and errors from the room carry the rid of their request', async () => {
    const { conn, got } = await sdkConnection();
    const device = await MlsDevice.create({ kind: 'guest', deviceId: 'rid-host', displayName: 'Host' });
    const joinRid = conn.send({
      type: 'join',
      meetingId: MEETING.id,
      displayName: 'Host',
      deviceId: 'rid-host',
      hostSecret: HOST_SECRET,
      keyPackage: toBase64(await device.createKeyPackage()),
    });
    expect(joinRid).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    const joined = await next<ServerMessageOf<'joined'>>(got, (m) => m.type === 'joined');
    expect(joined.rid).toBe(joinRid);
    expect(joined.createGroup).toBe(true);

    // Two requests the room refuses for different reasons, sent back to back.
    const chatRid = conn.send({ type: 'chat', text: 'plain text in an E2EE meeting' });
    const muteRid = conn.send({ type: 'mute', participantId: 'nobody-here', kind: 'audio' });
    expect(chatRid).not.toBe(muteRid);
    const errors = () => got.filter((m): m is ServerMessageOf<'error'> => m.type === 'error');
    await until(() => errors().length >= 2, 'two errors');
    expect(errors()).toEqual([
      expect.objectContaining({ code: 'forbidden', ref: 'chat', rid: chatRid }),
      expect.objectContaining({ code: 'unknown_participant', ref: 'mute', rid: muteRid }),
    ]);

    // The replies that answer one request: pong, commit_accepted, the publish media_answer.
    const pingRid = conn.send({ type: 'ping', t: 5 });
    expect(await next(got, (m) => m.type === 'pong')).toEqual({ v: 1, type: 'pong', rid: pingRid, t: 5 });

    const serverKey = fromBase64(joined.serverKey!);
    const session = await MlsSession.create(device, {
      groupId: crypto.getRandomValues(new Uint8Array(16)),
      externalSender: { signaturePublicKey: serverKey },
      serverKey,
      roles: { hosts: [toBase64(device.signatureKeys.publicKey)], cohosts: [] },
    });
    conn.send({
      type: 'group_create',
      groupId: toBase64(session.groupId),
      groupInfo: toBase64(await session.groupInfo()),
    });
    await next(got, (m) => m.type === 'rekey_request' && m.epoch === '0');
    const pending = await session.prepareCommit();
    const commitRid = conn.send({
      type: 'commit',
      epoch: String(pending.baseEpoch),
      commit: toBase64(pending.commit),
    });
    const accepted = await next<ServerMessageOf<'commit_accepted'>>(got, (m) => m.type === 'commit_accepted');
    expect(accepted).toMatchObject({ rid: commitRid, epoch: '0', newEpoch: '1' });

    const offerRid = conn.send({ type: 'media_offer', pc: 'publish', sdp: 'v=0 an offer' });
    const answer = await next<ServerMessageOf<'media_answer'>>(got, (m) => m.type === 'media_answer');
    expect(answer).toEqual({
      v: 1,
      type: 'media_answer',
      rid: offerRid,
      pc: 'publish',
      sdp: ANSWER,
    });
    expect(errors()).toHaveLength(2);
  });
});
