import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  fromBase64,
  MlsDevice,
  MlsSession,
  openEvidence,
  parseModerationKeyFile,
  toBase64,
  type ModerationKeyFile,
} from '@conclave/crypto';
import {
  createMeetingRequest,
  reportEvidenceSchema,
  submitReportResponse,
  type ReportEvidence,
} from '@conclave/protocol';
import { createDatabase, loadConfig, startConclave, type Db } from '@conclave/server';
import { afterEach, describe, expect, it } from 'vitest';
import { admin } from '../src/commands/admin.js';

/** `conclave admin …` in this process (each spawn costs about a second); one run uses the real binary. */
async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await admin(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) }, {});
  return { code, stdout, stderr };
}

const CONCLAVE = fileURLToPath(new URL('../bin/conclave.mjs', import.meta.url));
const enc = new TextEncoder();

/** One chat message of a two-member MLS group, as the receiver would report it. */
async function chatEvidence(message: string): Promise<{ evidence: ReportEvidence; senderKey: string }> {
  const [a, b] = await Promise.all(
    ['a', 'b'].map((n) => MlsDevice.create({ kind: 'guest', deviceId: `dev-${n}`, displayName: n })),
  );
  const host = await MlsSession.create(a!, {
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    roles: { hosts: [toBase64(a!.signatureKeys.publicKey)], cohosts: [] },
  });
  const pending = await host.prepareCommit({ add: [await b!.createKeyPackage()] });
  host.applyCommit(pending);
  const other = await MlsSession.join(b!, pending.welcome!);
  const payload = enc.encode(JSON.stringify({ kind: 'chat', text: message, sentAt: 1 }));
  const got = await other.decryptApplication(await host.encryptApplication(payload));
  const proof = other.membershipProof(got.epoch)!;
  return {
    senderKey: toBase64(a!.signatureKeys.publicKey),
    evidence: {
      proofs: [{ groupContext: toBase64(proof.groupContext), ratchetTree: toBase64(proof.ratchetTree) }],
      chat: [
        {
          kind: 'mls_chat',
          proof: 0,
          framedContent: toBase64(got.evidence.framedContent),
          signature: toBase64(got.evidence.signature),
        },
      ],
      screenshots: [],
    },
  };
}

