import { createHash } from 'node:crypto';
import type { ServerBans } from '../meeting/deps.js';
import type { Db } from '../store/schema.js';

/** How banned_keys names a key: hex SHA-256 of the raw public key (base64 in, as key packages carry it). */
export function bannedKeyHash(signatureKey: string): string {
  return createHash('sha256').update(Buffer.from(signatureKey, 'base64')).digest('hex');
}

/**
 * MLS signature keys the moderators banned (`banned_keys`): a banned account's registered device
 * keys and a banned guest's key. The admission gate of every meeting refuses them
 * (meeting/admission-gate.ts, `serverBans`).
 */
export class BannedKeys implements ServerBans {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async keyBanned(signatureKey: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('banned_keys')
      .select('key_hash')
      .where('key_hash', '=', bannedKeyHash(signatureKey))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Bans the keys (base64); a key banned already keeps its first row. Returns how many are new. */
  async ban(keys: string[], by: { accountId: string | null; reportId: string }): Promise<number> {
    let added = 0;
    for (const key of new Set(keys)) {
      const res = await this.db
        .insertInto('banned_keys')
        .values({
          key_hash: bannedKeyHash(key),
          account_id: by.accountId,
          report_id: by.reportId,
          created_at: new Date(this.now()).toISOString(),
        })
        .onConflict((oc) => oc.column('key_hash').doNothing())
        .executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0n);
    }
    return added;
  }

  /** Which of these keys (base64) are banned. */
  async bannedAmong(keys: string[]): Promise<Set<string>> {
    const byHash = new Map([...new Set(keys)].map((k) => [bannedKeyHash(k), k]));
    const banned = new Set<string>();
    for (const hashes of chunks([...byHash.keys()])) {
      const rows = await this.db
        .selectFrom('banned_keys')
        .select('key_hash')
        .where('key_hash', 'in', hashes)
        .execute();
      for (const r of rows) banned.add(byHash.get(r.key_hash)!);
    }
    return banned;
  }
}

/** SQLite's default limit of bound parameters is far above this; one query per 500 values. */
export function chunks<T>(values: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}
