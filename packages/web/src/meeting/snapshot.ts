import type {
  E2eeState,
  ForwardingStatus,
  MediaStatus,
  MemberVerification,
  ClientState,
  ForwardedVideo,
  PersonForwarding,
} from '@conclave/client';
import type { E2eeApi } from '@conclave/client/browser';
import type { MediaSource, MeetingInfo, Participant, Role } from '@conclave/protocol';
import type { HumanError } from '../errors.js';

/** What the meeting room renders: one immutable snapshot of a MeetingSession (session.ts). */
export interface ChatEntry {
  id: number;
  author: string;
  /** self: sent from here; member: MLS-verified sender (E2EE); server: named by the server (standard). */
  authorKind: 'self' | 'member' | 'server';
  text: string;
  sentAt: number;
}

/** One person as the panels and tiles show them: the SDK's `Person`, with display lookups added. */
export interface Person {
  /** Stable React key. */
  key: string;
  participantId: string | undefined;
  displayName: string;
  kind: 'user' | 'guest';
  /**
   * E2EE members only: the key directory's verdict on the MLS credential (a `user` credential
   * whose key is registered on that account is `verified`). Undefined in standard meetings and
   * for people outside the group, where only the server's `kind` is known.
   */
  verification: MemberVerification | undefined;
  /** In the meeting's MLS group (E2EE): they hold the keys and can see and hear everything. */
  inGroup: boolean;
  /** E2EE members: their leaf in the MLS group. */
  leafIndex: number | undefined;
  /** E2EE members: the fingerprint of their MLS signature key (see key-fingerprint.ts), once computed. */
  keyFingerprint: string | undefined;
  role: Role | undefined;
  audio: boolean;
  video: boolean;
  isSelf: boolean;
  /** E2EE, others: what this page receives from them (the SDK's per-sender media status). */
  media: MediaStatus | undefined;
  /** Others: what the SFU forwards of them to this page and why (its `media_status`). */
  forwarding: PersonForwarding | undefined;
}

export interface RemoteStream {
  mid: string;
  participantId: string;
  source: MediaSource;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  /** Frames (video) or packets (audio) arrived in the last couple of seconds. */
  flowing: boolean;
  /**
   * E2EE: who really sends this stream — the MLS leaf whose key decrypts its frames (the
   * SFrame KID names the sender's leaf) and that member's name in the group (undefined when no
   * member holds that leaf). Undefined until a frame decrypted, and in standard meetings.
   */
  sender: { leafIndex: number; displayName: string | undefined } | undefined;
  /** The server's name for `participantId` (what it claims this stream is). */
  claimedName: string | undefined;
  /**
   * E2EE: the frames decrypt under another member's key than the participant the server
   * names (held for a second, so a stream the SFU just moved does not flicker).
   */
  mismatch: boolean;
}

/** How the room shows the others: everyone in a grid, or the active speaker large with a filmstrip. */
export type Layout = 'grid' | 'speaker';

/** One other person's camera tile as the room shows it. */
export interface StageTile {
  person: Person;
  participantId: string;
  /** Their camera stream, while the SFU describes one to us. */
  camera: RemoteStream | undefined;
  /** What the SFU says of their camera (`media_status`), once it reported. */
  forwarding: ForwardedVideo | undefined;
  /** Video is shown (frames arrive); otherwise their avatar, with `why`. */
  showVideo: boolean;
  /** Why there is no video, in words ("Not a recent speaker", "Camera off", ...). */
  why: string | undefined;
  /** The simulcast layer and what limits it ("low · bandwidth"), while the SFU forwards video. */
  quality: string | undefined;
  pinned: boolean;
}

/** A received screen share. */
export interface StageScreen {
  participantId: string;
  stream: RemoteStream;
}