describe('conclave admin moderation-key', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function dir(prefix: string): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  }

  /** A guest's report over HTTP to the running server; its stored row. */
  async function fileReport(server: { url: string }, db: Db, meetingId: string, ip: string, message: string) {
    const { evidence, senderKey } = await chatEvidence(message);
    const res = await fetch(`${server.url}/api/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({
        v: 1,
        meetingId,
        reported: { signatureKey: senderKey, displayName: 'A' },
        reason: 'harassment',
        evidence,
      }),
    });
    const body: unknown = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(201);
    const { report } = submitReportResponse.parse(body);
    const row = await db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', report.id)
      .executeTakeFirstOrThrow();
    return { report, row, evidence };
  }

  async function opens(key: ModerationKeyFile, row: { id: string; sealed_evidence: string | null }) {
    const plain = await openEvidence(key.privateKey, fromBase64(row.sealed_evidence!), enc.encode(row.id));
    return reportEvidenceSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
  }

  it('creates a key file (0600, never overwritten, never in the data dir) the running server seals to; a new key retires the old one', async () => {
    const dataDir = dir('conclave-modkey-data-');
    const keys = dir('conclave-modkey-files-');
    const server = await startConclave(
      loadConfig(
        ['--port', '0', '--data-dir', dataDir, '--trust-proxy', 'loopback', '--log-level', 'silent'],
        {},
      ),
      { media: false, webRoot: null },
    );
    cleanups.push(() => server.close());
    const db = createDatabase({ dataDir });
    cleanups.push(() => db.destroy());
    const meetingId = (await server.storage.meetings.create(createMeetingRequest.parse({ v: 1 }))).meeting.id;

    expect(await cli(['moderation-key', 'status', '--data-dir', dataDir])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^no moderation key/),
    });
    const before = await fileReport(server, db, meetingId, '192.0.2.1', 'before any key');
    expect(before.report.evidenceKept).toBe(false);

    // the real binary, against the running server's data dir
    const file1 = join(keys, 'moderation-1.key');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CONCLAVE, 'admin', 'moderation-key', 'create', '--out', file1, '--data-dir', dataDir],
      { timeout: 30_000 },
    );
    const k1 = parseModerationKeyFile(readFileSync(file1, 'utf8'));
    expect(statSync(file1).mode & 0o777).toBe(0o600);
    expect(stdout).toContain(k1.keyId.replace(/(.{4})(?=.)/g, '$1 '));
    expect(stdout).toContain(file1);
    expect(stdout).not.toContain(toBase64(k1.privateKey));
    const stored = await db.selectFrom('moderation_keys').selectAll().execute();
    expect(stored).toEqual([
      expect.objectContaining({ id: k1.keyId, public_key: toBase64(k1.publicKey), retired_at: null }),
    ]);

    // The running server seals the next report to it, and the file's private key opens it.
    const first = await fileReport(server, db, meetingId, '192.0.3.1', 'sealed to the first key');
    expect(first.report.evidenceKept).toBe(true);
    expect(first.row.sealed_key_id).toBe(k1.keyId);
    expect(await opens(k1, first.row)).toEqual(first.evidence);
    // the database holds the public key only
    const dump = JSON.stringify(await db.selectFrom('moderation_keys').selectAll().execute());
    expect(dump).not.toContain(toBase64(k1.privateKey));

    // Never over an existing file (not even its own), never inside the data dir.
    const again = await cli(['moderation-key', 'create', '--out', file1, '--data-dir', dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists/);
    expect(parseModerationKeyFile(readFileSync(file1, 'utf8')).keyId).toBe(k1.keyId);
    const inside = await cli([
      'moderation-key',
      'create',
      '--out',
      join(dataDir, 'mod.key'),
      '--data-dir',
      dataDir,
    ]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/inside the data dir/);
    const taken = join(keys, 'taken.key');
    writeFileSync(taken, 'something else');
    expect((await cli(['moderation-key', 'create', '--out', taken, '--data-dir', dataDir])).code).toBe(1);
    expect(readFileSync(taken, 'utf8')).toBe('something else');
    expect(await db.selectFrom('moderation_keys').selectAll().execute()).toHaveLength(1);

    // A second key: the first is retired, and its report stays sealed to it.
    const file2 = join(keys, 'moderation-2.key');
    const made = await cli(['moderation-key', 'create', '--out', file2, '--data-dir', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/retired/);
    const k2 = parseModerationKeyFile(readFileSync(file2, 'utf8'));
    const second = await fileReport(server, db, meetingId, '192.0.4.1', 'sealed to the second key');
    expect(second.row.sealed_key_id).toBe(k2.keyId);
    expect(await opens(k2, second.row)).toEqual(second.evidence);
    const firstNow = await db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', first.report.id)
      .executeTakeFirstOrThrow();
    expect(firstNow.sealed_key_id).toBe(k1.keyId);
    await expect(opens(k2, firstNow)).rejects.toMatchObject({ code: 'wrong_key' });
    expect(await opens(k1, firstNow)).toEqual(first.evidence);

    const status = await cli(['moderation-key', 'status', '--json', '--data-dir', dataDir]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      current: { id: k2.keyId, sealedReports: 1 },
      retired: [{ id: k1.keyId, sealedReports: 1 }],
    });
    const text = await cli(['moderation-key', 'status', '--data-dir', dataDir]);
    expect(text.stdout).toMatch(/current key: .*\n.*1 report\(s\)\nretired key: /);

    expect((await cli(['moderation-key', 'create', '--data-dir', dataDir])).code).toBe(2);
    expect((await cli(['moderation-key', 'rotate', '--data-dir', dataDir])).code).toBe(2);
  });
});
