import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ExternalSender } from '@conclave/crypto';
import type { MeetingInfo, UpdateMeetingRequest } from '@conclave/protocol';
import { MeetingHub, type MeetingDirectory, type RoomTimings } from '@conclave/server/meeting';
import { ConclaveClient, type ClientOptions } from '../src/index.js';
import { nodeWebSocket } from '../src/node/index.js';

/** An in-memory meeting directory, so the hub can be tested without a database. */
export class MemoryDirectory implements MeetingDirectory {
  meetings = new Map<
    string,
    {
      info: MeetingInfo;
      passcode?: string;
      hostSecret: string;
      /** Times (ms) of wrong passcodes, with the client key they came from. */
      failures: { at: number; clientKey: string }[];
    }
  >();
  /** Like MeetingStore's limits: wrong passcodes per meeting and client key in `networkWindowMs`… */
  failuresPerNetwork = 5;
  networkWindowMs = 5 * 60_000;
  /** …and per meeting in `meetingWindowMs`, after which passcode entry is locked out. */
  failuresPerMeeting = 30;
  meetingWindowMs = 15 * 60_000;
  /** Clock in ms (tests may replace it). */
  now: () => number = Date.now;
  /** Like MeetingStore.onChange: the hub hears of stored changes. */
  onUpdate: (m: MeetingInfo) => void = () => undefined;

  add(
    id: string,
    opts: { mode?: 'e2ee' | 'standard'; passcode?: string; waitingRoom?: boolean } = {},
  ): { id: string; hostSecret: string } {
    const hostSecret = `host-secret-${id}`;
    this.meetings.set(id, {
      hostSecret,
      passcode: opts.passcode,
      failures: [],
      info: {
        id,
        title: '',
        mode: opts.mode ?? 'e2ee',
        ended: false,
        settings: {
          passcodeRequired: opts.passcode !== undefined,
          waitingRoom: opts.waitingRoom ?? false,
          muteOnEntry: false,
          maxParticipants: 100,
          locked: false,
          allowScreenShare: true,
        },
      },
    });
    return { id, hostSecret };
  }
  async get(id: string) {
    return this.meetings.get(id)?.info;
  }
  async checkHostSecret(id: string, secret: string) {
    return this.meetings.get(id)?.hostSecret === secret;
  }
  async checkPasscode(id: string, passcode: string, clientKey: string) {
    const m = this.meetings.get(id);
    if (!m?.passcode) return 'not_required' as const;
    if (passcode.length === 0) return 'wrong' as const; // not counted, as in MeetingStore
    const now = this.now();
    m.failures = m.failures.filter((f) => f.at > now - this.meetingWindowMs);
    if (m.failures.length >= this.failuresPerMeeting) return 'locked_out' as const;
    const fromClient = m.failures.filter(
      (f) => f.clientKey === clientKey && f.at > now - this.networkWindowMs,
    );
    if (fromClient.length >= this.failuresPerNetwork) return 'rate_limited' as const;
    if (m.passcode === passcode) return 'ok' as const;
    m.failures.push({ at: now, clientKey });
    return 'wrong' as const;
  }
  async passcodeLockout(id: string) {
    const m = this.meetings.get(id);
    if (!m) return undefined;
    const now = this.now();
    const counted = m.failures.filter((f) => f.at > now - this.meetingWindowMs);
    const leaving = counted[counted.length - this.failuresPerMeeting];
    if (!leaving) return undefined;
    return { until: leaving.at + this.meetingWindowMs, failures: counted.length };
  }
  async update(id: string, patch: UpdateMeetingRequest) {
    const m = this.meetings.get(id);
    if (!m) return undefined;
    if (patch.locked !== undefined)
      m.info = { ...m.info, settings: { ...m.info.settings, locked: patch.locked } };
    if (patch.passcode !== undefined) {
      m.passcode = patch.passcode ?? undefined;
      m.failures = []; // a new passcode ends a lockout
      m.info = { ...m.info, settings: { ...m.info.settings, passcodeRequired: patch.passcode !== null } };
    }
    this.onUpdate(m.info);
    return m.info;
  }
  async end(id: string) {
    const m = this.meetings.get(id);
    if (m) m.info = { ...m.info, ended: true };
  }
}

export interface HubServer {
  url: string;
  hub: MeetingHub;
  directory: MemoryDirectory;
  close(): Promise<void>;
}

/** A signaling-only server (no SFU) on 127.0.0.1 with an ephemeral port. */
export async function startHubServer(
  timings: Partial<RoomTimings> = {},
  externalSender?: ExternalSender,
  heartbeatMs?: number,
): Promise<HubServer> {
  const directory = new MemoryDirectory();
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const hub = new MeetingHub({
    store: directory,
    externalSender: externalSender ?? (await ExternalSender.generate()),
    logger: silent,
    timings,
    heartbeatMs,
  });
  directory.onUpdate = (m) => hub.meetingUpdated(m);
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  wss.on('connection', (socket, req) => hub.handleConnection(socket, { ip: req.socket.remoteAddress ?? '' }));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hub,
    directory,
    async close() {
      await hub.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

export function client(
  server: { url: string },
  meetingId: string,
  name: string,
  extra: Partial<ClientOptions> = {},
): ConclaveClient {
  return new ConclaveClient({
    serverUrl: server.url,
    meetingId,
    displayName: name,
    webSocket: nodeWebSocket,
    ...extra,
  });
}

export { until } from '@conclave/testing';
