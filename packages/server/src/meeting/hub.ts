import type { LogSink } from '../logger.js';
import type { WebSocket } from 'ws';
import type { ExternalSender } from '@conclave/crypto';
import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  parseClientMessage,
  type MeetingInfo,
  type ServerMessage,
} from '@conclave/protocol';
import { MemoryAdmissionStore, type AdmissionStore } from './admission-store.js';
import {
  ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  type ConnectionLimitSettings,
} from './connection-limits.js';
import type {
  ChatSeal,
  ConnectionInfo,
  MediaRouter,
  MeetingDirectory,
  Peer,
  RoomLimits,
  RoomTimings,
  ServerBans,
} from './deps.js';
import { Room } from './room.js';

/** Every limit of the hub and its rooms (settings in config.ts, same names). */
export interface HubLimits extends ConnectionLimitSettings, RoomLimits {
  /** Unsent bytes a socket may hold before it is dropped as a slow consumer. */
  maxSendBufferBytes: number;
}

export const DEFAULT_HUB_LIMITS: HubLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  maxWaiting: 100,
  maxWaitingPerNetwork: 20,
  resumeMs: 120_000,
  maxSendBufferBytes: 4 * 1024 * 1024,
};

/** WebSocket close codes the hub uses (4000-4999 are the application's). */
export const CLOSE_CODES = {
  /** Refused: too many connections from the address or network. */
  tooManyConnections: 4029,
  /** The client did not read what the server sent (send buffer over the limit). */
  slowConsumer: 4008,
} as const;

export interface MeetingHubDeps {
  store: MeetingDirectory;
  externalSender: ExternalSender;
  logger: LogSink;
  sfu?: MediaRouter;
  timings?: Partial<RoomTimings>;
  /** Resume tokens and removal marks; in memory when absent (they do not survive a restart then). */
  admission?: AdmissionStore;
  limits?: Partial<HubLimits>;
  /** Ping interval; a connection that misses one pong is dropped (default 5 s). */
  heartbeatMs?: number;
  /** The moderators' server-wide key bans, checked at every join (absent: none). */
  serverBans?: ServerBans;
  /** Seals relayed chat of standard meetings (report evidence); without it chat goes unsealed. */
  chatSeal?: ChatSeal;
}

/** A participant of a running meeting as the server's moderation sees it (moderation/live-enforcement.ts). */
export interface LiveParticipant {
  meetingId: string;
  participantId: string;
  userId: string | undefined;
  /** base64 MLS signature key of its key package. */
  signatureKey: string | undefined;
}

/** Per connection: at most this many messages per second on average (bursts of twice that). */
const MESSAGES_PER_SECOND = 50;
/**
 * A connection that does not answer a WebSocket ping within this time is treated as dropped
 * (a participant whose network vanished without closing the socket): its leaf is removed.
 */
const DEFAULT_HEARTBEAT_MS = 5_000;

/**
 * The signaling hub: one WebSocket per participant, messages validated by the protocol
 * schemas, then handed to the meeting's Room. A bad message gets an `error` with a stable code
 * and never takes the connection, the room or the process down.
 */
export class MeetingHub {
  private readonly rooms = new Map<string, Room>();
  /** Rooms being opened (the meeting row is loaded once even if several joins race). */
  private readonly opening = new Map<string, Promise<Room | undefined>>();
  private readonly admission: AdmissionStore;
  private readonly timings: RoomTimings;
  private readonly limits: HubLimits;
  private readonly connections: ConnectionLimits;

