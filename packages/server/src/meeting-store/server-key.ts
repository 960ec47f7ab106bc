import { DEFAULT_MLS_SUITE, ExternalSender } from '@conclave/crypto';
import type { Db } from '../store/schema.js';

/**
 * The key name includes the MLS cipher suite: a group's external sender must use the group's
 * signature scheme, so a future second suite gets its own key pair next to this one.
 */
export const EXTERNAL_SENDER_KEY_NAME = `mls_external_sender:${DEFAULT_MLS_SUITE}`;

/**
 * The delivery service's MLS external-sender signing key (it signs Remove proposals for members
 * that dropped or were removed). Made on first start and kept in `server_keys`, so groups that
 * pinned the key keep accepting the server's proposals after a restart.
 *
 * The private key is stored in clear (base64) in the database: the server needs it to sign, so
 * it cannot be hashed like the other secrets. It is protected like them by the data dir's
 * permissions (0700, database file 0600) and never logged.
 */
export async function loadOrCreateExternalSender(db: Db): Promise<ExternalSender> {
  const existing = await read(db);
  if (existing) return existing;
  const generated = await ExternalSender.generate(DEFAULT_MLS_SUITE);
  await db
    .insertInto('server_keys')
    .values({
      name: EXTERNAL_SENDER_KEY_NAME,
      public_key: Buffer.from(generated.keys.publicKey).toString('base64'),
      private_key: Buffer.from(generated.keys.signKey).toString('base64'),
      created_at: new Date().toISOString(),
    })
    // Two processes starting on a fresh database: the first insert wins and both use it.
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const stored = await read(db);
  if (!stored) throw new Error(`could not store the server key ${EXTERNAL_SENDER_KEY_NAME}`);
  return stored;
}

async function read(db: Db): Promise<ExternalSender | undefined> {
  const row = await db
    .selectFrom('server_keys')
    .select(['public_key', 'private_key'])
    .where('name', '=', EXTERNAL_SENDER_KEY_NAME)
    .executeTakeFirst();
  if (!row) return undefined;
  return ExternalSender.fromKeys(
    {
      signKey: new Uint8Array(Buffer.from(row.private_key, 'base64')),
      publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64')),
    },
    DEFAULT_MLS_SUITE,
  );
}
