import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { AccountApi } from '@conclave/client';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME, startConclave, type ConclaveServer } from '../../src/index.js';
import { memoryLogger, tempDir, testConfig } from '../helpers.js';

const PASSWORD = 'a long enough password';
const NUMBER = {
  typed: '+44 7400 123456',
  forms: ['+447400123456', '447400123456', '07400123456', '7400123456', '7400 123456', '07400 123456'],
};
const DEVICE = 'forensics-browser-0123456789';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file under `dir`, by its path relative to `dir`. */
function filesOf(dir: string, base = dir): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) for (const [p, b] of filesOf(path, base)) out.set(p, b);
    else out.set(path.slice(base.length + 1), readFileSync(path));
  }
  return out;
}

/** Offsets of `needle` in `bytes`; `digits`: only where no ASCII digit is right before or after. */
function offsets(bytes: Buffer, needle: Buffer, digits = false): number[] {
  const found: number[] = [];
  const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + 1)) {
    if (digits && (isDigit(bytes[at - 1]) || isDigit(bytes[at + needle.length]))) continue;
    found.push(at);
  }
  return found;
}

/** The ways a base64url value may be written: itself, its bytes, hex, standard base64. */
function encodings(value: string): Buffer[] {
  const forms = [Buffer.from(value, 'latin1'), Buffer.from(value, 'utf16le')];
  // A key id prefix ("id:mac") or not: each long part on its own too.
  for (const part of new Set([value, ...value.split(':').filter((p) => p.length >= 20)])) {
    forms.push(Buffer.from(part, 'latin1'));
    if (!/^[A-Za-z0-9_-]+$/.test(part)) continue;
    const raw = Buffer.from(part, 'base64url');
    if (raw.length < 16) continue;
    forms.push(
      raw,
      Buffer.from(raw.toString('hex'), 'latin1'),
      Buffer.from(raw.toString('base64'), 'latin1'),
    );
  }
  return forms;
}

/** Page number → the table or index it belongs to, and the page size, of a database file alone. */
function pageOwners(dbFile: string, scratchDir: string): { owner: Map<number, string>; pageSize: number } {
  mkdirSync(scratchDir, { recursive: true });
  const scratch = join(scratchDir, 'main-only.sqlite');
  cpSync(dbFile, scratch);
  const db = new BetterSqlite3(scratch);
  try {
    const rows = db.prepare('select name, pageno from dbstat').all() as { name: string; pageno: number }[];
    const pageSize = (db.pragma('page_size', { simple: true }) as number) ?? 4096;
    return { owner: new Map(rows.map((r) => [r.pageno, r.name])), pageSize };
  } finally {
    db.close();
  }
}

/** The page numbers of a WAL file's frames. */
function walPages(wal: Buffer, pageSize: number): number[] {
  const pages: number[] = [];
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) pages.push(wal.readUInt32BE(at));
  return pages;
}

/**
 * The operator's forensics: a full phone check on a running server with a real data dir, and
 * what a copy of that data dir (taken mid-flow and after it) and the server's log lines hold.
 * The number, the verification id, the SMS code and the check's device id are in none of them;
 * the number's hash is only in its yearly quota row (and not even there mid-flow); nothing at
 * rest or in the log carries the time of the check, and the WAL holds no page of the quota next
 * to the account's pages. (The phone-number key lives outside the data dir here, as configured
 * for production; its file is scanned for the number and the hash too.)
 */
