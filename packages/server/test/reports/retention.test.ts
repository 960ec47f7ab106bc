import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { submitReportResponse } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { truncateWal } from '../../src/store/database.js';
import { tempDir } from '../helpers.js';
import { chatEvidence, mlsGroup, startReportsHarness, submit, type ReportsHarness } from './harness.js';

const DAY = 86_400_000;

function dirHolds(dir: string, needle: string): boolean {
  const copy = tempDir('conclave-retention-copy-');
  try {
    cpSync(dir, copy.path, { recursive: true });
    return readdirSync(copy.path).some((n) => readFileSync(join(copy.path, n)).includes(Buffer.from(needle)));
  } finally {
    copy.remove();
  }
}

describe('Report a User: evidence retention', () => {
  let h: ReportsHarness;
  afterEach(async () => h.close());

  async function fileReport(days?: number): Promise<string> {
    h = await startReportsHarness(days === undefined ? {} : { reportEvidenceDays: days });
    await h.moderationKey();
    const [a, b] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-a', displayName: 'A' },
      { kind: 'guest', deviceId: 'dev-b', displayName: 'B' },
    ]);
    const meetingId = await h.meeting();
    const { evidence } = await chatEvidence(a!, b!, 'kept for a while');
    const res = await submit(h.client(), {
      meetingId,
      reported: { signatureKey: a!.key, displayName: 'A' },
      evidence,
    });
    expect(res.statusCode, res.body).toBe(201);
    return submitReportResponse.parse(res.json()).report.id;
  }

  it('deletes sealed evidence when reportEvidenceDays have passed, keeps the verdicts, and logs it', async () => {
    const id = await fileReport(30);
    const row = () => h.db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const sealed = (await row()).sealed_evidence!;
    expect((await row()).evidence_expires_at).toBe(new Date(h.clock.now() + 30 * DAY).toISOString());

    h.clock.advance(30 * DAY - 1);
    expect(await h.reports.sweepExpired()).toBe(0);
    expect((await row()).sealed_evidence).toBe(sealed);

    h.clock.advance(1);
    expect(await h.reports.sweepExpired()).toBe(1);
    const after = await row();
    expect(after).toMatchObject({ sealed_evidence: null, sealed_key_id: null, status: 'open' });
    expect(JSON.parse(after.verification)).toMatchObject({ chat: [{ verdict: 'guest_key' }] });
    const log = await h.db.selectFrom('moderation_log').selectAll().execute();
    expect(log).toEqual([
      expect.objectContaining({
        actor: 'server',
        action: 'evidence_expired',
        report_id: id,
        at: new Date(h.clock.now()).toISOString(),
      }),
    ]);
    expect(await h.reports.sweepExpired()).toBe(0);
    // secure_delete and the WAL truncated: the box is in no file of the data dir any more
    expect(await truncateWal(h.db)).toBe(true);
    expect(dirHolds(h.dataDir, sealed.slice(0, 64))).toBe(false);
  });

  it('the sweep runs on its own once started, and stops on close', async () => {
    const id = await fileReport();
    h.clock.advance(90 * DAY);
    h.reports.startSweeping(20);
    const t0 = Date.now();
    for (;;) {
      const r = await h.db
        .selectFrom('reports')
        .select('sealed_evidence')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (r.sealed_evidence === null) break;
      if (Date.now() - t0 > 5000) throw new Error('the sweep did not run');
      await new Promise((r) => setTimeout(r, 20));
    }
    h.reports.close();
    // a later report that expires is not swept after close
    const [a, b] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-c', displayName: 'C' },
      { kind: 'guest', deviceId: 'dev-d', displayName: 'D' },
    ]);
    const meetingId = await h.meeting();
    const res = await submit(h.client('192.0.2.77'), {
      meetingId,
      reported: { signatureKey: a!.key, displayName: 'C' },
      evidence: (await chatEvidence(a!, b!, 'later')).evidence,
    });
    const later = submitReportResponse.parse(res.json()).report.id;
    h.clock.advance(91 * DAY);
    await new Promise((r) => setTimeout(r, 100));
    const r = await h.db
      .selectFrom('reports')
      .select('sealed_evidence')
      .where('id', '=', later)
      .executeTakeFirstOrThrow();
    expect(r.sealed_evidence).not.toBeNull();
  });
});
