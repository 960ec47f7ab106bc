import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeModerationKeyFile, generateModerationKeyPair } from '@conclave/crypto';
import { ConfigError } from '../config.js';
import type { Db } from '../store/schema.js';
import { isInside } from '../verification/phone-secret.js';
import { ModerationKeys, type ModerationKey } from './moderation-keys.js';

export interface CreatedModerationKey {
  key: ModerationKey;
  /** Where the private key file was written. */
  file: string;
  /** The keys this one retired (reports sealed to them stay so: keep their files). */
  retired: string[];
}

/**
 * `conclave admin moderation-key create --out FILE`: a new moderators' HPKE key pair. The private
 * key goes into FILE (mode 0600, never over an existing file, never inside the data dir: a copy of
 * the data dir must not open the evidence), the public key into `moderation_keys` as the current
 * key, retiring the one before. The file is written first: if that fails, nothing changes.
 * Throws ConfigError for a refused path.
 */
export async function adminCreateModerationKey(
  db: Db,
  opts: { dataDir: string; out: string; now?: number },
): Promise<CreatedModerationKey> {
  const file = resolve(opts.out);
  if (isInside(opts.dataDir, file))
    throw new ConfigError(
      `the moderation key file must not be inside the data dir (${opts.dataDir}): whoever copies the data dir could open the evidence`,
    );
  const createdAt = new Date(opts.now ?? Date.now()).toISOString();
  const pair = await generateModerationKeyPair();
  const keys = new ModerationKeys(db);
  const before = (await keys.all()).filter((k) => k.retiredAt === undefined).map((k) => k.id);
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'EEXIST'
        ? `${file} exists: a key file is never overwritten (it may be the only key to older reports' evidence)`
        : `cannot create ${file}: ${(err as Error).message}`,
    );
  }
  try {
    await handle.writeFile(encodeModerationKeyFile(pair, createdAt));
    await handle.sync();
  } finally {
    await handle.close();
  }
  const key = await keys.add(pair.publicKey, createdAt);
  return { key, file, retired: before };
}

export interface ModerationKeyStatus {
  current: { id: string; createdAt: string; sealedReports: number } | undefined;
  retired: { id: string; createdAt: string; retiredAt: string; sealedReports: number }[];
}

/** `conclave admin moderation-key status`: the current key, the retired ones, and what each still seals. */
export async function adminModerationKeyStatus(db: Db): Promise<ModerationKeyStatus> {
  const keys = new ModerationKeys(db);
  const [all, counts] = await Promise.all([keys.all(), keys.sealedCounts()]);
  const current = await keys.current();
  return {
    current: current && {
      id: current.id,
      createdAt: current.createdAt,
      sealedReports: counts.get(current.id) ?? 0,
    },
    retired: all
      .filter((k) => k.id !== current?.id)
      .map((k) => ({
        id: k.id,
        createdAt: k.createdAt,
        retiredAt: k.retiredAt ?? k.createdAt,
        sealedReports: counts.get(k.id) ?? 0,
      })),
  };
}
