import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { ConclaveClient, type MediaTransport } from '@conclave/client';
import { nodeWebSocket } from '@conclave/client/node';
import { until } from '@conclave/testing';
import type { MediaRouter } from '../src/meeting/index.js';
import { MEDIA_RESETS_PER_WINDOW } from '../src/meeting/room-media.js';
import { oneMeeting, startHubServer, type HubServer } from './hub-server.js';

// The hub's reaction to a dead SFU worker, with real SDK clients over WebSocket and an SFU
// stand-in: the room joins every participant with media again (flags applied again), sends
// media_reset, and the SDK publishes again on a new transport. No WebRTC here: the end-to-end
// test with real workers is packages/cli/test/e2e/media-reset.browser.test.ts.

const {
  meeting: MEETING,
  hostSecret: HOST_SECRET,
  directory,
} = oneMeeting('reset-meeting', { waitingRoom: true });

type Call = { op: string; args: Record<string, unknown> };

/** Records what the hub asks of the SFU; answers every offer; emits workerExit on demand. */
class StandInSfu extends EventEmitter {
  readonly joins: string[] = [];
  readonly leaves: string[] = [];
  readonly calls: Call[] = [];
  async join(_meetingId: string, participantId: string): Promise<void> {
    this.joins.push(participantId);
  }
  /** While set, a leave waits for it (the SFU still taking the going session down). */
  leaveHold: Promise<void> | undefined;
  async leave(_meetingId: string, participantId: string): Promise<void> {
    this.leaves.push(participantId);
    await this.leaveHold;
  }
  async closeMeeting(): Promise<void> {}
  async call(op: string, args: Record<string, unknown>): Promise<string | null> {
    this.calls.push({ op, args });
    return op === 'publishOffer' ? 'v=0 the stand-in SFU answer' : null;
  }
}

class StandInTransport implements MediaTransport {
  closed = false;
  async createPublishOffer(): Promise<string> {
    return 'v=0 a stand-in publish offer';
  }
  async applyPublishAnswer(): Promise<void> {}
  /** While set, answers wait for it (an SDK still busy with an offer when media_reset comes). */
  hold: Promise<void> | undefined;
  /** Every subscribe offer this transport was given. */
  readonly offers: string[] = [];
  async handleSubscribeOffer(sdp: string): Promise<string> {
    this.offers.push(sdp);
    await this.hold;
    return `v=0 a stand-in answer to ${sdp}`;
  }
  async addIce(): Promise<void> {}
  onIce(): void {}
  close(): void {
    this.closed = true;
  }
}

const sfu = new StandInSfu();
let server: HubServer;
let url: string;
beforeAll(async () => {
  // the stand-in's call() answers every op as the real one would (null, or the SDP answer)
  server = await startHubServer({ directory, sfu: sfu as unknown as MediaRouter });
  url = server.url;
});
afterAll(() => server.close());

const clients: ConclaveClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.leave()));
});

function client(displayName: string, hostSecret?: string, stuck = false) {
  const transports: StandInTransport[] = [];
  const resets: string[] = [];
  const c = new ConclaveClient({
    serverUrl: url,
    meetingId: MEETING.id,
    displayName,
    hostSecret,
    webSocket: nodeWebSocket,
    reconnect: false,
    // A stuck client: its publish connection never comes up, and its SDK says so after 100 ms.
    ...(stuck ? { mediaConnectTimeoutMs: 100 } : {}),
    media: () => {
      const t = stuck
        ? Object.assign(new StandInTransport(), { connectionState: () => 'connecting' })
        : new StandInTransport();
      transports.push(t);
      return t;
    },
  });
  const errors: string[] = [];
  c.on('mediaReset', (reason) => resets.push(reason));
  c.on('error', (code, _message, ref) => errors.push(`${code}:${ref ?? ''}`));
  clients.push(c);
  return { c, transports, resets, errors };
}

/** The host, and Gabi admitted from the waiting room: both in one MLS epoch. */
async function hostAndGabi(gabiStuck = false) {
  const host = client('Host', HOST_SECRET);
  await host.c.connect();
  const gabi = client('Gabi', undefined, gabiStuck);
  host.c.on('waitingRoom', (w) => w.forEach((p) => p.displayName === 'Gabi' && host.c.admit(p.id)));
  expect(await gabi.c.connect()).toBe('waiting');
  await until(() => gabi.c.state === 'joined', 'Gabi admitted');
  await until(
    () => [host.c, gabi.c].every((c) => c.e2ee.active && c.roster().length === 2),
    'both in one MLS epoch',
  );
  // The hub opens Gabi's receiving side when it reads her Welcome confirmation, which can come
  // after her client says it is in the group: counts of SFU calls start after it.
  await until(
    () =>
      sfu.calls.some(
        (k) => k.op === 'setReceiving' && k.args.participantId === gabi.c.participantId && k.args.allowed,
      ),
    'Gabi receiving at the SFU',
  );
  return { host, gabi };
}

