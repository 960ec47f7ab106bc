import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/schema.js';

/** The `server_keys` row of the chat-seal key (an HMAC key: `public_key` is empty). */
const CHAT_SEAL_KEY_NAME = 'chat_seal:hmac-sha256';

/** What a seal covers: one chat message of a standard meeting as the server relayed it. */
export interface RelayedChat {
  meetingId: string;
  /** The sender's participant id. */
  from: string;
  text: string;
  /** When the server relayed it, ms since the Unix epoch. */
  sentAt: number;
}

/**
 * The seal's input: a label and each field as a 4-byte big-endian length and its UTF-8 bytes
 * (sentAt as decimal digits), so no two different messages encode alike.
 */
function canonical(c: RelayedChat): Buffer {
  const parts = ['conclave chat seal v1', c.meetingId, c.from, c.text, String(c.sentAt)].map((s) =>
    Buffer.from(s, 'utf8'),
  );
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

/**
 * Standard (non-E2EE) meetings: the server sees chat in clear and relays it, so it can vouch for
 * what it relayed. Each relayed message carries `sentAt` and a seal, HMAC-SHA256 with a server
 * key over meeting, sender, text and time; a report attaches them (`server_chat` evidence) and
 * the server checks the seal ("server_relayed"). A reporter cannot change the text, the sender
 * or the time without the key. The key lives in `server_keys` (made on first start), protected
 * like the other server keys by the data dir's permissions; it is never sent or logged. Only this
 * server can check its seals (an HMAC, not a signature): the moderators it serves trust it anyway.
 */
export class ChatSealer {
  private constructor(private readonly key: Buffer) {}

  static async loadOrCreate(db: Db): Promise<ChatSealer> {
    const read = () =>
      db
        .selectFrom('server_keys')
        .select('private_key')
        .where('name', '=', CHAT_SEAL_KEY_NAME)
        .executeTakeFirst();
    if (!(await read())) {
      await db
        .insertInto('server_keys')
        .values({
          name: CHAT_SEAL_KEY_NAME,
          public_key: '',
          private_key: randomBytes(32).toString('base64'),
          created_at: new Date().toISOString(),
        })
        // Two processes starting on a fresh database: the first insert wins and both use it.
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
    }
    const row = await read();
    if (!row) throw new Error(`could not store the server key ${CHAT_SEAL_KEY_NAME}`);
    return new ChatSealer(Buffer.from(row.private_key, 'base64'));
  }

  /** The seal of a relayed message, base64 (44 characters). */
  seal(c: RelayedChat): string {
    return createHmac('sha256', this.key).update(canonical(c)).digest('base64');
  }

  /** Whether `seal` is this server's seal of exactly this message. */
  verify(c: RelayedChat, seal: string): boolean {
    const expected = createHmac('sha256', this.key).update(canonical(c)).digest();
    const given = Buffer.from(seal, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
