import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { SignalingConnection, type WebSocketLike } from '@conclave/client';
import { MlsDevice, toBase64 } from '@conclave/crypto';
import { MAX_VIEW_TILES, type ServerMessage, type ServerMessageOf } from '@conclave/protocol';
import { until } from '@conclave/testing';
import type { MediaRouter } from '../src/meeting/index.js';
import { MEDIA_VIEWS_PER_SECOND } from '../src/meeting/room-media.js';
import type { MediaStatus } from '../src/sfu/index.js';
import { oneMeeting, startHubServer, type HubServer } from './hub-server.js';

// `media_view` at the hub (signaling only, an SFU stand-in): validated by the protocol schema,
// only from joined participants, rate-limited, passed to the SFU with the defaults applied,
// kept for a media session made later; the worker's `mediaStatus` reaches its participant.

const {
  meeting: MEETING,
  hostSecret: HOST_SECRET,
  directory,
} = oneMeeting('view-meeting', { waitingRoom: true });

type Call = { op: string; args: Record<string, unknown> };

class StandInSfu extends EventEmitter {
  readonly calls: Call[] = [];
  /** Joins refused with media_capacity from now on (the participant stays without media). */
  full = false;
  async join(meetingId: string, participantId: string, view?: Record<string, unknown>): Promise<void> {
    if (this.full) throw Object.assign(new Error('no free media port'), { code: 'media_capacity' });
    this.calls.push({ op: 'join', args: { meetingId, participantId, ...(view ? { view } : {}) } });
  }
  async leave(): Promise<void> {}
  async closeMeeting(): Promise<void> {}
  async call(op: string, args: Record<string, unknown>): Promise<string | null> {
    this.calls.push({ op, args });
    return op === 'publishOffer' ? 'v=0 the stand-in SFU answer' : null;
  }
  /** The views the SFU was given for the participant: with `setView`, or with its `join`. */
  views(participantId: string | undefined): Array<Record<string, unknown>> {
    return this.calls
      .filter((c) => c.args.participantId === participantId)
      .flatMap((c) => {
        if (c.op === 'setView') return [c.args];
        const view = c.args.view as Record<string, unknown> | undefined;
        return c.op === 'join' && view
          ? [{ meetingId: c.args.meetingId, participantId: c.args.participantId, ...view }]
          : [];
      });
  }
}

const sfu = new StandInSfu();
let server: HubServer;
let wsUrl: string;
beforeAll(async () => {
  server = await startHubServer({ directory, sfu: sfu as unknown as MediaRouter });
  wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
});
afterAll(() => server.close());

const connections: SignalingConnection[] = [];
afterEach(() => {
  for (const c of connections.splice(0)) c.close();
  sfu.full = false;
});

interface Joined {
  conn: SignalingConnection;
  got: ServerMessage[];
  id: string;
  /** Sends anything as a client message (bad input included). */
  send: (msg: Record<string, unknown>) => string | undefined;
  errors: () => Array<ServerMessageOf<'error'>>;
}

