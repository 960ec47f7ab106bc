import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fromBase64, openEvidence, parseModerationKeyFile } from '@conclave/crypto';
import { reportEvidenceSchema, submitReportResponse } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
// The command in-process (each spawn costs about a second); one run goes through the real binary.
import { admin } from '../../../cli/src/commands/admin.js';
import { tempDir } from '../helpers.js';
import { chatEvidence, mlsGroup, startReportsHarness, submit, type ReportsHarness } from './harness.js';

async function adminInProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await admin(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) }, {});
  return { code, stdout, stderr };
}

const CONCLAVE = fileURLToPath(new URL('../../../cli/bin/conclave.mjs', import.meta.url));

describe('conclave admin moderation-key', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function fileReport(h: ReportsHarness, ip: string, message: string) {
    const [a, b] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-a', displayName: 'A' },
      { kind: 'guest', deviceId: 'dev-b', displayName: 'B' },
    ]);
    const meetingId = await h.meeting();
    const { evidence } = await chatEvidence(a!, b!, message);
    const res = await submit(h.client(ip), {
      meetingId,
      reported: { signatureKey: a!.key, displayName: 'A' },
      evidence,
    });
    expect(res.statusCode, res.body).toBe(201);
    const { report } = submitReportResponse.parse(res.json());
    const row = await h.db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', report.id)
      .executeTakeFirstOrThrow();
    return { report, row, evidence };
  }

  it('creates a key file (0600, never overwritten, never in the data dir) the running server seals to; a new key retires the old one', async () => {
    const h = await startReportsHarness();
    cleanups.push(() => h.close());
    const keys = tempDir('conclave-moderation-keys-');
    cleanups.push(keys.remove);
    const file1 = join(keys.path, 'moderation-1.key');

    const none = await adminInProcess(['moderation-key', 'status', '--data-dir', h.dataDir]);
    expect(none).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no moderation key/) });

    // the real binary, against the running server's data dir
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CONCLAVE, 'admin', 'moderation-key', 'create', '--out', file1, '--data-dir', h.dataDir],
      { timeout: 30_000 },
    );
    const k1 = parseModerationKeyFile(readFileSync(file1, 'utf8'));
    expect(statSync(file1).mode & 0o777).toBe(0o600);
    expect(stdout).toContain(k1.keyId.replace(/(.{4})(?=.)/g, '$1 '));
    expect(stdout).toContain(file1);
    expect(stdout).not.toContain(Buffer.from(k1.privateKey).toString('base64'));
    const stored = await h.db.selectFrom('moderation_keys').selectAll().execute();
    expect(stored).toEqual([
      expect.objectContaining({
        id: k1.keyId,
        public_key: Buffer.from(k1.publicKey).toString('base64'),
        retired_at: null,
      }),
    ]);
    // the database holds the public key only
    expect(JSON.stringify(stored)).not.toContain(Buffer.from(k1.privateKey).toString('base64'));

    // The running server seals the next report to it, and the file's private key opens it.
    const first = await fileReport(h, '192.0.2.1', 'sealed to the first key');
    expect(first.report.evidenceKept).toBe(true);
    expect(first.row.sealed_key_id).toBe(k1.keyId);
    const opened = await openEvidence(
      k1.privateKey,
      fromBase64(first.row.sealed_evidence!),
      new TextEncoder().encode(first.report.id),
    );
    expect(reportEvidenceSchema.parse(JSON.parse(new TextDecoder().decode(opened)))).toEqual(first.evidence);

    // Never over an existing file (not even its own), never inside the data dir.
    const again = await adminInProcess(['moderation-key', 'create', '--out', file1, '--data-dir', h.dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists/);
    expect(parseModerationKeyFile(readFileSync(file1, 'utf8')).keyId).toBe(k1.keyId);
    const inside = await adminInProcess([
      'moderation-key',
      'create',
      '--out',
      join(h.dataDir, 'moderation.key'),
      '--data-dir',
      h.dataDir,
    ]);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/inside the data dir/);
    const unrelated = join(keys.path, 'taken.key');
    writeFileSync(unrelated, 'something else');
    expect(
      (await adminInProcess(['moderation-key', 'create', '--out', unrelated, '--data-dir', h.dataDir])).code,
    ).toBe(1);
    expect(readFileSync(unrelated, 'utf8')).toBe('something else');
    expect(await h.db.selectFrom('moderation_keys').selectAll().execute()).toHaveLength(1);

    // A second key: the first is retired, its report stays sealed to it.
    h.clock.advance(1000);
    const file2 = join(keys.path, 'moderation-2.key');
    const made = await adminInProcess(['moderation-key', 'create', '--out', file2, '--data-dir', h.dataDir]);
    expect(made.code, made.stderr).toBe(0);
    const k2 = parseModerationKeyFile(readFileSync(file2, 'utf8'));
    expect(made.stdout).toMatch(/retired/);
    const second = await fileReport(h, '192.0.2.2', 'sealed to the second key');
    expect(second.row.sealed_key_id).toBe(k2.keyId);
    const firstNow = await h.db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', first.report.id)
      .executeTakeFirstOrThrow();
    expect(firstNow.sealed_key_id).toBe(k1.keyId);
    await expect(
      openEvidence(
        k2.privateKey,
        fromBase64(firstNow.sealed_evidence!),
        new TextEncoder().encode(first.report.id),
      ),
    ).rejects.toMatchObject({ code: 'wrong_key' });
    expect(
      await openEvidence(
        k2.privateKey,
        fromBase64(second.row.sealed_evidence!),
        new TextEncoder().encode(second.report.id),
      ),
    ).toBeInstanceOf(Uint8Array);

    const status = await adminInProcess(['moderation-key', 'status', '--json', '--data-dir', h.dataDir]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      current: { id: k2.keyId, sealedReports: 1 },
      retired: [{ id: k1.keyId, sealedReports: 1 }],
    });
    const text = await adminInProcess(['moderation-key', 'status', '--data-dir', h.dataDir]);
    expect(text.stdout).toMatch(/current key: .*\n.*1 report\(s\)\nretired key: /);

    expect((await adminInProcess(['moderation-key', 'create', '--data-dir', h.dataDir])).code).toBe(2);
    expect((await adminInProcess(['moderation-key', 'rotate', '--data-dir', h.dataDir])).code).toBe(2);
  });
});
