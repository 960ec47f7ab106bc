import { toBase64, type GroupMember, type GroupRoles, type SenderStats } from '@conclave/crypto';
import type { Participant, Role } from '@conclave/protocol';
import type { ForwardedVideo, ForwardingStatus } from './media-view.js';

/**
 * What this client receives from a person, per their MLS sender leaf (E2EE meetings):
 * - `off`: they send nothing (microphone and camera off, as they told the server);
 * - `connecting`: they send, and nothing of theirs decrypted yet — for up to `NO_MEDIA_MS` after
 *   they started sending, they joined the group, or our media (re)started;
 * - `receiving`: a frame of theirs decrypted in the last `NO_MEDIA_MS`;
 * - `no_media`: they say they send, yet nothing arrived for `NO_MEDIA_MS` ("no media for 5 s");
 * - `cannot_decrypt`: their frames arrive and fail (authentication, replay) and none decrypted
 *   in the last `NO_MEDIA_MS`.
 * - `not_forwarded`: they send, and the SFU says it forwards none of it to us (`media_status`:
 *   not among the speakers whose audio goes out, and no video of theirs shown) — nothing arrives,
 *   and that is why; not a sign of trouble.
 * - `unattested`: frames arrived under their KIDs that they did not attest, in the last
 *   `UNATTESTED_FLAG_MS` — someone else in the group sends media as them (frame attestation,
 *   docs "Frame attestation"). It wins over every other status, `off` included: that media is
 *   shown as theirs, whatever they say they send.
 * Frames for an epoch whose key has not arrived yet (the first few at every join) are neither
 * failures nor media: they leave the status where it is.
 */
export type MediaStatus =
  'off' | 'connecting' | 'receiving' | 'no_media' | 'cannot_decrypt' | 'unattested' | 'not_forwarded';

export const NO_MEDIA_MS = 5_000;
/** How long a person stays flagged `unattested` after the last frame found unattested. */
export const UNATTESTED_FLAG_MS = 15_000;

export function mediaStatus(input: {
  sending: boolean;
  /** The latest of: they started sending, joined the group, our media started (ms). */
  expectedSince: number;
  stats: SenderStats | undefined;
  now: number;
  /** The SFU says it forwards none of their media to us (undefined: it has not said). */
  notForwarded?: boolean;
}): MediaStatus {
  const { sending, expectedSince, stats, now } = input;
  const at = stats?.lastUnattestedAt;
  if (at !== undefined && now - at < UNATTESTED_FLAG_MS) return 'unattested';
  if (!sending) return 'off';
  const recent = (t: number | undefined): boolean => t !== undefined && now - t < NO_MEDIA_MS;
  if (recent(stats?.lastDecryptedAt)) return 'receiving';
  if (recent(stats?.lastFailedAt)) return 'cannot_decrypt';
  if (input.notForwarded) return 'not_forwarded';
  return now - expectedSince < NO_MEDIA_MS ? 'connecting' : 'no_media';
}

/** One person in the meeting: the server's participant and, in E2EE meetings, their MLS leaf. */
export interface Person {
  /** Stable key for lists: `leaf-<index>` for group members, `p-<participant id>` otherwise. */
  key: string;
  /** The server's participant id; undefined for a group member the server does not list. */
  participantId: string | undefined;
  /** E2EE members: the name in their MLS credential (signed), not the server's. */
  displayName: string;
  kind: 'user' | 'guest';
  isSelf: boolean;
  /** E2EE: in the meeting's MLS group (holds the keys: sees and hears everything). */
  inGroup: boolean;
  /** E2EE members: their leaf and credential (for the key directory, fingerprints, notices). */
  member: GroupMember | undefined;
  /** The role the server gives them. */
  role: Role | undefined;
  /** E2EE: host or co-host as the group itself lists them (signed by the host's commits). */
  groupRole: 'host' | 'cohost' | undefined;
  /** Microphone and camera on, as they told the server (ours: as we told it). */
  audio: boolean;
  video: boolean;
  /** E2EE, others only: what this client receives from them (see MediaStatus). */
  media: MediaStatus | undefined;
  /**
   * Others, once the SFU reported (`media_status`): whether it forwards their audio to us, and
   * per video source whether it forwards it, why, at which simulcast layer and what limits it.
   */
  forwarding: PersonForwarding | undefined;
}

/** What the SFU forwards of one person to this client (from its `media_status`). */
export interface PersonForwarding {
  /** Their audio is among the few the SFU forwards (the top speakers). */
  audio: boolean;
  camera: ForwardedVideo | undefined;
  screen: ForwardedVideo | undefined;
}

/** What the SFU's status says of `participantId` (undefined when it sent none). */
function forwardingOf(
  status: ForwardingStatus | undefined,
  participantId: string | undefined,
): PersonForwarding | undefined {
  if (!status || participantId === undefined) return undefined;
  const video = (source: 'camera' | 'screen') =>
    status.video.find((v) => v.participantId === participantId && v.source === source);
  return { audio: status.audio.includes(participantId), camera: video('camera'), screen: video('screen') };
}

