import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ExternalSender } from '@conclave/crypto';
import type { MeetingInfo } from '@conclave/protocol';
import {
  MeetingHub,
  type MediaRouter,
  type MeetingDirectory,
  type MeetingHubDeps,
} from '../src/meeting/index.js';

/**
 * A directory that knows one E2EE meeting without a passcode, for hub tests that need no
 * database: the meeting, its host secret, and the directory the hub reads them from.
 */
export function oneMeeting(
  id: string,
  settings: Partial<MeetingInfo['settings']> = {},
): { meeting: MeetingInfo; hostSecret: string; directory: MeetingDirectory } {
  const meeting: MeetingInfo = {
    id,
    title: '',
    mode: 'e2ee',
    ended: false,
    settings: {
      passcodeRequired: false,
      waitingRoom: false,
      muteOnEntry: false,
      maxParticipants: 10,
      locked: false,
      allowScreenShare: true,
      ...settings,
    },
  };
  const hostSecret = `${id}-host-secret`;
  const directory: MeetingDirectory = {
    get: async (m) => (m === id ? meeting : undefined),
    checkHostSecret: async (_id, secret) => secret === hostSecret,
    checkPasscode: async () => 'not_required',
    passcodeLockout: async () => undefined,
    update: async () => meeting,
    end: async () => undefined,
  };
  return { meeting, hostSecret, directory };
}

export interface HubServer {
  hub: MeetingHub;
  /** http://127.0.0.1:port (the SDK's serverUrl); the socket is at `${url}/ws`. */
  url: string;
  close(): Promise<void>;
}

/**
 * A signaling-only hub over real HTTP and WebSockets on 127.0.0.1 (no database, no SFU
 * workers): `directory` answers for the meetings, `sfu` is whatever stand-in the test needs.
 */
export async function startHubServer(opts: {
  directory: MeetingDirectory;
  sfu?: MediaRouter;
  timings?: MeetingHubDeps['timings'];
}): Promise<HubServer> {
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const hub = new MeetingHub({
    store: opts.directory,
    externalSender: await ExternalSender.generate(),
    logger: silent,
    sfu: opts.sfu,
    timings: opts.timings,
  });
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  wss.on('connection', (socket, req) => hub.handleConnection(socket, { ip: req.socket.remoteAddress ?? '' }));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    hub,
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    async close() {
      await hub.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
