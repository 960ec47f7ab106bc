import { afterEach, describe, expect, it } from 'vitest';
import { MAX_VIEW_TILES, PROTOCOL_VERSION, parseClientMessage, type ClientMessage } from '@conclave/protocol';
import {
  ConclaveClient,
  ConclaveError,
  normalizeView,
  VIEW_MIN_INTERVAL_MS,
  ViewSender,
  type ForwardingStatus,
  type MediaTransport,
  type MediaViewFields,
  type ViewClock,
  type WebSocketLike,
} from '../src/index.js';

/** A clock whose time only moves when the test says so. */
class ManualClock implements ViewClock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== h);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

const tile = (participantId: string, height: number, source: 'camera' | 'screen' = 'camera') => ({
  participantId,
  source,
  height,
});

describe('normalizeView', () => {
  it('fills in the protocol defaults', () => {
    expect(normalizeView({})).toEqual({ lastN: 9, pinned: [], tiles: [], defaultHeight: 360 });
  });

  it('gives views that mean the same the same canonical form', () => {
    const a = normalizeView({
      lastN: 4,
      pinned: ['carol-1', 'bob-01', 'carol-1'],
      tiles: [tile('carol-1', 180), tile('bob-01', 720), tile('bob-01', 200, 'screen'), tile('carol-1', 90)],
    });
    const b = normalizeView({
      lastN: 4,
      pinned: ['bob-01', 'carol-1'],
      tiles: [tile('bob-01', 200, 'screen'), tile('carol-1', 180), tile('bob-01', 720)],
    });
    expect(a).toEqual(b);
    expect(a.pinned).toEqual(['bob-01', 'carol-1']);
    // One tile per stream, the tallest of the ones given.
    expect(a.tiles).toEqual([tile('bob-01', 720), tile('bob-01', 200, 'screen'), tile('carol-1', 180)]);
  });

  it('refuses what the protocol refuses, naming the field', () => {
    const bad: [string, Parameters<typeof normalizeView>[0]][] = [
      ['lastN', { lastN: MAX_VIEW_TILES + 1 }],
      ['lastN', { lastN: 1.5 }],
      ['pinned.0', { pinned: ['no spaces allowed'] }],
      ['tiles.0.height', { tiles: [tile('bob-01', -1)] }],
      ['tiles.0.height', { tiles: [tile('bob-01', 100_000)] }],
      ['tiles', { tiles: Array.from({ length: MAX_VIEW_TILES * 2 + 1 }, (_, i) => tile(`p-${i}xx`, 10)) }],
      ['defaultHeight', { defaultHeight: Number.NaN }],
    ];
    for (const [field, view] of bad) {
      let err: unknown;
      try {
        normalizeView(view);
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(ConclaveError);
      expect((err as ConclaveError).code).toBe('bad_request');
      expect((err as ConclaveError).message).toContain(field);
    }
  });
});

describe('ViewSender', () => {
  function sender(accept = () => true) {
    const clock = new ManualClock();
    const sent: MediaViewFields[] = [];
    const s = new ViewSender((v) => {
      if (!accept()) return false;
      sent.push(v);
      return true;
    }, clock);
    return { clock, sent, s };
  }

  it('sends the first view at once and does not send an identical one again', () => {
    const { clock, sent, s } = sender();
    s.set({ lastN: 3 });
    expect(sent).toHaveLength(1);
    clock.advance(10_000);
    s.set({ lastN: 3, pinned: [], tiles: [] });
    s.set({ lastN: 3 });
    clock.advance(10_000);
    expect(sent).toHaveLength(1);
  });

  it('sends at most one view per interval, the latest of a burst', () => {
    const { clock, sent, s } = sender();
    s.set({ tiles: [tile('bob-01', 100)] });
    for (let h = 101; h <= 140; h++) {
      clock.advance(5);
      s.set({ tiles: [tile('bob-01', h)] });
    }
    expect(sent).toHaveLength(1);
    clock.advance(VIEW_MIN_INTERVAL_MS);
    expect(sent.map((v) => v.tiles[0]?.height)).toEqual([100, 140]);
    // a steady stream of changes for a second: one view per interval, and the last one at the end
    const before = sent.length;
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      s.set({ tiles: [tile('bob-01', 200 + i)] });
    }
    clock.advance(VIEW_MIN_INTERVAL_MS);
    const perSecond = 1000 / VIEW_MIN_INTERVAL_MS;
    expect(sent.length - before).toBeGreaterThanOrEqual(perSecond);
    expect(sent.length - before).toBeLessThanOrEqual(perSecond + 1);
    expect(sent.at(-1)?.tiles[0]?.height).toBe(299);
  });

  it('drops a pending send when the view returns to what was sent', () => {
    const { clock, sent, s } = sender();
    s.set({ lastN: 2 });
    s.set({ lastN: 5 });
    s.set({ lastN: 2 });
    expect(clock.pending).toBe(0);
    clock.advance(VIEW_MIN_INTERVAL_MS * 4);
    expect(sent.map((v) => v.lastN)).toEqual([2]);
  });

  it('resend sends the current view even when unchanged; nothing before a view is set', () => {
    const { sent, s } = sender();
    s.resend();
    expect(sent).toHaveLength(0);
    s.set({ lastN: 1 });
    s.resend();
    s.resend();
    expect(sent.map((v) => v.lastN)).toEqual([1, 1, 1]);
  });

  it('a view that could not go out is sent by the next resend', () => {
    let open = false;
    const { clock, sent, s } = sender(() => open);
    s.set({ lastN: 4 });
    clock.advance(VIEW_MIN_INTERVAL_MS * 2);
    expect(sent).toHaveLength(0);
    open = true;
    s.resend();
    expect(sent.map((v) => v.lastN)).toEqual([4]);
  });

  it('an invalid view throws and leaves the current one in place', () => {
    const { sent, s } = sender();
    s.set({ lastN: 4 });
    expect(() => s.set({ lastN: -1 })).toThrow(ConclaveError);
    expect(s.view?.lastN).toBe(4);
    expect(sent).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- the client over a fake server

const MEETING = {
  id: 'meet-001',
  title: '',
  mode: 'standard' as const,
  ended: false,
  settings: {
    passcodeRequired: false,
    waitingRoom: false,
    muteOnEntry: false,
    maxParticipants: 100,
    locked: false,
    allowScreenShare: true,
  },
};

const STATUS: ForwardingStatus = {
  speakers: ['bob-01'],
  audio: ['bob-01'],
  video: [
    {
      participantId: 'bob-01',
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
  rttMs: 3,
};

/** One fake connection to the server: what the client sent on it and a way to answer. */
interface FakeConnection {
  sent: ClientMessage[];
  push(msg: object): void;
}

/** A server stand-in: every socket opens, and a join is answered with `joined` (standard meeting). */
function fakeServer() {
  const connections: FakeConnection[] = [];
  const factory = (): WebSocketLike => {
    const conn: FakeConnection = { sent: [], push: () => undefined };
    const ws: WebSocketLike = {
      readyState: 0,
      send: (data) => {
        const parsed = parseClientMessage(data);
        if (!parsed.ok) throw new Error(`client sent an invalid message: ${parsed.message}`);
        conn.sent.push(parsed.value);
        if (parsed.value.type === 'join') {
          conn.push({
            type: 'joined',
            rid: parsed.value.rid,
            participantId: 'self-001',
            resumeToken: `resume-token-000${connections.length}`,
            role: 'participant',
            meeting: MEETING,
            participants: [],
            group: null,
            createGroup: false,
          });
        }
      },
      close: () => {
        (ws as { readyState: number }).readyState = 3;
      },
      onopen: null,
      onclose: null,
      onerror: null,
      onmessage: null,
    };
    conn.push = (msg) =>
      queueMicrotask(() => ws.onmessage?.({ data: JSON.stringify({ v: PROTOCOL_VERSION, ...msg }) }));
    connections.push(conn);
    queueMicrotask(() => {
      (ws as { readyState: number }).readyState = 1;
      ws.onopen?.({});
    });
    return ws;
  };
  return { connections, factory };
}

/** A media transport that negotiates nothing (the client only needs its offer). */
function fakeMedia(): MediaTransport {
  return {
    createPublishOffer: async () => 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n',
    applyPublishAnswer: async () => undefined,
    handleSubscribeOffer: async () => 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n',
    addIce: async () => undefined,
    onIce: () => undefined,
    close: () => undefined,
  };
}

const views = (c: FakeConnection) => c.sent.filter((m) => m.type === 'media_view');

async function eventually(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ConclaveClient.setView and mediaStatus', () => {
  const clients: ConclaveClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.leave();
  });

  function client(server: ReturnType<typeof fakeServer>, media = true): ConclaveClient {
    const c = new ConclaveClient({
      serverUrl: 'http://127.0.0.1:1',
      meetingId: MEETING.id,
      displayName: 'Alice',
      webSocket: server.factory,
      media: media ? fakeMedia : undefined,
      reconnect: { attempts: 3, delayMs: 10 },
    });
    clients.push(c);
    return c;
  }

  it('sends the view once joined, validated, and only when it changes', async () => {
    const server = fakeServer();
    const c = client(server);
    // Before joining nothing goes out (the server would refuse it), but the view is kept.
    c.setView({ lastN: 3, tiles: [tile('bob-01', 360)] });
    expect(() => c.setView({ lastN: 99 })).toThrow(/lastN/);
    expect(await c.connect()).toBe('joined');
    const conn = server.connections[0]!;
    await eventually('the view after the join', () => views(conn).length === 1);
    expect(views(conn)[0]).toMatchObject({
      lastN: 3,
      pinned: [],
      tiles: [tile('bob-01', 360)],
      defaultHeight: 360,
    });
    // The join carried it already (the SFU's first offer follows it)...
    const joinMsg = conn.sent.find((m) => m.type === 'join');
    expect(joinMsg?.type === 'join' && joinMsg.view).toEqual({
      lastN: 3,
      pinned: [],
      tiles: [tile('bob-01', 360)],
      defaultHeight: 360,
    });
    // ...and it follows after the publish offer too (a server that kept none applies this one).
    const types = conn.sent.map((m) => m.type);
    expect(types.indexOf('media_view')).toBeGreaterThan(types.indexOf('media_offer'));
    c.setView({ lastN: 3, tiles: [tile('bob-01', 360)] });
    await new Promise((r) => setTimeout(r, VIEW_MIN_INTERVAL_MS * 2));
    expect(views(conn)).toHaveLength(1);
    c.setView({ lastN: 3, pinned: ['bob-01'], tiles: [tile('bob-01', 360)] });
    await eventually('the changed view', () => views(conn).length === 2);
    expect(views(conn)[1]).toMatchObject({ pinned: ['bob-01'] });
    expect(c.view()?.pinned).toEqual(['bob-01']);
  });

  it('a join without a view set carries none', async () => {
    const server = fakeServer();
    const c = client(server);
    expect(await c.connect()).toBe('joined');
    const joinMsg = server.connections[0]!.sent.find((m) => m.type === 'join');
    expect(joinMsg).toBeDefined();
    expect(joinMsg && 'view' in joinMsg ? joinMsg.view : undefined).toBeUndefined();
  });

  it('keeps the last media_status, emits each, and ignores invalid ones', async () => {
    const server = fakeServer();
    const c = client(server);
    const seen: (ForwardingStatus | undefined)[] = [];
    const warnings: string[] = [];
    c.on('mediaStatus', (s) => seen.push(s));
    c.on('warning', (w) => warnings.push(w));
    await c.connect();
    expect(c.mediaStatus()).toBeUndefined();
    const conn = server.connections[0]!;
    conn.push({ type: 'media_status', ...STATUS });
    await eventually('the status', () => seen.length === 1);
    expect(c.mediaStatus()).toEqual(STATUS);
    expect(seen[0]).toEqual(STATUS);
    // A status the schema refuses (layer out of range) changes nothing.
    conn.push({
      type: 'media_status',
      ...STATUS,
      video: [{ ...STATUS.video[0], layer: 99 }],
    });
    await eventually('the warning', () => warnings.some((w) => w.includes('invalid server message')));
    expect(c.mediaStatus()).toEqual(STATUS);
    const next = { ...STATUS, speakers: [], audio: [], downlinkBps: null };
    conn.push({ type: 'media_status', ...next });
    await eventually('the second status', () => seen.length === 2);
    expect(c.mediaStatus()).toEqual(next);
  });

  it('sends the view again after a reconnect and after media_reset; the old status is forgotten', async () => {
    const server = fakeServer();
    const c = client(server);
    const seen: (ForwardingStatus | undefined)[] = [];
    c.on('mediaStatus', (s) => seen.push(s));
    await c.connect();
    c.setView({ lastN: 2 });
    const first = server.connections[0]!;
    await eventually('the view', () => views(first).length === 1);
    first.push({ type: 'media_status', ...STATUS });
    await eventually('the status', () => c.mediaStatus() !== undefined);

    // The SFU worker died: a new media session, which knows nothing of our view.
    first.push({ type: 'media_reset', reason: 'sfu_restarted' });
    await eventually('the view again', () => views(first).length === 2);
    expect(c.mediaStatus()).toBeUndefined();
    expect(seen.at(-1)).toBeUndefined();
    const offers = first.sent.filter((m) => m.type === 'media_offer');
    expect(offers).toHaveLength(2);
    expect(views(first)[1]).toMatchObject({ lastN: 2 });

    first.push({ type: 'media_status', ...STATUS });
    await eventually('the status', () => c.mediaStatus() !== undefined);
    // The connection drops: the client rejoins on a new one and sends the view there.
    c.simulateConnectionLoss();
    expect(c.mediaStatus()).toBeUndefined();
    await eventually('a second connection', () => server.connections.length === 2);
    const second = server.connections[1]!;
    await eventually('the view on the new connection', () => views(second).length === 1);
    expect(second.sent[0]).toMatchObject({ type: 'join', resume: { participantId: 'self-001' } });
    expect(views(second)[0]).toMatchObject({ lastN: 2 });
    expect(c.state).toBe('joined');
  });

  it('a client without media sends its view too (signaling-only bots)', async () => {
    const server = fakeServer();
    const c = client(server, false);
    await c.connect();
    c.setView({ lastN: 0 });
    await eventually('the view', () => views(server.connections[0]!).length === 1);
    expect(views(server.connections[0]!)[0]).toMatchObject({ lastN: 0 });
  });
});
