import type { Role } from '@conclave/protocol';
import type { RemovalMark } from './admission-store.js';
import type { Peer } from './deps.js';

/** A participant of a running meeting, as the room keeps it. */
export interface Member {
  id: string;
  peer: Peer;
  displayName: string;
  role: Role;
  kind: 'user' | 'guest';
  userId: string | undefined;
  deviceId: string;
  /** base64 of the MLS signature key of the join's key package (bound into the resume token). */
  signatureKey: string | undefined;
  /** IPv4 /24 or IPv6 /64 of the connection. */
  network: string;
  /** Shown to hosts in the waiting room (see Participant.previouslyRemoved). */
  previouslyRemoved: 'identity' | 'network' | undefined;
  state: 'waiting' | 'joined';
  /** The key package it joined with (E2EE), handed to the group coordinator on admission. */
  keyPackage: string | undefined;
  joinedAt: number;
  audio: boolean;
  video: boolean;
  /** In the SFU session (false until joined, or while the SFU has no free media port). */
  media: boolean;
  /**
   * Its open media session's number (unique in the room, set when its SFU join starts), or
   * undefined while it has none or one is being made anew: offers carry it, and an answer
   * naming another one is dropped.
   */
  mediaSession?: number | undefined;
  /** A join to the SFU in flight. */
  mediaJoin?: Promise<boolean> | undefined;
}

/** Whether a participant in role `a` may mute or remove one in role `b`. */
export function outranks(a: Role, b: Role): boolean {
  return a === 'host' ? b !== 'host' : a === 'cohost' && b === 'participant';
}

/** The marks a removal records and a join is compared with. */
export function identityMarks(
  who: { userId?: string | undefined; deviceId: string },
  signatureKey: string | undefined,
  network: string,
): RemovalMark[] {
  return [
    ...(who.userId ? [{ kind: 'user' as const, value: who.userId }] : []),
    { kind: 'device', value: who.deviceId },
    ...(signatureKey ? [{ kind: 'key' as const, value: signatureKey }] : []),
    { kind: 'network', value: network },
  ];
}