/** A signaling connection to the hub, and everything it receives. */
async function connect(): Promise<{ conn: SignalingConnection; got: ServerMessage[] }> {
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

/** A join as the SDK makes it (a fresh device and key package), with `view` as given. */
async function joinRequest(name: string, host: boolean, view?: Record<string, unknown>) {
  const deviceId = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const device = await MlsDevice.create({ kind: 'guest', deviceId, displayName: name });
  return {
    type: 'join',
    meetingId: MEETING.id,
    displayName: name,
    deviceId,
    ...(host ? { hostSecret: HOST_SECRET } : {}),
    keyPackage: toBase64(await device.createKeyPackage()),
    ...(view ? { view } : {}),
  } as const;
}

async function join(name: string, host: boolean, view?: Record<string, unknown>): Promise<Joined> {
  const { conn, got } = await connect();
  conn.send((await joinRequest(name, host, view)) as never);
  await until(() => got.some((m) => m.type === 'joined' || m.type === 'waiting'), `${name} joined`);
  const first = got.find((m) => m.type === 'joined' || m.type === 'waiting') as ServerMessageOf<'joined'>;
  return {
    conn,
    got,
    id: first.participantId,
    // Bad input on purpose: the SDK's type would refuse it.
    send: (msg) => conn.send(msg as never),
    errors: () => got.filter((m): m is ServerMessageOf<'error'> => m.type === 'error'),
  };
}

/** A ping's pong: every message before it has been handled. */
async function settled(p: Joined): Promise<void> {
  const rid = p.send({ type: 'ping' });
  await until(() => p.got.some((m) => m.type === 'pong' && m.rid === rid), 'pong');
}

describe('media_view at the hub', () => {
  it('passes a valid view to the SFU with the defaults applied', async () => {
    const ann = await join('Ann', true);
    await until(
      () => sfu.calls.some((c) => c.op === 'setReceiving' && c.args.participantId === ann.id),
      'media',
    );
    ann.send({ type: 'media_view' });
    ann.send({
      type: 'media_view',
      lastN: 2,
      pinned: ['pinned-one'],
      tiles: [{ participantId: 'tile-owner', source: 'camera', height: 540 }],
      defaultHeight: 180,
    });
    await until(() => sfu.views(ann.id).length === 2, 'two views');
    expect(sfu.views(ann.id)).toEqual([
      { meetingId: MEETING.id, participantId: ann.id, lastN: 9, pinned: [], tiles: [], defaultHeight: 360 },
      {
        meetingId: MEETING.id,
        participantId: ann.id,
        lastN: 2,
        pinned: ['pinned-one'],
        tiles: [{ participantId: 'tile-owner', source: 'camera', height: 540 }],
        defaultHeight: 180,
      },
    ]);
    expect(ann.errors()).toEqual([]);
  });

  it('refuses bad views with bad_request, and the connection goes on', async () => {
    const bob = await join('Bob', true);
    await settled(bob);
    const before = sfu.views(bob.id).length;
    const tile = { participantId: 'tile-owner', source: 'camera', height: 100 };
    const bad: Array<Record<string, unknown>> = [
      { lastN: -1 },
      { lastN: 2.5 },
      { lastN: MAX_VIEW_TILES + 1 },
      { lastN: '3' },
      { pinned: ['no'] }, // ids are 4-64 characters
      { pinned: Array.from({ length: MAX_VIEW_TILES + 1 }, (_, i) => `pinned-${i}`) },
      { tiles: Array.from({ length: MAX_VIEW_TILES * 2 + 1 }, () => tile) },
      { tiles: [{ ...tile, height: 5000 }] },
      { tiles: [{ ...tile, source: 'audio' }] },
      { tiles: [{ ...tile, participantId: 'bad id!' }] },
      { defaultHeight: -1 },
      { tiles: 'all' },
    ];
    const rids = bad.map((b) => bob.send({ type: 'media_view', ...b }));
    await settled(bob);
    expect(bob.errors()).toHaveLength(bad.length);
    for (const [i, e] of bob.errors().entries()) {
      expect(e).toMatchObject({ code: 'bad_request', ref: 'media_view', rid: rids[i] });
    }
    expect(sfu.views(bob.id)).toHaveLength(before);
  });

  it('is refused before the join and in the waiting room', async () => {
    const { conn, got } = await connect();
    conn.send({ type: 'media_view', lastN: 1 } as never); // the defaults fill the rest
    await until(() => got.some((m) => m.type === 'error'), 'an error');
    expect(got.find((m) => m.type === 'error')).toMatchObject({ code: 'not_joined', ref: 'media_view' });

    await join('Host', true);
    const waiting = await join('Wendy', false);
    expect(waiting.got.some((m) => m.type === 'waiting')).toBe(true);
    waiting.send({ type: 'media_view', lastN: 1 });
    await until(() => waiting.errors().length === 1, 'an error');
    expect(waiting.errors()[0]).toMatchObject({ code: 'forbidden', ref: 'media_view' });
    expect(sfu.views(waiting.id)).toEqual([]);
  });

  it(`lets ${MEDIA_VIEWS_PER_SECOND} views a second through and refuses more with rate_limited`, async () => {
    const cy = await join('Cy', true);
    await settled(cy);
    const before = sfu.views(cy.id).length;
    for (let i = 0; i < MEDIA_VIEWS_PER_SECOND + 5; i++) cy.send({ type: 'media_view', lastN: i % 5 });
    await settled(cy);
    const passed = sfu.views(cy.id).length - before;
    expect(passed).toBeGreaterThanOrEqual(MEDIA_VIEWS_PER_SECOND);
    expect(passed).toBeLessThan(MEDIA_VIEWS_PER_SECOND + 2); // a token may refill while they arrive
    const limited = cy.errors().filter((e) => e.code === 'rate_limited' && e.ref === 'media_view');
    expect(limited.length).toBe(MEDIA_VIEWS_PER_SECOND + 5 - passed);
    // A second later there is room again.
    await new Promise((r) => setTimeout(r, 1000));
    cy.send({ type: 'media_view', lastN: 7 });
    await until(() => sfu.views(cy.id).at(-1)?.lastN === 7, 'the view after the pause');
  });

  it('keeps a view sent without a media session and applies it when the session is made', async () => {
    sfu.full = true;
    const dee = await join('Dee', true);
    await until(() => dee.errors().some((e) => e.code === 'media_capacity'), 'media_capacity');
    dee.send({ type: 'media_view', lastN: 3, pinned: ['someone-else'] });
    await settled(dee);
    expect(sfu.views(dee.id)).toEqual([]);
    // A port is free again; the next offer makes the session and the view goes with it.
    sfu.full = false;
    dee.send({ type: 'media_offer', pc: 'publish', sdp: 'v=0 an offer' });
    await until(() => sfu.views(dee.id).length === 1, 'the kept view applied');
    expect(sfu.views(dee.id)[0]).toMatchObject({ lastN: 3, pinned: ['someone-else'] });
    // With the join itself: the worker's first offer already follows it.
    const order = sfu.calls.filter((c) => c.args.participantId === dee.id).map((c) => c.op);
    expect(order.indexOf('join')).toBeLessThan(order.indexOf('publishOffer'));
    expect(order).not.toContain('setView');
  });

  it('a view in the join goes to the SFU with the media join, defaults applied; a bad one refuses the join', async () => {
    const gus = await join('Gus', true, {
      lastN: 4,
      tiles: [{ participantId: 'someone', source: 'camera', height: 90 }],
    });
    await until(() => sfu.views(gus.id).length === 1, 'the join view');
    expect(sfu.views(gus.id)[0]).toEqual({
      meetingId: MEETING.id,
      participantId: gus.id,
      lastN: 4,
      pinned: [],
      tiles: [{ participantId: 'someone', source: 'camera', height: 90 }],
      defaultHeight: 360,
    });
    const joins = sfu.calls.filter((c) => c.op === 'join' && c.args.participantId === gus.id);
    expect(joins).toHaveLength(1);
    await settled(gus);
    expect(sfu.calls.some((c) => c.op === 'setView' && c.args.participantId === gus.id)).toBe(false);

    const { conn, got } = await connect();
    conn.send((await joinRequest('Hal', true, { lastN: MAX_VIEW_TILES + 1 })) as never);
    await until(() => got.some((m) => m.type === 'error'), 'an error');
    expect(got.find((m) => m.type === 'error')).toMatchObject({ code: 'bad_request', ref: 'join' });
    expect(got.some((m) => m.type === 'joined' || m.type === 'waiting')).toBe(false);
  });

  it('sends the SFU’s mediaStatus to its participant as media_status', async () => {
    const eve = await join('Eve', true);
    const fay = await join('Fay', true);
    await settled(fay);
    const status: MediaStatus = {
      speakers: [fay.id],
      audio: [fay.id],
      video: [
        {
          participantId: fay.id,
          source: 'camera',
          forwarded: true,
          reason: 'speaker',
          layer: 1,
          layers: 3,
          limit: 'tile',
        },
      ],
      downlinkBps: 1_200_000,
      lossFraction: 0.01,
      rttMs: 12,
    };
    sfu.emit('mediaStatus', MEETING.id, eve.id, status);
    sfu.emit('mediaStatus', 'another-meeting', fay.id, status); // not this room's: dropped
    await until(() => eve.got.some((m) => m.type === 'media_status'), 'media_status');
    expect(eve.got.find((m) => m.type === 'media_status')).toEqual({ v: 1, type: 'media_status', ...status });
    await settled(fay);
    expect(fay.got.some((m) => m.type === 'media_status')).toBe(false);
  });
});