const offersOf = (id: string | undefined, from = 0): number =>
  sfu.calls.slice(from).filter((k) => k.op === 'publishOffer' && k.args.participantId === id).length;

describe('an SFU worker exit, as the hub sees it', () => {
  it('rejoins every participant with media on the SFU, flags again, sends media_reset, and the SDK publishes again', async () => {
    const { host, gabi } = await hostAndGabi();
    // Gabi turns her microphone and camera off; Lou waits in the waiting room (no media).
    gabi.c.setMediaState(false, false);
    const lou = client('Lou');
    expect(await lou.c.connect()).toBe('waiting');
    const [hostId, gabiId] = [host.c.participantId, gabi.c.participantId];
    await until(
      () =>
        offersOf(hostId) === 1 &&
        offersOf(gabiId) === 1 &&
        sfu.calls.some(
          (k) => k.op === 'setMuted' && k.args.participantId === gabiId && k.args.kind === 'video',
        ),
      'both publishing, Gabi muted',
    );
    const epoch = host.c.e2ee.epoch;

    // Another meeting's worker: nothing happens here.
    sfu.emit('workerExit', ['some-other-meeting']);
    const from = sfu.calls.length;
    const joinsFrom = sfu.joins.length;
    sfu.emit('workerExit', [MEETING.id]);

    await until(() => host.resets.length === 1 && gabi.resets.length === 1, 'media_reset at both');
    expect([...host.resets, ...gabi.resets]).toEqual(['sfu_restarted', 'sfu_restarted']);
    expect(sfu.joins.slice(joinsFrom).sort()).toEqual([hostId, gabiId].sort());
    const after = (): Call[] => sfu.calls.slice(from);
    // Both are MLS group members: both receive again. Gabi's mute flags are applied again.
    expect(after().filter((k) => k.op === 'setReceiving')).toEqual(
      expect.arrayContaining([
        { op: 'setReceiving', args: { meetingId: MEETING.id, participantId: hostId, allowed: true } },
        { op: 'setReceiving', args: { meetingId: MEETING.id, participantId: gabiId, allowed: true } },
      ]),
    );
    expect(
      after()
        .filter((k) => k.op === 'setMuted')
        .map((k) => [k.args.participantId, k.args.kind, k.args.muted]),
    ).toEqual([
      [gabiId, 'audio', true],
      [gabiId, 'video', true],
    ]);

    // The SDK closed its transport and offered again on a new one.
    await until(() => offersOf(hostId, from) === 1 && offersOf(gabiId, from) === 1, 'new publish offers');
    for (const t of [host.transports, gabi.transports]) {
      expect(t).toHaveLength(2);
      expect(t.map((x) => x.closed)).toEqual([true, false]);
    }
    // Lou has no media: no reset, no SFU session. Signaling and the group went on.
    expect(lou.resets).toEqual([]);
    expect(lou.transports).toEqual([]);
    expect([host.c.state, gabi.c.state, lou.c.state]).toEqual(['joined', 'joined', 'waiting']);
    expect(host.c.e2ee.epoch).toBe(epoch);
  });
});

