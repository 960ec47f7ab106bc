import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '@conclave/protocol';

/**
 * What a resume token resumes into, and whom it is bound to. A token issued in the waiting
 * room resumes into the waiting room; the state follows the host's decisions (`update`).
 */
export interface ResumeGrant {
  participantId: string;
  state: 'waiting' | 'joined';
  role: Role;
  deviceId: string;
  userId: string | undefined;
  /** base64 of the MLS signature key of the participant's key packages, when it sent one. */
  signatureKey: string | undefined;
  displayName: string;
}

/**
 * An identifying mark of a participant: its account, its device id, its MLS signature key, or
 * its network (IPv4 /24, IPv6 /64). Only hashes of marks are stored.
 */
export interface RemovalMark {
  kind: 'user' | 'device' | 'key' | 'network';
  value: string;
}

export interface RemovalMatch {
  kind: RemovalMark['kind'];
  banned: boolean;
}

/**
 * Admission state that outlives a connection: resume tokens (random, stored hashed, one per
 * participant, revocable) and the marks of removed and banned participants. The Room is its
 * only user; `DbAdmissionStore` (meetings/admission-records.ts) keeps it in the database so
 * it survives restarts, `MemoryAdmissionStore` (below) serves hubs without one (tests).
 */
export interface AdmissionStore {
  /** A new token for the participant; any earlier token of the same participant stops working. */
  issue(meetingId: string, grant: ResumeGrant): Promise<string>;
  /** The host decided (admit) or changed the role: the token now resumes into this. */
  update(
    meetingId: string,
    participantId: string,
    patch: Partial<Pick<ResumeGrant, 'state' | 'role'>>,
  ): Promise<void>;
  /** The participant's connection dropped: its token works for `ms` more. */
  expireAfter(meetingId: string, participantId: string, ms: number): Promise<void>;
  /**
   * The grant of a valid, unexpired token of this participant in this meeting. A resume that
   * passes its checks issues a new token (which replaces this one), so a copied token and its
   * owner cannot both resume; a resume that fails its checks leaves the token to its owner.
   */
  lookup(meetingId: string, participantId: string, token: string): Promise<ResumeGrant | undefined>;
  /** Left, denied, removed: the token stops working. */
  revoke(meetingId: string, participantId: string): Promise<void>;
  /** The meeting ended: every token and removal mark of it is deleted. */
  forgetMeeting(meetingId: string): Promise<void>;
  recordRemoval(meetingId: string, marks: RemovalMark[], banned: boolean): Promise<void>;
  /** The marks among `marks` that a removal of this meeting recorded (banned wins per kind). */
  matchRemovals(meetingId: string, marks: RemovalMark[]): Promise<RemovalMatch[]>;
}

/** Most removal marks kept per meeting (the oldest go first). */
export const MAX_REMOVAL_MARKS_PER_MEETING = 1000;

export function newResumeToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update('conclave resume token\0').update(token).digest('hex');
}

export function hashMark(meetingId: string, mark: RemovalMark): string {
  return createHash('sha256')
    .update(`conclave removal\0${meetingId}\0${mark.kind}\0${mark.value}`)
    .digest('hex');
}

/** Keeps the strongest verdict per kind. */
export function mergeMatches(found: Array<{ mark: RemovalMark; banned: boolean }>): RemovalMatch[] {
  const byKind = new Map<RemovalMark['kind'], boolean>();
  for (const f of found) byKind.set(f.mark.kind, (byKind.get(f.mark.kind) ?? false) || f.banned);
  return [...byKind].map(([kind, banned]) => ({ kind, banned }));
}

interface MemoryToken {
  hash: string;
  grant: ResumeGrant;
  expiresAt: number | undefined;
}

/** The same contract in memory: tokens and removals end with the process. */
export class MemoryAdmissionStore implements AdmissionStore {
  private readonly tokens = new Map<string, MemoryToken>();
  private readonly removals = new Map<string, Array<{ mark: string; banned: boolean }>>();

  constructor(private readonly now: () => number = Date.now) {}

  async issue(meetingId: string, grant: ResumeGrant): Promise<string> {
    this.purge();
    const token = newResumeToken();
    this.tokens.set(`${meetingId}\0${grant.participantId}`, {
      hash: hashToken(token),
      grant: { ...grant },
      expiresAt: undefined,
    });
    return token;
  }

  async update(
    meetingId: string,
    participantId: string,
    patch: Partial<Pick<ResumeGrant, 'state' | 'role'>>,
  ): Promise<void> {
    const t = this.tokens.get(`${meetingId}\0${participantId}`);
    if (!t) return;
    // Only the fields given: an explicit `undefined` must not erase the state (as in the database store).
    if (patch.state !== undefined) t.grant = { ...t.grant, state: patch.state };
    if (patch.role !== undefined) t.grant = { ...t.grant, role: patch.role };
  }

  async expireAfter(meetingId: string, participantId: string, ms: number): Promise<void> {
    const t = this.tokens.get(`${meetingId}\0${participantId}`);
    if (t) t.expiresAt = this.now() + ms;
  }

  async lookup(meetingId: string, participantId: string, token: string): Promise<ResumeGrant | undefined> {
    const t = this.tokens.get(`${meetingId}\0${participantId}`);
    if (!t || t.hash !== hashToken(token)) return undefined;
    if (t.expiresAt !== undefined && t.expiresAt <= this.now()) return undefined;
    return t.grant;
  }

  async revoke(meetingId: string, participantId: string): Promise<void> {
    this.tokens.delete(`${meetingId}\0${participantId}`);
  }

  async forgetMeeting(meetingId: string): Promise<void> {
    for (const key of [...this.tokens.keys()]) if (key.startsWith(`${meetingId}\0`)) this.tokens.delete(key);
    this.removals.delete(meetingId);
  }

  async recordRemoval(meetingId: string, marks: RemovalMark[], banned: boolean): Promise<void> {
    const list = this.removals.get(meetingId) ?? [];
    for (const m of marks) list.push({ mark: hashMark(meetingId, m), banned });
    this.removals.set(meetingId, list.slice(-MAX_REMOVAL_MARKS_PER_MEETING));
  }

  async matchRemovals(meetingId: string, marks: RemovalMark[]): Promise<RemovalMatch[]> {
    const list = this.removals.get(meetingId) ?? [];
    const found = marks.flatMap((mark) => {
      const h = hashMark(meetingId, mark);
      return list.filter((r) => r.mark === h).map((r) => ({ mark, banned: r.banned }));
    });
    return mergeMatches(found);
  }

  private purge(): void {
    const now = this.now();
    for (const [key, t] of this.tokens)
      if (t.expiresAt !== undefined && t.expiresAt <= now) this.tokens.delete(key);
  }
}