  constructor(private readonly deps: MeetingHubDeps) {
    this.admission = deps.admission ?? new MemoryAdmissionStore();
    this.limits = { ...DEFAULT_HUB_LIMITS, ...deps.limits };
    this.connections = new ConnectionLimits(this.limits);
    this.timings = {
      rekeyMs: deps.timings?.rekeyMs ?? 300_000,
      commitTimeoutMs: deps.timings?.commitTimeoutMs ?? 1_500,
      confirmTimeoutMs: deps.timings?.confirmTimeoutMs ?? 1_500,
    };
    deps.sfu?.on('subscribeOffer', (meetingId, participantId, sdp, streams) =>
      this.rooms.get(meetingId)?.subscribeOffer(participantId, sdp, streams),
    );
    deps.sfu?.on('ice', (meetingId, participantId, pc, candidate) =>
      this.rooms.get(meetingId)?.sendTo(participantId, { v, type: 'ice', pc, candidate }),
    );
    deps.sfu?.on('mediaStatus', (meetingId, participantId, status) =>
      this.rooms.get(meetingId)?.sendTo(participantId, { v, type: 'media_status', ...status }),
    );
    // A participant's connection with the SFU died: its room makes its media session anew.
    deps.sfu?.on('connectionFailed', (meetingId, participantId) =>
      this.rooms.get(meetingId)?.mediaFailed(participantId),
    );
    // A dead SFU worker took these meetings' media along: their rooms join everyone again.
    deps.sfu?.on('workerExit', (meetingIds) => {
      for (const id of meetingIds) this.rooms.get(id)?.mediaLost();
    });
  }

  handleConnection(socket: WebSocket, info: ConnectionInfo): void {
    const log = this.deps.logger;
    const slot = this.connections.openSocket(info.ip);
    if (!slot.ok) {
      // Said before closing, so the SDK rejects the join with this code instead of retrying.
      socket.send(
        JSON.stringify({
          v,
          type: 'error',
          code: 'too_many_connections',
          message: slot.message,
          ref: 'join',
        }),
      );
      socket.close(CLOSE_CODES.tooManyConnections, 'too many connections');
      return;
    }
    const maxBuffered = this.limits.maxSendBufferBytes;
    let room: Room | undefined;
    let joining = false;
    let tokens = MESSAGES_PER_SECOND * 2;
    let last = Date.now();
    const peer: Peer = {
      ip: info.ip,
      send(msg: ServerMessage) {
        if (socket.readyState !== socket.OPEN) return;
        socket.send(JSON.stringify(msg));
        // A client that stops reading makes the server hold whatever it is sent: past the cap
        // it is dropped (its room sees a drop; the SDK resumes on a new connection).
        if (socket.bufferedAmount > maxBuffered) {
          log.warn({ ip: info.ip, buffered: socket.bufferedAmount }, 'dropping a slow signaling consumer');
          socket.terminate();
        }
      },
      close(code = 1000, reason = '') {
        if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING)
          socket.close(code, reason);
      },
    };
    // `ref`: the type of the message that caused the error; `rid`: its request id, if it had one.
    const fail = (code: ProtocolError['code'], message: string, ref?: string, rid?: string) =>
      peer.send({ v, type: 'error', code, message, ref, rid });

