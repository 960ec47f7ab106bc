import { randomBytes } from 'node:crypto';
import {
  idSchema,
  ProtocolError,
  type CreateMeetingRequest,
  type MeetingInfo,
  type UpdateMeetingRequest,
} from '@conclave/protocol';
import type { Updateable } from 'kysely';
import type { Db, MeetingsTable } from '../store/schema.js';
import { networkKeyForIp } from './client-key.js';
import { PasscodeLimiter, type PasscodeLimit, type PasscodeLockout } from './passcode-limiter.js';
import { HOST_SECRET_SCRYPT, PASSCODE_SCRYPT, hashSecret, verifySecret } from './secret-hash.js';

export type PasscodeCheck = 'ok' | 'wrong' | 'rate_limited' | 'locked_out' | 'not_required';

/** Emitted after a change is stored, so the signaling hub can tell connected participants. */
export type MeetingChange =
  { type: 'updated'; meeting: MeetingInfo } | { type: 'ended'; meeting: MeetingInfo };

export interface MeetingStoreOptions {
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
  /**
   * Wrong-passcode limits (passcode-limiter.ts); fields left out keep their defaults (5 per
   * network in 5 minutes, 30 per meeting in 15 minutes). `startConclave` passes the config's.
   */
  passcodeLimit?: Partial<PasscodeLimit>;
  /** Where errors thrown by `onChange` listeners go; without it they are rethrown to the caller. */
  onListenerError?: (err: unknown) => void;
}

/** 9 random bytes = 12 base64url characters, 72 bits: unguessable, and collisions are negligible. */
const MEETING_ID_BYTES = 9;
/** 32 random bytes = 43 base64url characters. */
const HOST_SECRET_BYTES = 32;

type MeetingRow = MeetingsTable;

function toInfo(row: MeetingRow): MeetingInfo {
  return {
    id: row.id,
    title: row.title,
    mode: row.mode,
    settings: {
      passcodeRequired: row.passcode_hash !== null,
      waitingRoom: row.waiting_room !== 0,
      muteOnEntry: row.mute_on_entry !== 0,
      maxParticipants: row.max_participants,
      locked: row.locked !== 0,
      allowScreenShare: row.allow_screen_share !== 0,
      attestation: row.attestation !== 0,
    },
    ended: row.ended_at !== null,
  };
}

const flag = (b: boolean): number => (b ? 1 : 0);

/**
 * Meetings and their settings. Passcodes and host secrets are stored only as scrypt hashes
 * (secret-hash.ts); the host secret is returned once, by `create`.
 *
 * Errors: `update`, `end` and `checkPasscode` throw `ProtocolError('unknown_meeting')` for an id
 * that does not exist, and `update` throws `ProtocolError('meeting_ended')` for an ended one.
 */
export class MeetingStore {
  private readonly now: () => number;
  private readonly limiter: PasscodeLimiter;
  private readonly listeners = new Set<(change: MeetingChange) => void>();
  private readonly onListenerError: ((err: unknown) => void) | undefined;

  constructor(
    private readonly db: Db,
    options: MeetingStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.onListenerError = options.onListenerError;
    this.limiter = new PasscodeLimiter(db, options.passcodeLimit, this.now);
  }

  /** A new meeting; `hostUserId`: the account creating it (kept for moderation). */
  async create(
    req: CreateMeetingRequest,
    hostUserId: string | null = null,
  ): Promise<{ meeting: MeetingInfo; hostSecret: string }> {
    const id = randomBytes(MEETING_ID_BYTES).toString('base64url');
    const hostSecret = randomBytes(HOST_SECRET_BYTES).toString('base64url');
    const row: MeetingRow = {
      id,
      title: req.title,
      mode: req.mode,
      passcode_hash: req.passcode === undefined ? null : await hashSecret(req.passcode, PASSCODE_SCRYPT),
      host_secret_hash: await hashSecret(hostSecret, HOST_SECRET_SCRYPT),
      waiting_room: flag(req.waitingRoom),
      mute_on_entry: flag(req.muteOnEntry),
      max_participants: req.maxParticipants,
      locked: 0,
      allow_screen_share: flag(req.allowScreenShare),
      created_at: new Date(this.now()).toISOString(),
      ended_at: null,
      host_user_id: hostUserId,
      attestation: flag(req.attestation),
    };
    await this.db.insertInto('meetings').values(row).execute();
    return { meeting: toInfo(row), hostSecret };
  }

  async get(id: string): Promise<MeetingInfo | undefined> {
    const row = await this.row(id);
    return row && toInfo(row);
  }

