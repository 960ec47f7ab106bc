import { moderationKeyId } from '@conclave/crypto';
import type { Db } from '../store/schema.js';

/** A moderators' HPKE public key as the server keeps it (the private key never reaches the server). */
export interface ModerationKey {
  /** `moderationKeyId(publicKey)`: the fingerprint the CLI prints and the key file names. */
  id: string;
  publicKey: Uint8Array;
  createdAt: string;
  retiredAt: string | undefined;
}

function toKey(r: {
  id: string;
  public_key: string;
  created_at: string;
  retired_at: string | null;
}): ModerationKey {
  return {
    id: r.id,
    publicKey: new Uint8Array(Buffer.from(r.public_key, 'base64')),
    createdAt: r.created_at,
    retiredAt: r.retired_at ?? undefined,
  };
}

/**
 * The `moderation_keys` table: new reports' evidence is sealed to the current key (the newest not
 * retired). Adding a key retires the others: reports sealed before stay sealed to their key
 * (`reports.sealed_key_id`), so the admin keeps the old key file to open them.
 */
export class ModerationKeys {
  constructor(private readonly db: Db) {}

  async current(): Promise<ModerationKey | undefined> {
    const row = await this.db
      .selectFrom('moderation_keys')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .executeTakeFirst();
    return row && toKey(row);
  }

  /** Every key, newest first. */
  async all(): Promise<ModerationKey[]> {
    const rows = await this.db
      .selectFrom('moderation_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map(toKey);
  }

  /** Makes `publicKey` the current key, retiring the others; returns it. */
  async add(publicKey: Uint8Array, now: string = new Date().toISOString()): Promise<ModerationKey> {
    const id = moderationKeyId(publicKey);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('moderation_keys')
        .set({ retired_at: now })
        .where('retired_at', 'is', null)
        .execute();
      await trx
        .insertInto('moderation_keys')
        .values({
          id,
          public_key: Buffer.from(publicKey).toString('base64'),
          created_at: now,
          retired_at: null,
        })
        .execute();
    });
    return { id, publicKey, createdAt: now, retiredAt: undefined };
  }

  /** How many reports' evidence is sealed to each key (still kept, not expired). */
  async sealedCounts(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('reports')
      .select((eb) => ['sealed_key_id', eb.fn.countAll<number | string>().as('count')])
      .where('sealed_evidence', 'is not', null)
      .groupBy('sealed_key_id')
      .execute();
    return new Map(
      rows.filter((r) => r.sealed_key_id !== null).map((r) => [r.sealed_key_id!, Number(r.count)]),
    );
  }
}