describe('a failed media connection, as the hub sees it', () => {
  it('makes that one participant’s media session anew (leave, join, media_reset), a few times a minute at most', async () => {
    const { host, gabi } = await hostAndGabi();
    const [hostId, gabiId] = [host.c.participantId, gabi.c.participantId];
    await until(() => offersOf(hostId) >= 1 && offersOf(gabiId) >= 1, 'both publishing');
    const epoch = host.c.e2ee.epoch;

    // Reports for a participant or a meeting the hub does not know change nothing.
    sfu.emit('connectionFailed', MEETING.id, 'nobody-here', 'subscribe', 'failed');
    sfu.emit('connectionFailed', 'some-other-meeting', gabiId, 'subscribe', 'failed');

    const from = sfu.calls.length;
    const [joinsFrom, leavesFrom] = [sfu.joins.length, sfu.leaves.length];
    sfu.emit('connectionFailed', MEETING.id, gabiId, 'subscribe', 'failed');
    await until(() => gabi.resets.length === 1, 'media_reset at Gabi');
    expect(gabi.resets).toEqual(['connection_failed']);
    // Only Gabi's session: she left the SFU and joined it again, receiving again.
    expect(sfu.leaves.slice(leavesFrom)).toEqual([gabiId]);
    expect(sfu.joins.slice(joinsFrom)).toEqual([gabiId]);
    expect(
      sfu.calls
        .slice(from)
        .filter((k) => k.op === 'setReceiving')
        .map((k) => k.args.participantId),
    ).toEqual([gabiId]);
    await until(() => offersOf(gabiId, from) === 1, 'a new publish offer from Gabi');
    expect(gabi.transports.map((t) => t.closed)).toEqual([true, false]);
    expect(host.resets).toEqual([]);
    expect(offersOf(hostId, from)).toBe(0);

    // Failing again and again: a new session each time up to the limit, then an error.
    for (let i = 1; i < MEDIA_RESETS_PER_WINDOW; i++) {
      sfu.emit('connectionFailed', MEETING.id, gabiId, 'publish', 'failed');
      await until(() => gabi.resets.length === i + 1, `reset ${i + 1}`);
    }
    const joinsBefore = sfu.joins.length;
    sfu.emit('connectionFailed', MEETING.id, gabiId, 'subscribe', 'disconnected');
    await until(() => gabi.errors.length === 1, 'media_error at Gabi');
    expect(gabi.errors).toEqual(['media_error:media']);
    expect(gabi.resets).toHaveLength(MEDIA_RESETS_PER_WINDOW);
    expect(sfu.joins.length).toBe(joinsBefore);
    // The meeting went on all along.
    expect([host.c.state, gabi.c.state]).toEqual(['joined', 'joined']);
    expect(host.c.e2ee.epoch).toBe(epoch);
  });

  it('a client that reports its own connection stuck (media_failed) gets the same: a new session, within the same limit', async () => {
    const { host, gabi } = await hostAndGabi(true);
    const gabiId = gabi.c.participantId;
    // Her SDK's watchdog reports each new transport in turn: reset after reset, then the error.
    await until(() => gabi.errors.length === 1, 'media_error at Gabi', 10_000);
    expect(gabi.resets).toEqual(Array(MEDIA_RESETS_PER_WINDOW).fill('connection_failed'));
    expect(gabi.errors).toEqual(['media_error:media']);
    expect(gabi.transports).toHaveLength(MEDIA_RESETS_PER_WINDOW + 1);
    expect(sfu.leaves.filter((id) => id === gabiId)).toHaveLength(MEDIA_RESETS_PER_WINDOW);
    // nobody else's media moved, and the meeting went on
    expect(host.resets).toEqual([]);
    expect([host.c.state, gabi.c.state]).toEqual(['joined', 'joined']);
  });

  it('an answer to the going session’s offer never reaches the new session', async () => {
    const { gabi } = await hostAndGabi();
    const gabiId = gabi.c.participantId!;
    const answers = (from: number) =>
      sfu.calls
        .slice(from)
        .filter((k) => k.op === 'subscribeAnswer' && k.args.participantId === gabiId)
        .map((k) => k.args.sdp);
    const streams = [{ mid: '0', participantId: 'someone-else', source: 'audio' as const }];
    // Her SDK is still working on the old session's offer when that session is made anew.
    let release!: () => void;
    gabi.transports.at(-1)!.hold = new Promise<void>((r) => (release = r));
    const from = sfu.calls.length;
    sfu.emit('subscribeOffer', MEETING.id, gabiId, 'v=0 old offer', streams);
    await new Promise((r) => setTimeout(r, 50));
    sfu.emit('connectionFailed', MEETING.id, gabiId, 'subscribe', 'failed');
    await until(() => sfu.joins.filter((id) => id === gabiId).length >= 2, 'the new session joined');
    release();
    await until(() => gabi.resets.length === 1, 'media_reset at Gabi');
    sfu.emit('subscribeOffer', MEETING.id, gabiId, 'v=0 new offer', streams);
    await until(() => answers(from).length === 1, 'an answer at the SFU');
    await new Promise((r) => setTimeout(r, 100));
    // Only the answer to the new session's offer, from the new transport, reached the SFU.
    expect(answers(from)).toEqual(['v=0 a stand-in answer to v=0 new offer']);
  });

  it('no offer of the going session is forwarded while it is taken down', async () => {
    const { gabi } = await hostAndGabi();
    const gabiId = gabi.c.participantId!;
    const streams = [{ mid: '0', participantId: 'someone-else', source: 'audio' as const }];
    let release!: () => void;
    sfu.leaveHold = new Promise<void>((r) => (release = r));
    try {
      const leaves = sfu.leaves.length;
      sfu.emit('connectionFailed', MEETING.id, gabiId, 'subscribe', 'failed');
      await until(() => sfu.leaves.length > leaves, 'the going session leaving the SFU');
      // Still leaving: the worker sends one more offer of that session.
      sfu.emit('subscribeOffer', MEETING.id, gabiId, 'v=0 offer of the going session', streams);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      release();
      sfu.leaveHold = undefined;
    }
    await until(() => gabi.resets.length === 1, 'media_reset at Gabi');
    sfu.emit('subscribeOffer', MEETING.id, gabiId, 'v=0 offer of the new session', streams);
    await until(() => gabi.transports.at(-1)!.offers.length === 1, 'the new session’s offer');
    expect(gabi.transports.flatMap((t) => t.offers)).toEqual(['v=0 offer of the new session']);
  });
});
