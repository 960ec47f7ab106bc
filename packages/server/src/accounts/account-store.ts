import { createHash, randomBytes } from 'node:crypto';
import type { AccountRole, DeviceKey, Plan } from '@conclave/protocol';
import type { Db, UsersTable } from '../store/schema.js';
import { accountStanding } from './standing.js';

/** An account as the server code sees it (never with its password hash or TOTP secret). */
export interface AccountUser {
  id: string;
  email: string;
  displayName: string;
  plan: Plan;
  role: AccountRole;
  createdAt: string;
  /** A verification token was redeemed on this account (the E2EE unlock of free plans). */
  phoneVerified: boolean;
  totpEnabled: boolean;
}

export function toAccountUser(row: UsersTable): AccountUser {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    plan: row.plan,
    role: row.role,
    createdAt: row.created_at,
    phoneVerified: row.phone_verified !== 0,
    totpEnabled: row.totp_secret !== null,
  };
}

/** SHA-256, base64url: how session ids, tickets and device cookies are stored. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** 32 random bytes, base64url (43 characters). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export const SESSION_TTL_MS = 30 * 86_400_000;
export const STEP_UP_TTL_MS = 5 * 60_000;

/**
 * Accounts, sessions, device keys, known devices and networks, step-up tickets. Session ids and
 * tickets are random 256-bit values handed to the client once; only their SHA-256 is stored, so
 * a copy of the database opens no session.
 */