export interface Stage {
  layout: Layout;
  /** Speaker view: what the large tile shows (a screen share, else the pinned or active speaker). */
  main: { kind: 'person'; tile: StageTile } | { kind: 'screen'; screen: StageScreen } | undefined;
  /** Grid: every screen share; speaker view: the ones not in the large tile. */
  screens: StageScreen[];
  /** Grid: every other person; speaker view: the filmstrip (everyone not in the large tile). */
  tiles: StageTile[];
  /** How many of the others' videos the layout shows: the `lastN` this page asks the SFU for. */
  lastN: number;
}

/** A joiner in the waiting room, with what admitting them adds to the encryption group. */
export interface WaitingPerson extends Participant {
  /**
   * E2EE: the key directory's verdict on the joiner's account claim for the key it will join
   * with (`guest` for guests). Undefined in standard meetings, where only the server's `kind` is known.
   */
  verification: MemberVerification | undefined;
  /** Fingerprint of the MLS signature key the joiner will be added with (E2EE), once computed. */
  keyFingerprint: string | undefined;
}

/** A change to the encryption group as a sentence ("Alice added Gabi (guest)"). */
export interface GroupNotice {
  id: number;
  text: string;
  /** ms since the epoch. */
  at: number;
  /** The epoch the change created (decimal string). */
  epoch: string;
}

export interface DecryptIssue {
  participantId: string;
  displayName: string;
  failures: number;
  /** Failed within the last few seconds. */
  recent: boolean;
}

export interface SessionSnapshot {
  state: ClientState;
  /** Why the server took us out, once `removed` (the host, or the server's moderators). */
  removedReason: string | undefined;
  meeting: MeetingInfo;
  role: Role | undefined;
  selfId: string | undefined;
  /** E2EE: the MLS roster (whoever is shown can decrypt). Standard: the server's list. */
  people: Person[];
  /** E2EE: in the meeting according to the server but not in the MLS group (cannot decrypt). */
  outsiders: Person[];
  waiting: WaitingPerson[];
  e2ee: E2eeState;
  /** E2EE: every add and remove this page saw, oldest first (the last 100). */
  groupNotices: GroupNotice[];
  /** The group notices of the last few seconds (shown briefly in the room). */
  groupToasts: GroupNotice[];
  e2eeApi: E2eeApi | undefined;
  chat: ChatEntry[];
  remote: RemoteStream[];
  /** Where the room puts everyone (grid or speaker view) and how many videos it shows. */
  stage: Stage;
  /** Participant ids pinned on this page, in pin order. */
  pins: readonly string[];
  /** The SFU's last `media_status` for this page (speakers, what it forwards, downlink estimate). */
  forwarding: ForwardingStatus | undefined;
  /** participantId of the active speaker, or 'self'. */
  activeSpeaker: string | undefined;
  decryptIssues: DecryptIssue[];
  framesDecrypted: number;
  decryptFailures: number;
  framesEncrypted: number;
  /** A short message to announce (the host muted you, ...). */
  notice: string | undefined;
  /** Media could not start (with what to do); `media_capacity` stays until a rejoin. */
  mediaError: HumanError | undefined;
  /** Hosts and co-hosts: passcode entry is paused after too many wrong passcodes (until `until`, ms). */
  passcodeLockout: PasscodeLockout | undefined;
  /**
   * While `lost` or `waiting`: the server refused this session's last join, which was a
   * reconnect (the first join's refusal is thrown by `join()`). `resume_rejected` is the usual
   * one: the SDK then joins afresh, so a meeting with a waiting room makes the participant wait
   * for the host again.
   */
  refusal: HumanError | undefined;
}

export interface PasscodeLockout {
  /** Milliseconds since the epoch. */
  until: number;
  failures: number;
}

export type E2eeStatus = 'active' | 'pending' | 'alert' | 'standard';

/**
 * What the E2EE indicator says. `alert` while the group is not one this page can vouch for (a
 * participant who left still holds the keys, or this page is out of sync): never green then.
 */
export function e2eeStatus(s: Pick<SessionSnapshot, 'meeting' | 'e2ee'>): E2eeStatus {
  if (s.meeting.mode === 'standard') return 'standard';
  if (s.e2ee.health !== 'ok') return 'alert';
  return s.e2ee.active ? 'active' : 'pending';
}
