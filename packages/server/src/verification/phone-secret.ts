import { createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { ConfigError, type ServerConfig } from '../config.js';
import type { LogSink } from '../logger.js';
import type { PhoneNumberKeys } from './phone-keys.js';

/**
 * The admin key of phone-number hashes (the "phone secret"): 32 or more random bytes the
 * server holds outside its data dir, so that a copy of the data dir — a backup, a seized disk —
 * cannot be searched for known numbers (the number space is small enough to walk: every UK
 * mobile number in about 37 core-minutes). The yearly keys that actually hash numbers are
 * derived from it and a salt in the database (phone-keys.ts): the data dir alone has salts and
 * no key, the admin key alone has no salt.
 *
 * Where it comes from, in order:
 * 1. `phoneSecret` (`CONCLAVE_PHONE_SECRET`, or `--phone-secret`): the key itself, base64;
 * 2. `phoneSecretFile` (`CONCLAVE_PHONE_SECRET_FILE`, `--phone-secret-file`): a file holding it;
 * 3. the default file `$XDG_CONFIG_HOME/conclave/phone-secret.key` (`~/.config/conclave/…`
 *    without XDG_CONFIG_HOME), so that `npm start` works with no setup: made 0600 (its
 *    directory 0700) on first start and announced once in the log.
 * A file (configured or default) is made when missing. A file inside the data dir is refused
 * (ConfigError naming the setting), symbolic links resolved.
 *
 * Losing or replacing the admin key resets the quotas (the year keys made with the old one are
 * destroyed at the next start, see PhoneNumberKeys.refresh); several servers on one database
 * must share it.
 */

const PHONE_SECRET_BYTES = 32;

/** Where the server kept the key before it had to live outside the data dir: deleted on start. */
export const LEGACY_PHONE_SECRET_FILE_NAME = 'phone-hmac.key';

/** The settings the phone secret comes from (a `ServerConfig` is one). */
export interface PhoneSecretSettings {
  dataDir: ServerConfig['dataDir'];
  phoneSecret?: ServerConfig['phoneSecret'];
  phoneSecretFile?: ServerConfig['phoneSecretFile'];
}

/** Where the admin key is: the `phoneSecret` setting, or a file (configured or the default). */
export type PhoneSecretLocation = { kind: 'setting' } | { kind: 'file'; path: string; configured: boolean };

export interface PhoneSecret {
  key: Buffer;
  location: PhoneSecretLocation;
  /** Whether this call made the file. */
  created: boolean;
}

/** `$XDG_CONFIG_HOME/conclave/phone-secret.key`, or `~/.config/conclave/phone-secret.key`. */
export function defaultPhoneSecretFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'conclave', 'phone-secret.key');
}

/** A path with every symbolic link of its existing part resolved (the rest appended). */
function realish(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realish(parent), basename(path));
  }
}

/** Whether `path` is `dir` or inside it (symbolic links of the existing parts resolved). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(realish(dir), realish(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const HOW_TO_SET =
  'set phoneSecretFile (--phone-secret-file or CONCLAVE_PHONE_SECRET_FILE) to a file outside the data dir, or phoneSecret (CONCLAVE_PHONE_SECRET) to the key itself (openssl rand -base64 32)';

/**
 * Where the admin key is, by the settings. Throws ConfigError for a file inside the data dir:
 * with it, a copy of the data dir would be enough to test numbers against the quota table.
 */
export function locatePhoneSecret(
  settings: PhoneSecretSettings,
  env: NodeJS.ProcessEnv = process.env,
): PhoneSecretLocation {
  if (settings.phoneSecret !== undefined) return { kind: 'setting' };
  const configured = settings.phoneSecretFile !== undefined;
  const path = settings.phoneSecretFile ?? defaultPhoneSecretFile(env);
  if (isInside(settings.dataDir, path)) {
    throw new ConfigError(
      configured
        ? `Invalid setting phoneSecretFile (${path}): the phone-number key must be kept outside the data dir (${settings.dataDir}), or a copy of the data dir could be searched for phone numbers; move it (mode 0600) and point phoneSecretFile (--phone-secret-file or CONCLAVE_PHONE_SECRET_FILE) at it, or set phoneSecret (CONCLAVE_PHONE_SECRET) instead`
        : `Invalid setting phoneSecretFile (default ${path}): the default place of the phone-number key is inside the data dir (${settings.dataDir}); ${HOW_TO_SET}`,
    );
  }
  return { kind: 'file', path, configured };
}