export class AccountStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  private iso(offsetMs = 0): string {
    return new Date(this.now() + offsetMs).toISOString();
  }

  // ---- accounts ----

  /**
   * A new account, or undefined when the e-mail has one already (also when a sign-up racing
   * this one took it first): the existing account is left as it was.
   */
  async create(a: {
    email: string;
    passwordHash: string;
    displayName: string;
  }): Promise<AccountUser | undefined> {
    const row: UsersTable = {
      id: randomBytes(16).toString('base64url'),
      email: a.email,
      password_hash: a.passwordHash,
      display_name: a.displayName,
      plan: 'free',
      role: 'user',
      phone_verified: 0,
      totp_secret: null,
      totp_pending_secret: null,
      totp_last_step: null,
      created_at: this.iso(),
      status: 'active',
      suspended_until: null,
    };
    const res = await this.db
      .insertInto('users')
      .values(row)
      .onConflict((oc) => oc.column('email').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1 ? toAccountUser(row) : undefined;
  }

  /** The full row (password hash, TOTP secret included), for the auth code only. */
  async rowByEmail(email: string): Promise<UsersTable | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
  }

  async rowById(id: string): Promise<UsersTable | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byEmail(email: string): Promise<AccountUser | undefined> {
    const row = await this.rowByEmail(email);
    return row && toAccountUser(row);
  }

  async byId(id: string): Promise<AccountUser | undefined> {
    const row = await this.rowById(id);
    return row && toAccountUser(row);
  }

  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', userId)
      .execute();
  }

  /** Admin: plan and role. False when there is no such account. */
  async setPlan(userId: string, plan: Plan): Promise<boolean> {
    const res = await this.db.updateTable('users').set({ plan }).where('id', '=', userId).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async setRole(userId: string, role: AccountRole): Promise<boolean> {
    const res = await this.db.updateTable('users').set({ role }).where('id', '=', userId).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Records that a verification token was redeemed (a flag, no time: see verification/). */
  async markPhoneVerified(userId: string): Promise<void> {
    await this.db.updateTable('users').set({ phone_verified: 1 }).where('id', '=', userId).execute();
  }

  async setTotpPending(userId: string, secret: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ totp_pending_secret: secret })
      .where('id', '=', userId)
      .execute();
  }

  async enableTotp(userId: string, secret: string, step: number): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ totp_secret: secret, totp_pending_secret: null, totp_last_step: step })
      .where('id', '=', userId)
      .execute();
  }

  async disableTotp(userId: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ totp_secret: null, totp_pending_secret: null, totp_last_step: null })
      .where('id', '=', userId)
      .execute();
  }

  /**
   * Accepts a TOTP time step only if it is newer than the last accepted one (one statement, so
   * two requests with the same code cannot both pass). True when accepted.
   */
  async advanceTotpStep(userId: string, step: number): Promise<boolean> {
    const res = await this.db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  // ---- sessions ----

  /** A new session; returns the cookie value (only its hash is stored). */
  async createSession(userId: string): Promise<string> {
    const id = randomToken();
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: sha256(id),
        user_id: userId,
        created_at: this.iso(),
        expires_at: this.iso(SESSION_TTL_MS),
      })
      .execute();
    return id;
  }

  async userForSession(sessionId: string): Promise<AccountUser | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .where('sessions.id_hash', '=', sha256(sessionId))
      .where('sessions.expires_at', '>', this.iso())
      .executeTakeFirst();
    // A suspended or banned account's sessions stop working (moderation deletes them too).
    return row && accountStanding(row, this.now()).state === 'active' ? toAccountUser(row) : undefined;
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', sha256(sessionId)).execute();
  }

  /** Signs an account out everywhere (password change). Also drops expired sessions of anyone. */
  async deleteSessionsOf(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('sessions').where('expires_at', '<=', this.iso()).execute();
  }

  // ---- known devices and networks (risk signals) ----

  async rememberDeviceAndNetwork(userId: string, deviceHash: string, ipPrefix: string): Promise<void> {
    const now = this.iso();
    await this.db
      .insertInto('known_devices')
      .values({ user_id: userId, device_hash: deviceHash, first_seen_at: now, last_seen_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'device_hash']).doUpdateSet({ last_seen_at: now }))
      .execute();
    await this.db
      .insertInto('known_networks')
      .values({ user_id: userId, ip_prefix: ipPrefix, first_seen_at: now, last_seen_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'ip_prefix']).doUpdateSet({ last_seen_at: now }))
      .execute();
  }

  // ---- step-up tickets ----

  async createStepUpTicket(userId: string, deviceHash: string, ipPrefix: string): Promise<string> {
    const ticket = randomToken();
    await this.db.deleteFrom('step_up_tickets').where('expires_at', '<=', this.iso()).execute();
    await this.db
      .insertInto('step_up_tickets')
      .values({
        id_hash: sha256(ticket),
        user_id: userId,
        device_hash: deviceHash,
        ip_prefix: ipPrefix,
        attempts: 0,
        expires_at: this.iso(STEP_UP_TTL_MS),
      })
      .execute();
    return ticket;
  }

  /** Takes one attempt of an unexpired ticket with fewer than `max` attempts. */
  async takeStepUpAttempt(
    ticket: string,
    max: number,
  ): Promise<{ userId: string; deviceHash: string; ipPrefix: string } | undefined> {
    const row = await this.db
      .updateTable('step_up_tickets')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id_hash', '=', sha256(ticket))
      .where('attempts', '<', max)
      .where('expires_at', '>', this.iso())
      .returning(['user_id', 'device_hash', 'ip_prefix'])
      .executeTakeFirst();
    return row && { userId: row.user_id, deviceHash: row.device_hash, ipPrefix: row.ip_prefix };
  }

  /** True when this call removed the ticket. */
  async deleteStepUpTicket(ticket: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('step_up_tickets')
      .where('id_hash', '=', sha256(ticket))
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  // ---- device keys (the key directory) ----

  /**
   * Registers a device's MLS signature key. A device id is bound to one key for good: the same
   * key again is fine (`created: false`), another key is a conflict (a new key needs a new device
   * id, so a credential can never silently change its key).
   */
  async registerDeviceKey(
    userId: string,
    deviceId: string,
    publicKey: string,
  ): Promise<{ ok: true; created: boolean; device: DeviceKey } | { ok: false }> {
    const res = await this.db
      .insertInto('device_keys')
      .values({ user_id: userId, device_id: deviceId, public_key: publicKey, created_at: this.iso() })
      .onConflict((oc) => oc.columns(['user_id', 'device_id']).doNothing())
      .executeTakeFirst();
    const device = await this.deviceKey(userId, deviceId);
    if (!device || device.publicKey !== publicKey) return { ok: false };
    return { ok: true, created: Number(res.numInsertedOrUpdatedRows ?? 0n) === 1, device };
  }

  async deviceKey(userId: string, deviceId: string): Promise<DeviceKey | undefined> {
    const row = await this.db
      .selectFrom('device_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return (
      row && {
        userId: row.user_id,
        deviceId: row.device_id,
        publicKey: row.public_key,
        createdAt: row.created_at,
      }
    );
  }

  async deviceKeys(userId: string): Promise<DeviceKey[]> {
    const rows = await this.db
      .selectFrom('device_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      userId: r.user_id,
      deviceId: r.device_id,
      publicKey: r.public_key,
      createdAt: r.created_at,
    }));
  }

  async deleteDeviceKey(userId: string, deviceId: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('device_keys')
      .where('user_id', '=', userId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }
}
