import type {
  IceCandidate,
  MediaViewFields,
  MeetingInfo,
  ServerMessage,
  StreamInfo,
  UpdateMeetingRequest,
} from '@conclave/protocol';
import type { ArgsOf, MediaStatus, ResultOf, RoutedOp } from '../sfu/index.js';

/** What the hub needs from meeting storage (implemented by MeetingStore). */
export interface MeetingDirectory {
  get(id: string): Promise<MeetingInfo | undefined>;
  checkHostSecret(id: string, secret: string): Promise<boolean>;
  /**
   * `clientKey`: the client's IP address (counted per network: IPv4 /24, IPv6 /64).
   * `rate_limited`: this network is over its limit; `locked_out`: the whole meeting is (see
   * `passcodeLockout`); neither checks the passcode.
   */
  checkPasscode(
    id: string,
    passcode: string,
    clientKey: string,
  ): Promise<'ok' | 'wrong' | 'rate_limited' | 'locked_out' | 'not_required'>;
  /** While passcode entry is locked: until when (ms since epoch) and after how many failures. */
  passcodeLockout(id: string): Promise<{ until: number; failures: number } | undefined>;
  update(id: string, patch: UpdateMeetingRequest): Promise<MeetingInfo | undefined>;
  end(id: string): Promise<unknown>;
}

/**
 * What the hub needs from the SFU (implemented by sfu/Sfu, which runs in worker processes).
 * Its operations are those of the SFU's IPC table (sfu/ipc.ts, `ops`).
 */
export interface MediaRouter {
  /** `view`: what the participant shows, if known (the worker applies it before its first offer). */
  join(meetingId: string, participantId: string, view?: MediaViewFields): Promise<void>;
  /** An op on the participant's media session (offer, answer, ICE, receiving, mute, layer, view). */
  call<O extends RoutedOp>(op: O, args: ArgsOf<O>): Promise<ResultOf<O>>;
  leave(meetingId: string, participantId: string): Promise<void>;
  closeMeeting(meetingId: string): Promise<void>;
  on(
    event: 'subscribeOffer',
    cb: (meetingId: string, participantId: string, sdp: string, streams: StreamInfo[]) => void,
  ): unknown;
  on(
    event: 'ice',
    cb: (
      meetingId: string,
      participantId: string,
      pc: 'publish' | 'subscribe',
      candidate: IceCandidate,
    ) => void,
  ): unknown;
  /** A participant's peer connection with the SFU failed for good: its media session is dead. */
  on(
    event: 'connectionFailed',
    cb: (meetingId: string, participantId: string, pc: 'publish' | 'subscribe', state: string) => void,
  ): unknown;
  /** A worker died: these meetings lost every media session (sfu/Sfu replaces the worker). */
  on(event: 'workerExit', cb: (meetingIds: string[]) => void): unknown;
  /** What the SFU forwards to a participant and why: sent to it as `media_status`. */
  on(
    event: 'mediaStatus',
    cb: (meetingId: string, participantId: string, status: MediaStatus) => void,
  ): unknown;
}

/**
 * Seals a standard meeting's chat message as the server relays it (reports/chat-seal.ts): a
 * report can then show that this server relayed exactly this text from this participant.
 */
export interface ChatSeal {
  seal(chat: { meetingId: string; from: string; text: string; sentAt: number }): string;
}

/**
 * Server-wide bans by the moderators (moderation/banned-keys.ts): an MLS signature key banned
 * here is refused at the join of every meeting of the server.
 */
export interface ServerBans {
  /** `signatureKey`: base64 of the raw public key, as key packages carry it. */
  keyBanned(signatureKey: string): Promise<boolean>;
}

/** What the server knows about a signaling connection when it opens. */
export interface ConnectionInfo {
  /** Client address (after `trustProxy`). */
  ip: string;
  /**
   * The account signed in on the browser or bot that opened the socket (the session cookie of
   * the upgrade request), looked up when a join names an account. Absent: nobody is signed in.
   */
  sessionUserId?: () => Promise<string | undefined>;
}

/** One participant's signaling connection as the room sees it. */
export interface Peer {
  send(msg: ServerMessage): void;
  close(code?: number, reason?: string): void;
  readonly ip: string;
}

export interface RoomTimings {
  /** Periodic rekey: an empty commit requested every this many ms (0 disables). */
  rekeyMs: number;
  /** A chosen committer that has not committed within this many ms is passed over. */
  commitTimeoutMs: number;
  /** How long members have to confirm a commit (group-coordinator.ts). */
  confirmTimeoutMs: number;
}

/** Per-meeting admission limits (settings in config.ts). */
export interface RoomLimits {
  /** Waiting-room entries of one meeting (apart from `maxParticipants`). */
  maxWaiting: number;
  /** Waiting-room entries of one meeting from one network. */
  maxWaitingPerNetwork: number;
  /** How long a dropped participant's resume token still works. */
  resumeMs: number;
}
