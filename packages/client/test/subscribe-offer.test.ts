import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type ServerMessage,
  type StreamInfo,
} from '@conclave/protocol';
import { ConclaveClient, type MediaTransport, type WebSocketLike } from '../src/index.js';

// The SFU offers the subscribe connection as soon as the participant joins it, which can be
// before the SDK has handled `joined` and made its media transport (the two lanes run apart).
// Such an offer must be answered once the transport exists, not dropped: the SFU waits for the
// answer to its offer before it offers again, so a dropped offer left the participant without
// any incoming media (seen with 30 bots joining one meeting).

const MEETING = {
  id: 'meeting-race',
  title: '',
  // E2EE: handling `joined` waits for the MLS side, which is when the media lane runs ahead.
  mode: 'e2ee' as const,
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

const OFFER_SDP = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=sfu offer\r\n';
const ANSWER_SDP = 'v=0\r\no=- 3 3 IN IP4 127.0.0.1\r\ns=answer\r\n';

function fakeServer(afterJoin: (push: (msg: Record<string, unknown>) => void) => void) {
  const sent: ClientMessage[] = [];
  let socket: WebSocketLike | undefined;
  const push = (msg: Record<string, unknown>) =>
    socket?.onmessage?.({ data: JSON.stringify({ v: PROTOCOL_VERSION, ...msg }) });
  const factory = (): WebSocketLike => {
    const ws: WebSocketLike = {
      readyState: 0,
      send: (data) => {
        const parsed = parseClientMessage(data);
        if (!parsed.ok) throw new Error(`client sent an invalid message: ${parsed.message}`);
        sent.push(parsed.value);
        if (parsed.value.type !== 'join') return;
        // `joined` and the SFU's first offer in one go, as they can come off the socket.
        const frames = [
          {
            type: 'joined',
            rid: parsed.value.rid,
            participantId: 'self-001',
            resumeToken: 'resume-token-0001',
            role: 'participant',
            meeting: MEETING,
            participants: [],
            group: null,
            createGroup: false,
          },
        ];
        afterJoin((msg) => frames.push(msg as (typeof frames)[number]));
        for (const f of frames) ws.onmessage?.({ data: JSON.stringify({ v: PROTOCOL_VERSION, ...f }) });
      },
      close: () => {
        (ws as { readyState: number }).readyState = 3;
      },
      onopen: null,
      onclose: null,
      onerror: null,
      onmessage: null,
    };
    socket = ws;
    queueMicrotask(() => {
      (ws as { readyState: number }).readyState = 1;
      ws.onopen?.({});
    });
    return ws;
  };
  return { sent, factory, push };
}

function recordingMedia() {
  const offers: { sdp: string; streams: StreamInfo[] }[] = [];
  const media: MediaTransport = {
    createPublishOffer: async () => 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n',
    applyPublishAnswer: async () => undefined,
    handleSubscribeOffer: async (sdp, streams) => {
      offers.push({ sdp, streams });
      return ANSWER_SDP;
    },
    addIce: async () => undefined,
    onIce: () => undefined,
    close: () => undefined,
  };
  return { offers, media };
}

async function eventually(what: string, pred: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const offer = (n: number): Partial<ServerMessage> & Record<string, unknown> => ({
  type: 'media_offer',
  pc: 'subscribe',
  sdp: OFFER_SDP.replace('sfu offer', `sfu offer ${n}`),
  streams: [{ mid: String(n), participantId: `other-${n}xx`, source: 'audio' }],
});

describe('a subscribe offer that arrives with `joined`', () => {
  it('is answered once the media transport exists, once, and later offers go through as before', async () => {
    const server = fakeServer((push) => push(offer(1)));
    const { offers, media } = recordingMedia();
    const c = new ConclaveClient({
      serverUrl: 'http://127.0.0.1:1',
      meetingId: MEETING.id,
      displayName: 'Alice',
      webSocket: server.factory,
      media: () => media,
      reconnect: false,
    });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    expect(await c.connect()).toBe('joined');
    const answers = () => server.sent.filter((m) => m.type === 'media_answer');
    await eventually('the answer to the held offer', () => answers().length === 1).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; warnings: ${warnings.join(' | ')}`);
    });
    expect(offers.map((o) => o.sdp)).toEqual([OFFER_SDP.replace('sfu offer', 'sfu offer 1')]);
    expect(offers[0]!.streams).toEqual([{ mid: '1', participantId: 'other-1xx', source: 'audio' }]);
    expect(answers()[0]).toMatchObject({ type: 'media_answer', pc: 'subscribe', sdp: ANSWER_SDP });
    expect(server.sent.some((m) => m.type === 'media_offer' && m.pc === 'publish')).toBe(true);
    // answered once; a later offer goes straight to the transport
    server.push(offer(2));
    await eventually('the answer to the next offer', () => answers().length === 2);
    expect(offers.map((o) => o.streams[0]!.mid)).toEqual(['1', '2']);
    await new Promise((r) => setTimeout(r, 50));
    expect(answers()).toHaveLength(2);
    await c.leave();
  });

  it('is not kept by a client without media', async () => {
    const server = fakeServer((push) => push(offer(1)));
    const c = new ConclaveClient({
      serverUrl: 'http://127.0.0.1:1',
      meetingId: MEETING.id,
      displayName: 'Bob',
      webSocket: server.factory,
      reconnect: false,
    });
    expect(await c.connect()).toBe('joined');
    await new Promise((r) => setTimeout(r, 50));
    expect(server.sent.filter((m) => m.type === 'media_answer')).toEqual([]);
    await c.leave();
  });
});

describe('the connect watchdog (mediaConnectTimeoutMs)', () => {
  it('reports a subscribe connection that does not come up once, and watches the new transport after media_reset', async () => {
    const server = fakeServer((push) => push(offer(1)));
    const transports: string[] = [];
    const makeMedia = (): MediaTransport => {
      const { media } = recordingMedia();
      const index = transports.push('connecting') - 1;
      return { ...media, connectionState: (pc) => (pc === 'subscribe' ? transports[index]! : 'connected') };
    };
    const c = new ConclaveClient({
      serverUrl: 'http://127.0.0.1:1',
      meetingId: MEETING.id,
      displayName: 'Carol',
      webSocket: server.factory,
      media: makeMedia,
      reconnect: false,
      mediaConnectTimeoutMs: 150,
    });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    expect(await c.connect()).toBe('joined');
    const failed = () => server.sent.filter((m) => m.type === 'media_failed');
    await eventually('the media_failed report', () => failed().length === 1);
    expect(failed()[0]).toMatchObject({ type: 'media_failed', pc: 'subscribe' });
    expect(warnings.some((w) => w.includes('subscribe media connection is connecting after'))).toBe(true);
    // renegotiations of the same transport do not report it again
    server.push(offer(2));
    await new Promise((r) => setTimeout(r, 400));
    expect(failed()).toHaveLength(1);
    // the server answers with a new session: the new transport comes up in time, nothing is reported
    server.push({ type: 'media_reset', reason: 'connection_failed' });
    await eventually('a second transport', () => transports.length === 2);
    transports[1] = 'connected';
    server.push(offer(3));
    await new Promise((r) => setTimeout(r, 400));
    expect(failed()).toHaveLength(1);
    await c.leave();
  });

  /** A joined client whose subscribe connection is in `subscribe.state` (the test moves it). */
  async function watched(displayName: string, mediaConnectTimeoutMs: number) {
    const server = fakeServer((push) => push(offer(1)));
    const { media } = recordingMedia();
    const subscribe = { state: 'connecting' };
    const c = new ConclaveClient({
      serverUrl: 'http://127.0.0.1:1',
      meetingId: MEETING.id,
      displayName,
      webSocket: server.factory,
      media: () => ({
        ...media,
        connectionState: (pc) => (pc === 'subscribe' ? subscribe.state : 'connected'),
      }),
      reconnect: false,
      mediaConnectTimeoutMs,
    });
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    expect(await c.connect()).toBe('joined');
    const failed = () => server.sent.filter((m) => m.type === 'media_failed');
    return { server, c, subscribe, warnings, failed };
  }

  it('reports a connection that says failed at once, not at the deadline', async () => {
    const { server, c, subscribe, failed } = await watched('Dora', 60_000);
    await eventually('the answer', () => server.sent.some((m) => m.type === 'media_answer'));
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1_200));
    expect(failed()).toHaveLength(0); // still connecting: it waits
    subscribe.state = 'failed';
    await eventually('the media_failed report', () => failed().length === 1, 2_500);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await c.leave();
  });

  it('reports a connection that fails after it was up, once', async () => {
    const { server, c, subscribe, warnings, failed } = await watched('Erin', 1_500);
    await eventually('the answer', () => server.sent.some((m) => m.type === 'media_answer'));
    subscribe.state = 'connected';
    // Up, and past the connect deadline: nothing to report.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(failed()).toHaveLength(0);
    // Our end fails later (the server's end may not notice): reported, once.
    subscribe.state = 'failed';
    await eventually('the media_failed report', () => failed().length === 1, 3_000);
    expect(failed()[0]).toMatchObject({ type: 'media_failed', pc: 'subscribe' });
    expect(warnings.some((w) => w.includes('subscribe media connection failed after it was up'))).toBe(true);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(failed()).toHaveLength(1);
    await c.leave();
  });
});