/** Nothing of theirs comes to us, by the SFU's choice. */
function nothingForwarded(f: PersonForwarding | undefined): boolean | undefined {
  if (!f) return undefined;
  return !f.audio && !f.camera?.forwarded && !f.screen?.forwarded;
}

export interface People {
  /** E2EE: the MLS group's members (whoever is listed can decrypt). Standard: the server's list. */
  members: Person[];
  /** E2EE: in the meeting according to the server but not in the MLS group (cannot decrypt). */
  outsiders: Person[];
}

export interface PeopleInput {
  mode: 'e2ee' | 'standard';
  participants: Participant[];
  selfId: string | undefined;
  self: {
    displayName: string;
    kind: 'user' | 'guest';
    role: Role | undefined;
    audio: boolean;
    video: boolean;
  };
  /** E2EE: the group (empty before this client is in it). */
  roster: GroupMember[];
  ownLeafIndex: number | undefined;
  roles: GroupRoles | undefined;
  senderStats: ReadonlyMap<number, SenderStats>;
  /** When each participant last started sending or joined (ms), and when our media started. */
  expectedSince: (participantId: string | undefined) => number;
  now: number;
  /** The SFU's last `media_status` for us, if any. */
  forwarding?: ForwardingStatus;
}

/**
 * The one place where a server participant and an MLS leaf are recognised as the same person:
 * by the signature key the server relayed from their key package (`Participant.signatureKey`)
 * and the leaf's key in the group's tree. A leaf whose key no participant has stays a member
 * without a participant id (the server does not list it: a ghost to ask about); a joined
 * participant without a leaf is an outsider.
 */
export function buildPeople(input: PeopleInput): People {
  if (input.mode === 'standard') return standardPeople(input);
  const byKey = new Map<string, Participant>();
  for (const p of input.participants) if (p.signatureKey) byKey.set(p.signatureKey, p);
  const hosts = new Set(input.roles?.hosts ?? []);
  const cohosts = new Set(input.roles?.cohosts ?? []);
  const matched = new Set<string>();
  const members = input.roster.map((m): Person => {
    const key = toBase64(m.signaturePublicKey);
    const isSelf = m.leafIndex === input.ownLeafIndex;
    const p = isSelf ? undefined : byKey.get(key);
    if (p) matched.add(p.id);
    const participantId = isSelf ? input.selfId : p?.id;
    const sending = isSelf ? false : (p?.audio ?? false) || (p?.video ?? false);
    const forwarding = isSelf ? undefined : forwardingOf(input.forwarding, participantId);
    return {
      key: `leaf-${m.leafIndex}`,
      participantId,
      displayName: m.identity.displayName,
      kind: m.identity.kind === 'user' ? 'user' : 'guest',
      isSelf,
      inGroup: true,
      member: m,
      role: isSelf ? input.self.role : p?.role,
      groupRole: hosts.has(key) ? 'host' : cohosts.has(key) ? 'cohost' : undefined,
      audio: isSelf ? input.self.audio : (p?.audio ?? false),
      video: isSelf ? input.self.video : (p?.video ?? false),
      media: isSelf
        ? undefined
        : mediaStatus({
            sending,
            expectedSince: input.expectedSince(participantId),
            stats: input.senderStats.get(m.leafIndex),
            now: input.now,
            notForwarded: nothingForwarded(forwarding),
          }),
      forwarding,
    };
  });
  // Only a member can tell who is outside the group (a non-member sees no roster at all).
  const outsiders =
    input.ownLeafIndex === undefined
      ? []
      : input.participants
          .filter((p) => p.state === 'joined' && !matched.has(p.id) && p.id !== input.selfId)
          .map((p) => fromServer(p, input, false));
  return { members, outsiders };
}

function standardPeople(input: PeopleInput): People {
  const members = input.participants
    .filter((p) => p.state === 'joined')
    .map((p) => fromServer(p, input, true));
  if (input.selfId && !members.some((p) => p.isSelf)) {
    members.unshift({
      key: 'self',
      participantId: input.selfId,
      displayName: input.self.displayName,
      kind: input.self.kind,
      isSelf: true,
      inGroup: true,
      member: undefined,
      role: input.self.role,
      groupRole: undefined,
      audio: input.self.audio,
      video: input.self.video,
      media: undefined,
      forwarding: undefined,
    });
  }
  return { members, outsiders: [] };
}

function fromServer(p: Participant, input: PeopleInput, inGroup: boolean): Person {
  const isSelf = p.id === input.selfId;
  return {
    key: `p-${p.id}`,
    participantId: p.id,
    displayName: p.displayName,
    kind: p.kind,
    isSelf,
    inGroup,
    member: undefined,
    role: isSelf ? input.self.role : p.role,
    groupRole: undefined,
    audio: isSelf ? input.self.audio : p.audio,
    video: isSelf ? input.self.video : p.video,
    media: undefined,
    forwarding: isSelf ? undefined : forwardingOf(input.forwarding, p.id),
  };
}