describe("the operator's forensics: copies of the data dir and the logs after a phone check", () => {
  let server: ConclaveServer<undefined> | undefined;
  let gateway: Server | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await server?.close();
    await new Promise((r) => (gateway ? gateway.close(r) : r(undefined)));
    dir?.remove();
  });

  it('no copy and no log line links the number, its hash or the verification to the account', async () => {
    dir = tempDir('conclave-forensics-');
    const dataDir = join(dir.path, 'data');
    const keyFile = join(dir.path, 'keys', 'phone-secret.key');
    const copies = join(dir.path, 'copies');
    // An SMS gateway (the http provider): the code reaches the test, not the log.
    const texts: string[] = [];
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        texts.push((JSON.parse(body) as { text: string }).text);
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => gateway!.listen(0, '127.0.0.1', r));
    const smsGatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`;
    const log = memoryLogger();
    server = await startConclave(
      testConfig(dataDir, { smsProvider: 'http', smsGatewayUrl, phoneSecretFile: keyFile }),
      { media: false, logger: log.logger, webRoot: null },
    );

    const ola = new AccountApi({ serverUrl: server.url, phoneCheckDevice: () => DEVICE });
    await ola.signUp({ email: 'ola@example.org', password: PASSWORD, displayName: 'Ola' });
    const olaId = (await ola.me())!.account.id;
    const copy = (name: string) => cpSync(dataDir, join(copies, name), { recursive: true });
    await sleep(30);

    // The check: start, copy mid-flow, check.
    const tStart = Date.now();
    const started = await ola.startPhoneVerification({ phoneNumber: NUMBER.typed });
    const code = /\b(\d{6})\b/.exec(texts.at(-1) ?? '')?.[1];
    expect(code).toMatch(/^\d{6}$/);
    copy('mid-flow');
    const token = await ola.checkPhoneCode(started.verificationId, code!);
    const tChecked = Date.now();
    copy('checked');
    await sleep(30);

    // The delay: other accounts come and go (writes of their own), then the redeem on Ola's
    // connection.
    const pia = new AccountApi({ serverUrl: server.url });
    await pia.signUp({ email: 'pia@example.org', password: PASSWORD });
    await pia.signOut();
    await ola.me();
    const unlocked = await ola.redeemVerificationToken(token);
    expect(unlocked.entitlement.e2ee).toBe(true);
    copy('after');
    await server.close();
    server = undefined;
    copy('stopped');

    // The number's hash, as the code wrote it: the one quota row there is.
    const quotaDb = new BetterSqlite3(join(copies, 'stopped', SQLITE_FILE_NAME));
    const quota = quotaDb.prepare('select number_hash from phone_number_quota').all() as {
      number_hash: string;
    }[];
    const tables = (
      quotaDb.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    quotaDb.close();
    expect(quota).toHaveLength(1);
    expect(tables).not.toContain('verification_codes');
    const numberHash = quota[0]!.number_hash;

    const secrets: { what: string; forms: Buffer[]; digits?: boolean }[] = [
      {
        what: 'the number',
        forms: NUMBER.forms.flatMap((f) => [Buffer.from(f, 'latin1'), Buffer.from(f, 'utf16le')]),
      },
      { what: 'the verification id', forms: encodings(started.verificationId) },
      { what: 'the SMS code', forms: [Buffer.from(code!, 'latin1')], digits: true },
      { what: 'the check device id', forms: [Buffer.from(DEVICE, 'latin1')] },
    ];
    const hashForms = encodings(numberHash);
    const logBytes = Buffer.from(log.lines.join('\n'), 'utf8');
    const keyBytes = existsSync(keyFile) ? readFileSync(keyFile) : Buffer.alloc(0);
    expect(dataDir.startsWith(dirname(keyFile))).toBe(false);

    for (const name of ['mid-flow', 'checked', 'after', 'stopped']) {
      const files = filesOf(join(copies, name));
      expect([...files.keys()], name).toContain(SQLITE_FILE_NAME);
      const scanned = new Map([...files, ['(server log)', logBytes], ['(phone-number key file)', keyBytes]]);
      for (const { what, forms, digits } of secrets) {
        for (const [file, bytes] of scanned) {
          for (const form of forms)
            expect(offsets(bytes, form, digits), `${what} in ${name}/${file}`).toEqual([]);
        }
      }
      // The hash: nowhere mid-flow; afterwards only in the quota table's pages of the main file.
      const { owner, pageSize } = pageOwners(
        join(copies, name, SQLITE_FILE_NAME),
        join(dir.path, 'scratch', name),
      );
      for (const [file, bytes] of scanned) {
        for (const form of hashForms) {
          const at = offsets(bytes, form);
          if (name === 'mid-flow' || file !== SQLITE_FILE_NAME) {
            expect(at, `the number's hash in ${name}/${file}`).toEqual([]);
          } else {
            const pages = new Set(at.map((o) => owner.get(Math.floor(o / pageSize) + 1)));
            expect([...pages], `pages holding the number's hash in ${name}`).toEqual(
              at.length > 0 ? ['phone_number_quota'] : [],
            );
          }
        }
      }
      // The WAL holds no page of the quota table (so no order of its write next to the account's).
      const wal = files.get(`${SQLITE_FILE_NAME}-wal`);
      if (wal) {
        const quotaPages = [...owner].filter(([, table]) => table === 'phone_number_quota').map(([p]) => p);
        expect(
          walPages(wal, pageSize).filter((p) => quotaPages.includes(p)),
          `quota pages in ${name}'s WAL`,
        ).toEqual([]);
      }
    }

    // Nothing at rest carries the time of the check, or ties a verification to Ola's account.
    const db = new BetterSqlite3(join(copies, 'stopped', SQLITE_FILE_NAME));
    try {
      const inWindow = (t: number) => t >= tStart - 1 && t <= tChecked + 1;
      for (const { name } of db.prepare("select name from sqlite_master where type = 'table'").all() as {
        name: string;
      }[]) {
        for (const row of db.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]) {
          for (const [column, value] of Object.entries(row)) {
            const t =
              typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)
                ? Date.parse(value)
                : typeof value === 'number' && value > 1.5e12 && value < 4e12
                  ? value
                  : undefined;
            expect(t !== undefined && inWindow(t), `${name}.${column} = ${String(value)}`).toBe(false);
          }
        }
      }
      const events = db.prepare('select action, user_id from auth_events').all() as {
        action: string;
        user_id: string;
      }[];
      expect(events.filter((e) => /verif|phone/.test(e.action))).toEqual([]);
      expect(events.filter((e) => e.user_id === olaId).map((e) => e.action)).not.toContain(
        'verification_start',
      );
    } finally {
      db.close();
    }
    // The log has no line at all from the start to the check's answer (no request line, no id).
    const lines = log.lines.map((l) => JSON.parse(l) as { time: number; msg?: string });
    expect(lines.filter((l) => l.time >= tStart && l.time <= tChecked).map((l) => l.msg)).toEqual([]);
    expect(log.lines.some((l) => l.includes('/api/verification/redeem'))).toBe(true);
  });
});
