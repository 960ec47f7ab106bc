import { statSync } from 'node:fs';
import type { AccountRole, Plan } from '@conclave/protocol';
import { ConfigError } from '../config.js';
import { AuthEventLog, type AuthEvent } from '../risk/auth-events.js';
import type { Db } from '../store/schema.js';
import {
  PhoneNumberKeys,
  quotaRowCounts,
  storedYearKeys,
  type Rotation,
  type StoredYearKey,
} from '../verification/phone-keys.js';
import {
  legacyPhoneSecretFile,
  locatePhoneSecret,
  readPhoneSecret,
  removeLegacyPhoneSecret,
  type PhoneSecretLocation,
  type PhoneSecretSettings,
} from '../verification/phone-secret.js';
import { AccountStore, type AccountUser } from './account-store.js';

/**
 * What `conclave admin` does, on a database opened by the caller. The account commands return
 * undefined when no account has the e-mail.
 */
export async function adminSetPlan(db: Db, email: string, plan: Plan): Promise<AccountUser | undefined> {
  const store = new AccountStore(db);
  const user = await store.byEmail(email);
  if (!user) return undefined;
  await store.setPlan(user.id, plan);
  return { ...user, plan };
}

export async function adminSetRole(
  db: Db,
  email: string,
  role: AccountRole,
): Promise<AccountUser | undefined> {
  const store = new AccountStore(db);
  const user = await store.byEmail(email);
  if (!user) return undefined;
  await store.setRole(user.id, role);
  return { ...user, role };
}

/** An account's auth events, newest first. */
export async function adminAuthEvents(
  db: Db,
  email: string,
  limit = 100,
): Promise<{ user: AccountUser; events: AuthEvent[] } | undefined> {
  const user = await new AccountStore(db).byEmail(email);
  if (!user) return undefined;
  return { user, events: await new AuthEventLog(db).listForUser(user.id, limit) };
}

/** What `conclave admin phone-key status` shows: where the key is, and counts — never a number or hash. */
export interface PhoneKeyStatus {
  adminKey: {
    /** undefined when the settings are refused (`problem` says why). */
    location: PhoneSecretLocation | undefined;
    state: 'ok' | 'missing' | 'refused';
    /** A file's last change (for its age). */
    modifiedAt?: string;
    problem?: string;
  };
  /** The key file older versions kept in the data dir, when it is still there. */
  legacyFile?: string;
  /** Per year that has a key or quota rows: the key (if any) and how many numbers it counts. */
  years: { year: number; key: StoredYearKey | undefined; quotaRows: number }[];
  /** Quota rows under no stored key (left by a rotation or an old version; the server deletes them). */
  quotaRowsUnderNoKey: number;
}

export async function adminPhoneKeyStatus(
  db: Db,
  settings: PhoneSecretSettings,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PhoneKeyStatus> {
  let adminKey: PhoneKeyStatus['adminKey'];
  let key: Buffer | undefined;
  try {
    const location = locatePhoneSecret(settings, env);
    const secret = readPhoneSecret(settings, { env });
    key = secret?.key;
    adminKey = {
      location,
      state: secret ? 'ok' : 'missing',
      ...(location.kind === 'file' && secret
        ? { modifiedAt: statSync(location.path).mtime.toISOString() }
        : {}),
    };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    adminKey = { location: undefined, state: 'refused', problem: err.message };
  }
  const keys = await storedYearKeys(db, key);
  const counts = await quotaRowCounts(
    db,
    keys.map((k) => k.id),
  );
  const yearsPresent = [...new Set([...keys.map((k) => k.year), ...counts.map((c) => c.year)])].sort();
  const legacyFile = legacyPhoneSecretFile(settings.dataDir);
  return {
    adminKey,
    ...(legacyFile ? { legacyFile } : {}),
    years: yearsPresent.map((year) => {
      const c = counts.find((x) => x.year === year);
      return {
        year,
        key: keys.find((k) => k.year === year),
        quotaRows: c ? c.rows - c.underNoKey : 0,
      };
    }),
    quotaRowsUnderNoKey: counts.reduce((n, c) => n + c.underNoKey, 0),
  };
}

/**
 * `conclave admin phone-key rotate`: destroys every year key and quota row and makes fresh
 * keys (PhoneNumberKeys.rotate), and destroys a key file older versions left in the data dir.
 * Needs the admin key the server uses: it is not made here (a missing one means other settings
 * or another user than the server's), ConfigError instead.
 */
export async function adminRotatePhoneKeys(
  db: Db,
  settings: PhoneSecretSettings,
  options: { env?: NodeJS.ProcessEnv; now?: () => number } = {},
): Promise<Rotation & { location: PhoneSecretLocation; legacyFileRemoved: boolean }> {
  const secret = readPhoneSecret(settings, { env: options.env });
  if (!secret) {
    const location = locatePhoneSecret(settings, options.env);
    throw new ConfigError(
      `no phone-number key at ${location.kind === 'file' ? location.path : 'phoneSecret'}: run this as the server's user, with its phone settings (the server makes the key on its first start)`,
    );
  }
  const legacyFileRemoved = removeLegacyPhoneSecret(settings.dataDir);
  const rotation = await new PhoneNumberKeys(db, secret.key, options.now).rotate();
  return { ...rotation, location: secret.location, legacyFileRemoved };
}
