import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { truncateWal } from '../store/database.js';
import type { LogSink } from '../logger.js';
import type { Db } from '../store/schema.js';

/**
 * The yearly keys of phone-number hashes. The quota of a number (`phone_number_quota`) counts
 * per calendar year (UTC), so each year has a key of its own and the key goes with its year:
 *
 *   year key   = HMAC-SHA256(admin key, "conclave/phone-year-key/v1\n" ‖ year ‖ "\n" ‖ salt)
 *   numberHash = key id ":" HMAC-SHA256(year key, "conclave/phone-number/v2\n" ‖ E.164), base64url
 *
 * The admin key lives outside the data dir (phone-secret.ts); the salt (32 random bytes) is a
 * row of `server_keys` named `phone-number-key/<year>` in the database. So a copy of the data
 * dir has salts but no admin key, and the admin key alone has no salt: the hashes can be tested
 * against candidate numbers only with both. Destroying a year's row destroys its key for good,
 * the admin key included: its quota rows can no longer be tested against anything, and they are
 * deleted with it. That happens at the end of every year (`refresh`, the accounts' minute timer)
 * and on `conclave admin phone-key rotate` (`rotate`).
 *
 * The key id (8 hex digits of SHA-256(salt)) prefixes every hash, so the rows of a destroyed key
 * are found and deleted without the key. The row's `public_key` holds a check value
 * (HMAC(admin key, year ‖ salt)): a row made with another admin key — the key was lost or
 * replaced — is told apart from a usable one, and destroyed instead of silently hashing every
 * number to something no row matches.
 *
 * Deleting leaves nothing behind: `secure_delete` overwrites deleted rows in the database file
 * and the WAL, which keeps old pages until it restarts, is truncated after every destruction.
 */

const NAME_PREFIX = 'phone-number-key/';
const SALT_BYTES = 32;

/** The calendar year (UTC) of a time in milliseconds, as the quota counts it (store.ts). */
function utcYear(ms: number): number {
  return new Date(ms).getUTCFullYear();
}

/** One year's key, in memory only. */
export class YearKey {
  private constructor(
    readonly year: number,
    /** 8 hex digits of SHA-256(salt): names the key without revealing anything of it. */
    readonly id: string,
    private readonly key: Buffer,
  ) {}

  /** The year key of `adminKey` and a stored salt. */
  static derive(adminKey: Buffer, year: number, salt: Buffer): YearKey {
    const key = createHmac('sha256', adminKey)
      .update(`conclave/phone-year-key/v1\n${year}\n`, 'utf8')
      .update(salt)
      .digest();
    return new YearKey(year, keyId(salt), key);
  }

  /** What the database keeps instead of the number: `<key id>:<HMAC>`. */
  numberHash(e164: string): string {
    const mac = createHmac('sha256', this.key).update(`conclave/phone-number/v2\n${e164}`, 'utf8').digest();
    return `${this.id}:${mac.toString('base64url')}`;
  }
}

function keyId(salt: Buffer): string {
  return createHash('sha256').update(salt).digest('hex').slice(0, 8);
}

function checkValue(adminKey: Buffer, year: number, salt: Buffer): Buffer {
  return createHmac('sha256', adminKey)
    .update(`conclave/phone-year-key-check/v1\n${year}\n`, 'utf8')
    .update(salt)
    .digest();
}

/** A year key as stored, without its secret: what `conclave admin phone-key status` shows. */
export interface StoredYearKey {
  year: number;
  id: string;
  createdAt: string;
  /** Whether it was made with the admin key given; undefined when none was given. */
  madeWithAdminKey: boolean | undefined;
}

interface YearKeyRow {
  year: number;
  salt: Buffer;
  check: Buffer;
  createdAt: string;
}

async function readRows(db: Db): Promise<YearKeyRow[]> {
  const rows = await db
    .selectFrom('server_keys')
    .select(['name', 'public_key', 'private_key', 'created_at'])
    .where('name', 'like', `${NAME_PREFIX}%`)
    .execute();
  return rows
    .map((r) => ({
      year: Number(r.name.slice(NAME_PREFIX.length)),
      salt: Buffer.from(r.private_key, 'base64'),
      check: Buffer.from(r.public_key, 'base64'),
      createdAt: r.created_at,
    }))
    .filter((r) => Number.isInteger(r.year))
    .sort((a, b) => a.year - b.year);
}