  /**
   * Applies the fields present in `patch`; `passcode: null` removes the passcode. Setting or
   * removing the passcode forgets the meeting's wrong attempts: a lockout ends, and every
   * network may try again (against the new passcode).
   */
  async update(id: string, patch: UpdateMeetingRequest): Promise<MeetingInfo> {
    const set: Updateable<MeetingsTable> = {};
    if (patch.title !== undefined) set.title = patch.title;
    if (patch.passcode !== undefined) {
      set.passcode_hash = patch.passcode === null ? null : await hashSecret(patch.passcode, PASSCODE_SCRYPT);
    }
    if (patch.waitingRoom !== undefined) set.waiting_room = flag(patch.waitingRoom);
    if (patch.muteOnEntry !== undefined) set.mute_on_entry = flag(patch.muteOnEntry);
    if (patch.maxParticipants !== undefined) set.max_participants = patch.maxParticipants;
    if (patch.allowScreenShare !== undefined) set.allow_screen_share = flag(patch.allowScreenShare);
    if (patch.attestation !== undefined) set.attestation = flag(patch.attestation);
    if (patch.locked !== undefined) set.locked = flag(patch.locked);

    if (Object.keys(set).length > 0) {
      const updated = await this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('meetings')
          .set(set)
          .where('id', '=', id)
          .where('ended_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        if (set.passcode_hash !== undefined) {
          await this.limiter.clear(id, trx);
        }
        return true;
      });
      if (!updated) await this.throwMissingOrEnded(id);
    }
    const row = await this.row(id);
    if (!row) throw new ProtocolError('unknown_meeting', 'no such meeting');
    if (row.ended_at !== null) throw new ProtocolError('meeting_ended', 'the meeting has ended');
    const meeting = toInfo(row);
    if (Object.keys(set).length > 0) this.emit({ type: 'updated', meeting });
    return meeting;
  }

  /** Ends the meeting for everybody. Ending an ended meeting is not an error (and emits nothing). */
  async end(id: string): Promise<MeetingInfo> {
    const result = await this.db
      .updateTable('meetings')
      .set({ ended_at: new Date(this.now()).toISOString() })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    const row = await this.row(id);
    if (!row) throw new ProtocolError('unknown_meeting', 'no such meeting');
    const meeting = toInfo(row);
    if (result.numUpdatedRows > 0n) this.emit({ type: 'ended', meeting });
    return meeting;
  }

  /** Timing-safe; false for an unknown meeting. */
  async checkHostSecret(id: string, secret: string): Promise<boolean> {
    const row = await this.row(id);
    if (!row || secret.length === 0 || secret.length > 256) return false;
    return verifySecret(secret, row.host_secret_hash);
  }

  /**
   * Checks a passcode for a join. `clientKey` identifies the client for the rate limits: pass
   * the client's IP address; it is reduced to its network here (IPv4 /24, IPv6 /64, see
   * client-key.ts `networkKeyForIp`; a key that is not an IP address counts as its own network).
   * Outcomes:
   * - `not_required`: the meeting has no passcode (whatever was given);
   * - `locked_out`: the meeting had too many wrong passcodes from all networks together (see
   *   passcode-limiter.ts and `passcodeLockout`); the passcode is not even checked;
   * - `rate_limited`: too many wrong passcodes from this network; not checked either;
   * - `wrong` / `ok`. A missing or empty passcode is `wrong` but not counted as an attempt (a
   *   client may first try without one to learn that one is needed).
   */
  async checkPasscode(id: string, passcode: string | undefined, clientKey: string): Promise<PasscodeCheck> {
    const row = await this.row(id);
    if (!row) throw new ProtocolError('unknown_meeting', 'no such meeting');
    if (row.passcode_hash === null) return 'not_required';
    if (passcode === undefined || passcode.length === 0) return 'wrong';
    const attempt = await this.limiter.reserve(id, networkKeyForIp(clientKey));
    if (attempt.status !== 'reserved') return attempt.status;
    // Longer than any passcode we accept (64): wrong, without spending scrypt on it.
    const ok = passcode.length <= 128 && (await verifySecret(passcode, row.passcode_hash));
    if (ok) await this.limiter.refund(attempt.id);
    return ok ? 'ok' : 'wrong';
  }

  /**
   * The meeting's passcode lockout while it lasts: `until` (ms since epoch) is when the next
   * passcode will be checked again, `failures` the wrong passcodes counted in the 15-minute
   * window. `undefined` when passcode entry is open (also for unknown meetings). Changing the
   * passcode (`update`) ends a lockout.
   */
  async passcodeLockout(id: string): Promise<PasscodeLockout | undefined> {
    if (!idSchema.safeParse(id).success) return undefined;
    return this.limiter.lockout(id);
  }

  /** Subscribes to stored changes; returns the unsubscribe function. */
  onChange(listener: (change: MeetingChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every listener runs even when one throws (the change is stored either way). */
  private emit(change: MeetingChange): void {
    const errors: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        if (this.onListenerError) this.onListenerError(err);
        else errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `meeting ${change.type} listener failed`);
  }

  private async row(id: string): Promise<MeetingRow | undefined> {
    // An id that cannot exist needs no query.
    if (!idSchema.safeParse(id).success) return undefined;
    return this.db.selectFrom('meetings').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private async throwMissingOrEnded(id: string): Promise<never> {
    const row = await this.row(id);
    if (!row) throw new ProtocolError('unknown_meeting', 'no such meeting');
    throw new ProtocolError('meeting_ended', 'the meeting has ended');
  }
}