    socket.on('message', (data, isBinary) => {
      const now = Date.now();
      tokens = Math.min(MESSAGES_PER_SECOND * 2, tokens + ((now - last) / 1000) * MESSAGES_PER_SECOND);
      last = now;
      if (tokens < 1) return fail('rate_limited', 'too many messages: slow down');
      tokens -= 1;
      if (isBinary) return fail('bad_request', 'signaling messages are JSON text frames');
      const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const parsed = parseClientMessage(raw);
      if (!parsed.ok) return fail(parsed.code, parsed.message, parsed.ref, parsed.rid);
      const msg = parsed.value;
      const rid = msg.rid;
      if (msg.type === 'ping') return peer.send({ v, type: 'pong', rid, t: msg.t });
      if (msg.type === 'join') {
        if (room || joining) return fail('bad_request', 'already joined', 'join', rid);
        const refused = this.connections.takeJoin(info.ip);
        if (refused) return fail('too_many_connections', refused, 'join', rid);
        joining = true;
        void this.checkAccount(msg.userId, info)
          .then(() => this.openRoom(msg.meetingId))
          .then((r) => {
            if (!r) {
              joining = false;
              return fail('unknown_meeting', 'there is no meeting with this id', 'join', rid);
            }
            // Messages after the join are queued behind it in the room, so the room is known
            // from now on; if the join fails they find no member and get `not_joined`.
            room = r;
            return r.enqueue(peer, msg, async () => {
              try {
                await r.join(peer, msg);
              } catch (e) {
                room = undefined;
                throw e;
              } finally {
                joining = false;
              }
            });
          })
          .catch((e: unknown) => {
            joining = false;
            if (e instanceof ProtocolError) return fail(e.code, e.message, 'join', rid);
            log.error({ err: e }, 'join failed');
            fail('internal_error', 'the server could not process the join', 'join', rid);
          });
        return;
      }
      const r = room;
      if (!r) return fail('not_joined', 'join a meeting first', msg.type, rid);
      const lane =
        msg.type === 'media_offer' ||
        msg.type === 'media_answer' ||
        msg.type === 'ice' ||
        msg.type === 'media_view' ||
        msg.type === 'media_failed'
          ? 'media'
          : 'control';
      void r.enqueue(peer, msg, () => r.handle(r.memberFor(peer), peer, msg), lane);
    });
    let alive = true;
    socket.on('pong', () => (alive = true));
    const heartbeat = setInterval(() => {
      if (!alive) {
        log.info({ ip: info.ip }, 'signaling connection timed out');
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, this.deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    heartbeat.unref();
    socket.on('close', () => {
      clearInterval(heartbeat);
      slot.release();
      const r = room;
      if (r) void r.enqueue(undefined, 'disconnect', () => r.disconnected(peer));
    });
    socket.on('error', (err) => log.warn({ err: err.message }, 'websocket error'));
  }

  /**
   * A join that names an account (`userId`, which other members see as "account" and whose
   * device key they check in the directory) must come from a connection signed in as that
   * account; anybody else joins as a guest.
   */
  private async checkAccount(userId: string | undefined, info: ConnectionInfo): Promise<void> {
    if (userId === undefined) return;
    const signedIn = await info.sessionUserId?.();
    if (signedIn !== userId) {
      throw new ProtocolError(
        'unauthenticated',
        signedIn
          ? 'the join names another account than the one signed in'
          : 'the join names an account but this connection is not signed in: sign in, or join as a guest',
      );
    }
  }

  private async openRoom(meetingId: string): Promise<Room | undefined> {
    const existing = this.rooms.get(meetingId);
    if (existing) return existing;
    let pending = this.opening.get(meetingId);
    if (!pending) {
      pending = this.deps.store
        .get(meetingId)
        .finally(() => this.opening.delete(meetingId))
        .then((meeting) => {
          if (!meeting) return undefined;
          if (meeting.ended) throw new ProtocolError('meeting_ended', 'this meeting has ended');
          const room = new Room(meeting, {
            store: this.deps.store,
            sfu: this.deps.sfu,
            logger: this.deps.logger,
            externalSender: this.deps.externalSender,
            admission: this.admission,
            timings: this.timings,
            limits: this.limits,
            serverBans: this.deps.serverBans,
            chatSeal: this.deps.chatSeal,
            onEmpty: (r) => {
              if (this.rooms.get(r.id) === r) {
                this.rooms.delete(r.id);
                void r.close();
              }
            },
          });
          this.rooms.set(meetingId, room);
          return room;
        });
      this.opening.set(meetingId, pending);
    }
    return pending;
  }

  /** A meeting's settings changed in the store (e.g. PATCH over HTTP): tell the live room. */
  meetingUpdated(meeting: MeetingInfo): void {
    const room = this.rooms.get(meeting.id);
    if (room) void room.enqueue(undefined, 'meeting_updated', () => room.applySettings(meeting));
  }

  /** Everyone in a running meeting, waiting rooms included. */
  participants(): LiveParticipant[] {
    return [...this.rooms.values()].flatMap((r) =>
      r.everyone().map((m) => ({
        meetingId: r.id,
        participantId: m.id,
        userId: m.userId,
        signatureKey: m.signatureKey,
      })),
    );
  }

  /** The moderators took a participant out (room.ts `expel`); nothing when it has gone. */
  async expel(meetingId: string, participantId: string, reason: string): Promise<void> {
    await this.rooms.get(meetingId)?.expel(participantId, reason);
  }

  /** Ends the meeting's live session (used by the HTTP end endpoint). */
  async endMeeting(meetingId: string): Promise<void> {
    await this.rooms.get(meetingId)?.end();
  }

  async close(): Promise<void> {
    this.connections.close();
    const rooms = [...this.rooms.values()];
    this.rooms.clear();
    await Promise.all(rooms.map((r) => r.close()));
  }
}