function madeWith(adminKey: Buffer, row: YearKeyRow): boolean {
  const expected = checkValue(adminKey, row.year, row.salt);
  return expected.length === row.check.length && timingSafeEqual(expected, row.check);
}

function publicView(row: YearKeyRow, adminKey: Buffer | undefined): StoredYearKey {
  return {
    year: row.year,
    id: keyId(row.salt),
    createdAt: row.createdAt,
    madeWithAdminKey: adminKey ? madeWith(adminKey, row) : undefined,
  };
}

/** Every stored year key, oldest year first (no secret in the answer). */
export async function storedYearKeys(db: Db, adminKey?: Buffer): Promise<StoredYearKey[]> {
  return (await readRows(db)).map((r) => publicView(r, adminKey));
}

/** Quota rows per year, and how many of them are under none of `liveKeyIds` (left to delete). */
export async function quotaRowCounts(
  db: Db,
  liveKeyIds: string[],
): Promise<{ year: number; rows: number; underNoKey: number }[]> {
  const totals = await db
    .selectFrom('phone_number_quota')
    .select(['year', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('year')
    .orderBy('year')
    .execute();
  const underKeys =
    liveKeyIds.length === 0
      ? []
      : await db
          .selectFrom('phone_number_quota')
          .select(['year', (eb) => eb.fn.countAll<number | string>().as('n')])
          .where((eb) => eb.or(liveKeyIds.map((id) => eb('number_hash', 'like', `${id}:%`))))
          .groupBy('year')
          .execute();
  return totals.map((t) => {
    const under = Number(underKeys.find((u) => u.year === t.year)?.n ?? 0);
    return { year: t.year, rows: Number(t.n), underNoKey: Number(t.n) - under };
  });
}

/** What `rotate` did. */
export interface Rotation {
  /** The keys destroyed (every stored one). */
  destroyed: StoredYearKey[];
  /** The keys made: this year's and the next one's. */
  made: StoredYearKey[];
  /** Quota rows deleted with them. */
  quotaRowsDropped: number;
  /** Whether the WAL could be truncated (false: another process was reading; see truncateWal). */
  walTruncated: boolean;
}

/**
 * The year keys of one admin key, loaded for synchronous hashing (`current()`): this year's
 * and the next one's are made ahead, so the key of a new year is there at midnight, and
 * `refresh` (on start and then once a minute) destroys last year's.
 */
export class PhoneNumberKeys {
  private keys = new Map<number, YearKey>();
  /** Rows were destroyed but the WAL could not be truncated yet. */
  private walDirty = false;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly adminKey: Buffer,
    private readonly now: () => number = Date.now,
    private readonly logger?: LogSink,
  ) {}

  /** This year's key. Throws when `refresh` has not loaded it (it always has, once started). */
  current(): YearKey {
    const year = utcYear(this.now());
    const key = this.keys.get(year);
    if (!key) throw new Error(`no phone-number key for ${year} is loaded`);
    return key;
  }

  /**
   * Brings the stored keys in line with the year: destroys the keys of past years, and any made
   * with another admin key, with their quota rows; makes this year's and the next year's when
   * missing; deletes quota rows under no stored key (left by a rotation in another process, or
   * keyed by the admin key itself before yearly keys); and loads the keys. Also picks up a
   * rotation made by `conclave admin` while the server runs.
   */
  refresh(): Promise<void> {
    // One at a time (the start-up's and the timer's must not interleave).
    const run = (this.refreshing ?? Promise.resolve()).then(() => this.refreshNow());
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  private async refreshNow(): Promise<void> {
    const year = utcYear(this.now());
    let rows = await readRows(this.db);
    const past = rows.filter((r) => r.year < year);
    const foreign = rows.filter((r) => r.year >= year && !madeWith(this.adminKey, r));
    if (past.length > 0 || foreign.length > 0) {
      await this.destroy([...past, ...foreign]);
      for (const r of past) {
        this.logger?.info(
          { year: r.year },
          'destroyed the phone-number key of a past year with its quota rows (the quota counts per calendar year)',
        );
      }
      for (const r of foreign) {
        this.logger?.warn(
          { year: r.year },
          'a phone-number key in the database was made with another admin key (was the phone secret lost or replaced?): destroyed it with its quota rows; the quotas of its year start over',
        );
      }
    }
    const missing = [year, year + 1].filter(
      (y) => !rows.some((r) => r.year === y && madeWith(this.adminKey, r)),
    );
    if (missing.length > 0) {
      await this.insert(this.db, missing);
      rows = await readRows(this.db);
    }
    const live = rows.filter((r) => r.year >= year && madeWith(this.adminKey, r));
    const before = this.keys;
    this.keys = new Map(live.map((r) => [r.year, YearKey.derive(this.adminKey, r.year, r.salt)]));
    // A key this process had is gone (rotated by `conclave admin`): the WAL may still hold it.
    if ([...before.values()].some((k) => this.keys.get(k.year)?.id !== k.id && k.year >= year)) {
      this.walDirty = true;
    }
    const orphans = await this.deleteQuotaRowsUnderNoKey(
      this.db,
      live.map((r) => keyId(r.salt)),
    );
    if (orphans > 0) {
      this.logger?.info({ rows: orphans }, 'deleted phone quota rows whose key is destroyed');
    }
    if (orphans > 0 || past.length > 0 || foreign.length > 0) this.walDirty = true;
    if (this.walDirty) this.walDirty = !(await truncateWal(this.db));
  }

  /** Runs `refresh` once a minute (errors go to the log) until `stopRefreshing`. */
  startRefreshing(): void {
    this.timer ??= setInterval(() => {
      this.refresh().catch((err: unknown) =>
        this.logger?.error({ err }, 'refreshing the phone-number keys failed'),
      );
    }, 60_000);
    this.timer.unref();
  }

  stopRefreshing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * `conclave admin phone-key rotate`: destroys every stored year key and every quota row, and
   * makes fresh keys for this year and the next. Every number's count starts over this year.
   */
  async rotate(): Promise<Rotation> {
    const year = utcYear(this.now());
    const result = await this.db.transaction().execute(async (trx) => {
      const destroyed = (await readRows(trx)).map((r) => publicView(r, this.adminKey));
      await trx.deleteFrom('server_keys').where('name', 'like', `${NAME_PREFIX}%`).execute();
      const dropped = await trx.deleteFrom('phone_number_quota').executeTakeFirst();
      await this.insert(trx, [year, year + 1]);
      return { destroyed, quotaRowsDropped: Number(dropped.numDeletedRows) };
    });
    // The WAL would otherwise keep the pages of the deleted rows (salts included) until it restarts.
    const walTruncated = await truncateWal(this.db);
    const rows = await readRows(this.db);
    this.keys = new Map(
      rows.filter((r) => r.year >= year).map((r) => [r.year, YearKey.derive(this.adminKey, r.year, r.salt)]),
    );
    return {
      ...result,
      made: rows.filter((r) => r.year >= year).map((r) => publicView(r, this.adminKey)),
      walTruncated,
    };
  }

  private async insert(db: Db, years: number[]): Promise<void> {
    const createdAt = new Date(this.now()).toISOString();
    for (const year of years) {
      const salt = randomBytes(SALT_BYTES);
      await db
        .insertInto('server_keys')
        .values({
          name: `${NAME_PREFIX}${year}`,
          public_key: checkValue(this.adminKey, year, salt).toString('base64'),
          private_key: salt.toString('base64'),
          created_at: createdAt,
        })
        // Two processes making the same year's key: the first one wins, both load it.
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
    }
  }

  /** Deletes key rows and their quota rows; the number of quota rows deleted. */
  private async destroy(rows: YearKeyRow[]): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      let quota = 0;
      for (const r of rows) {
        await trx.deleteFrom('server_keys').where('name', '=', `${NAME_PREFIX}${r.year}`).execute();
        const res = await trx
          .deleteFrom('phone_number_quota')
          .where((eb) => eb.or([eb('number_hash', 'like', `${keyId(r.salt)}:%`), eb('year', '=', r.year)]))
          .executeTakeFirst();
        quota += Number(res.numDeletedRows);
      }
      return quota;
    });
  }

  private async deleteQuotaRowsUnderNoKey(db: Db, liveKeyIds: string[]): Promise<number> {
    const res = await db
      .deleteFrom('phone_number_quota')
      .where((eb) => eb.and(liveKeyIds.map((id) => eb('number_hash', 'not like', `${id}:%`))))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