function decode(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) || key.length < PHONE_SECRET_BYTES) {
    throw new ConfigError(
      `the phone-number key in ${where} must hold at least ${PHONE_SECRET_BYTES} bytes of base64`,
    );
  }
  return key;
}

/**
 * Reads the admin key; with `create`, makes a missing file (the server does, `conclave admin
 * phone-key status` does not: it answers undefined for a missing file).
 */
export function readPhoneSecret(
  settings: PhoneSecretSettings,
  options: { env?: NodeJS.ProcessEnv; create: true },
): PhoneSecret;
export function readPhoneSecret(
  settings: PhoneSecretSettings,
  options?: { env?: NodeJS.ProcessEnv; create?: boolean },
): PhoneSecret | undefined;
export function readPhoneSecret(
  settings: PhoneSecretSettings,
  options: { env?: NodeJS.ProcessEnv; create?: boolean } = {},
): PhoneSecret | undefined {
  const location = locatePhoneSecret(settings, options.env);
  if (location.kind === 'setting') {
    return { key: decode(settings.phoneSecret ?? '', 'phoneSecret'), location, created: false };
  }
  const { path } = location;
  let created = false;
  if (options.create) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // `wx`: only if it does not exist, so two processes starting together keep one key.
      writeFileSync(path, `${randomBytes(PHONE_SECRET_BYTES).toString('base64')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      created = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new ConfigError(
          `could not make the phone-number key ${path} (${code ?? String(err)}): ${HOW_TO_SET}`,
        );
      }
    }
  } else if (!existsSync(path)) {
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `could not read the phone-number key ${path} (${code ?? String(err)}): ${HOW_TO_SET}`,
    );
  }
  return { key: decode(text, path), location, created };
}

/**
 * The server's start: reads (or makes) the admin key, says once in the log what a new file is
 * for, warns about a file others may read, and destroys the key file older versions kept in
 * the data dir (its quota rows go at the keys' first refresh: they are under no year key).
 */
export function loadPhoneSecret(
  settings: PhoneSecretSettings,
  logger: LogSink,
  env: NodeJS.ProcessEnv = process.env,
): PhoneSecret {
  const secret = readPhoneSecret(settings, { env, create: true });
  if (secret.location.kind === 'file') {
    const { path } = secret.location;
    if (secret.created) {
      logger.info(
        { path },
        'made the phone-number key: it keys the yearly per-number quota of the phone check; keep it out of backups of the data dir (with the data dir it lets numbers be tested against the quota table); losing it only resets the quotas',
      );
    } else if ((statSync(path).mode & 0o077) !== 0) {
      logger.warn({ path }, 'the phone-number key file may be read by other users: chmod 600 it');
    }
  }
  removeLegacyPhoneSecret(settings.dataDir, logger);
  return secret;
}

/** The key file in the data dir that versions before yearly keys made, if it is there. */
export function legacyPhoneSecretFile(dataDir: string): string | undefined {
  const path = join(dataDir, LEGACY_PHONE_SECRET_FILE_NAME);
  return existsSync(path) ? path : undefined;
}

/** Overwrites and deletes the legacy key file in the data dir; true when there was one. */
export function removeLegacyPhoneSecret(dataDir: string, logger?: LogSink): boolean {
  const path = legacyPhoneSecretFile(dataDir);
  if (!path) return false;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(statSync(path).size));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
  logger?.warn(
    { path },
    'destroyed the phone-number key older versions kept in the data dir; the phone quotas are keyed outside the data dir now and start over',
  );
  return true;
}

/** Keyed hashes of phone numbers (this year's key) and of SMS codes (the admin key). */
export class PhoneHasher {
  constructor(
    private readonly secret: Buffer,
    private readonly keys: PhoneNumberKeys,
  ) {}

  /** `<key id>:<HMAC>` under this year's key (phone-keys.ts). What the database keeps instead of the number. */
  numberHash(e164: string): string {
    return this.keys.current().numberHash(e164);
  }

  /** The stored form of an SMS code, bound to its verification id. */
  codeHash(verificationId: string, code: string): string {
    return createHmac('sha256', this.secret)
      .update(`conclave/sms-code/v1\n${verificationId}\n${code}`, 'utf8')
      .digest('base64url');
  }
}
