import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBase64, openEvidence, toBase64 } from '@conclave/crypto';
import { reportEvidenceSchema, reportVerificationSchema, submitReportResponse } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { countOpenReports } from '../../src/index.js';
import { expectError } from '../accounts/harness.js';
import { tempDir } from '../helpers.js';
import {
  chatEvidence,
  mlsGroup,
  registerDevice,
  startReportsHarness,
  submit,
  type ReportsHarness,
} from './harness.js';

/** Every file of a directory (the database and its WAL), as bytes. */
function filesOf(dir: string): Buffer[] {
  return readdirSync(dir).map((name) => readFileSync(join(dir, name)));
}

function holds(files: Buffer[], needle: Uint8Array | string): boolean {
  const n = typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle);
  return files.some((f) => f.includes(n));
}

describe('Report a User: submission', () => {
  let h: ReportsHarness;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function start(settings: Parameters<typeof startReportsHarness>[0] = {}) {
    h = await startReportsHarness(settings);
    cleanups.push(() => h.close());
    return h;
  }

  it("a member's signed chat message, reported by an account: verified as the account's device key, sealed at rest", async () => {
    await start();
    const key = await h.moderationKey();
    const bobClient = h.client('203.0.113.10');
    const bob = await bobClient.signup('bob@example.org');
    const carolClient = h.client('198.51.100.20');
    const carol = await carolClient.signup('carol@example.org');
    const [alice, b, c] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-alice', displayName: 'Alice' },
      { kind: 'user', userId: bob.id, deviceId: 'dev-bob', displayName: 'Bob' },
      { kind: 'user', userId: carol.id, deviceId: 'dev-carol', displayName: 'Carol' },
    ]);
    await registerDevice(bobClient, b!);
    await registerDevice(carolClient, c!);
    void alice;
    const meetingId = await h.meeting();
    const secret = 'you will regret coming here tonight';
    const { evidence, framedContent, signature } = await chatEvidence(b!, c!, secret);

    const res = await submit(carolClient, {
      meetingId,
      reported: { signatureKey: b!.key, displayName: 'Bob' },
      text: 'he threatened me',
      evidence,
    });
    expect(res.statusCode, res.body).toBe(201);
    const { report } = submitReportResponse.parse(res.json());
    expect(report).toMatchObject({
      status: 'open',
      evidenceKept: true,
      verification: {
        chat: [
          {
            verdict: 'account_key',
            text: secret,
            senderName: 'Bob',
            sentAt: Date.UTC(2030, 0, 1, 12),
          },
        ],
        screenshots: 0,
        signerAccountId: bob.id,
      },
    });

    const row = await h.db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', report.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      meeting_id: meetingId,
      reporter_user_id: carol.id,
      reporter_network: '198.51.100.0/24',
      reported_user_id: bob.id,
      reported_guest_key: null,
      reported_name: 'Bob',
      sealed_key_id: key.id,
      evidence_expires_at: new Date(h.clock.now() + 90 * 86_400_000).toISOString(),
    });
    // The verdicts in clear, without the signed text (that is evidence).
    const stored = reportVerificationSchema.parse(JSON.parse(row.verification));
    expect(stored.chat).toEqual([
      {
        verdict: 'account_key',
        detail: "signed by this account's registered device key",
        sentAt: Date.UTC(2030, 0, 1, 12),
        senderName: 'Bob',
      },
    ]);

    // A copy of the data dir holds neither the text nor any bytes of the evidence in clear.
    const copy = tempDir('conclave-reports-copy-');
    cleanups.push(copy.remove);
    cpSync(h.dataDir, copy.path, { recursive: true });
    const files = filesOf(copy.path);
    expect(holds(files, 'he threatened me')).toBe(true); // the reporter's own words are not evidence
    for (const needle of [
      secret,
      'regret coming',
      toBase64(framedContent),
      toBase64(signature),
      evidence.proofs[0]!.ratchetTree,
      evidence.proofs[0]!.groupContext,
      framedContent.subarray(0, 48),
      signature,
    ]) {
      expect(holds(files, needle), String(needle).slice(0, 40)).toBe(false);
    }

    // The moderators' private key opens it: exactly the evidence sent.
    const opened = await openEvidence(
      key.privateKey,
      fromBase64(row.sealed_evidence!),
      new TextEncoder().encode(report.id),
    );
    expect(reportEvidenceSchema.parse(JSON.parse(new TextDecoder().decode(opened)))).toEqual(evidence);
    // ... and only for this report id.
    await expect(
      openEvidence(key.privateKey, fromBase64(row.sealed_evidence!), new TextEncoder().encode('other')),
    ).rejects.toMatchObject({ code: 'wrong_key' });

    // The verified report feeds the risk engine.
    expect(await countOpenReports(h.db, bob.id)).toBe(1);
  });

  it("a guest's message reported by a guest: 'guest_key'; the reported guest is kept by its key", async () => {
    await start();
    await h.moderationKey();
    const [mallory, dora] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-mallory', displayName: 'Mallory' },
      { kind: 'guest', deviceId: 'dev-dora', displayName: 'Dora' },
    ]);
    const meetingId = await h.meeting();
    const { evidence } = await chatEvidence(mallory!, dora!, 'spam spam spam');
    const guest = h.client('192.0.2.44');
    const res = await submit(guest, {
      meetingId,
      reported: { signatureKey: mallory!.key, displayName: 'Mallory' },
      reason: 'spam',
      evidence,
    });
    expect(res.statusCode, res.body).toBe(201);
    const { report } = submitReportResponse.parse(res.json());
    expect(report.verification.chat).toMatchObject([{ verdict: 'guest_key', senderName: 'Mallory' }]);
    expect(report.verification.signerAccountId).toBeUndefined();
    const row = await h.db.selectFrom('reports').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      reporter_user_id: null,
      reporter_network: '192.0.2.0/24',
      reported_user_id: null,
      reported_guest_key: mallory!.key,
      reason: 'spam',
    });
  });

  it('an edited text, another member’s message, a broken proof and a guest credential with an account key: does not verify', async () => {
    await start();
    const bobClient = h.client('203.0.113.10');
    const bob = await bobClient.signup('bob@example.org');
    const [alice, b, c] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-alice', displayName: 'Alice' },
      { kind: 'user', userId: bob.id, deviceId: 'dev-bob', displayName: 'Bob' },
      { kind: 'guest', deviceId: 'dev-carol', displayName: 'Carol' },
    ]);
    await registerDevice(bobClient, b!);
    const meetingId = await h.meeting();
    const reporter = h.client('192.0.2.60');

    const honest = await chatEvidence(b!, c!, 'see you tomorrow');
    // The reporter changes one letter of the text inside the signed content.
    const edited = Buffer.from(honest.framedContent);
    const at = edited.indexOf(Buffer.from('tomorrow'));
    expect(at).toBeGreaterThan(0);
    edited[at] = 'T'.charCodeAt(0);
    // Alice wrote this one, the report says Bob.
    const alices = await chatEvidence(alice!, c!, 'something Alice said');
    const brokenProof = {
      ...honest.evidence.proofs[0]!,
      ratchetTree: toBase64(fromBase64(honest.evidence.proofs[0]!.ratchetTree).subarray(0, 40)),
    };

    const res = await submit(reporter, {
      meetingId,
      reported: { signatureKey: b!.key, displayName: 'Bob' },
      evidence: {
        proofs: [honest.evidence.proofs[0], alices.evidence.proofs[0], brokenProof],
        chat: [
          {
            kind: 'mls_chat',
            proof: 0,
            framedContent: toBase64(edited),
            signature: toBase64(honest.signature),
          },
          {
            kind: 'mls_chat',
            proof: 1,
            framedContent: toBase64(alices.framedContent),
            signature: toBase64(alices.signature),
          },
          {
            kind: 'mls_chat',
            proof: 2,
            framedContent: toBase64(honest.framedContent),
            signature: toBase64(honest.signature),
          },
          // Alice's signature on Bob's content: the wrong signer for this content.
          {
            kind: 'mls_chat',
            proof: 0,
            framedContent: toBase64(honest.framedContent),
            signature: toBase64(alices.signature),
          },
          { kind: 'mls_chat', proof: 0, framedContent: 'AAAA', signature: 'AAAA' },
          // The honest one still verifies beside them.
          {
            kind: 'mls_chat',
            proof: 0,
            framedContent: toBase64(honest.framedContent),
            signature: toBase64(honest.signature),
          },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const chat = submitReportResponse.parse(res.json()).report.verification.chat;
    expect(chat.map((v) => v.verdict)).toEqual([
      'does_not_verify',
      'does_not_verify',
      'does_not_verify',
      'does_not_verify',
      'does_not_verify',
      'account_key',
    ]);
    expect(chat[0]!.detail).toMatch(/signature/);
    expect(chat[0]!.text).toBeUndefined();
    expect(chat[1]!.detail).toMatch(/another member/);
    expect(chat[2]!.detail).toMatch(/membership proof/);
    expect(chat[3]!.detail).toMatch(/signature/);
    expect(chat[4]!.detail).toMatch(/cannot be decoded/);
    expect(chat[5]!.text).toBe('see you tomorrow');

    // A guest credential whose key an account registered is not a guest key.
    const [m, d] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-m', displayName: 'Mal' },
      { kind: 'guest', deviceId: 'dev-d', displayName: 'Dee' },
    ]);
    const other = h.client('203.0.113.77');
    await other.signup('other@example.org');
    await registerDevice(other, m!);
    const posed = await chatEvidence(m!, d!, 'posing as a guest');
    const res2 = await submit(h.client('192.0.2.61'), {
      meetingId,
      reported: { signatureKey: m!.key, displayName: 'Mal' },
      evidence: posed.evidence,
    });
    expect(res2.statusCode, res2.body).toBe(201);
    expect(submitReportResponse.parse(res2.json()).report.verification.chat).toMatchObject([
      { verdict: 'does_not_verify', detail: expect.stringMatching(/registered to an account/) },
    ]);
  });

  it('without a moderation key the verdicts are kept and the evidence is not (the answer says so)', async () => {
    await start();
    const [x, y] = await mlsGroup([
      { kind: 'guest', deviceId: 'dev-x', displayName: 'X' },
      { kind: 'guest', deviceId: 'dev-y', displayName: 'Y' },
    ]);
    const meetingId = await h.meeting();
    const { evidence } = await chatEvidence(x!, y!, 'nobody keeps this');
    const res = await submit(h.client(), {
      meetingId,
      reported: { signatureKey: x!.key, displayName: 'X' },
      evidence,
    });
    expect(res.statusCode, res.body).toBe(201);
    const { report } = submitReportResponse.parse(res.json());
    expect(report.evidenceKept).toBe(false);
    expect(report.verification.chat[0]!.verdict).toBe('guest_key');
    const row = await h.db.selectFrom('reports').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ sealed_evidence: null, sealed_key_id: null, evidence_expires_at: null });
    expect(JSON.parse(row.verification)).toMatchObject({ chat: [{ verdict: 'guest_key' }] });
  });

  it('resolves the reported account from the live meeting (its signed-in connection) and from resume records', async () => {
    await start();
    const dan = await h.client('203.0.113.30').signup('dan@example.org');
    const meetingId = await h.meeting('standard');
    h.live.push({ meetingId, participantId: 'participant-dan', userId: dan.id, signatureKey: undefined });
    const reporter = h.client('192.0.2.90');
    const res = await submit(reporter, {
      meetingId,
      reported: { participantId: 'participant-dan', displayName: 'Dan' },
      reason: 'hate',
    });
    expect(res.statusCode, res.body).toBe(201);
    // A report without verified evidence names the account but does not feed the risk engine.
    expect(await countOpenReports(h.db, dan.id)).toBe(0);
    // The same participant id in another meeting is nobody.
    const elsewhere = await h.meeting('standard');
    expect(
      (
        await submit(reporter, {
          meetingId: elsewhere,
          reported: { participantId: 'participant-dan', displayName: 'Dan' },
        })
      ).statusCode,
    ).toBe(201);
    // A participant that dropped moments ago is in the resume records.
    const eve = await h.client('203.0.113.31').signup('eve@example.org');
    await h.db
      .insertInto('resume_tokens')
      .values({
        token_hash: 'x'.repeat(64),
        meeting_id: meetingId,
        participant_id: 'participant-eve',
        state: 'joined',
        role: 'participant',
        device_id: 'dev-eve',
        user_id: eve.id,
        signature_key: null,
        display_name: 'Eve',
        expires_at: new Date(h.clock.now() + 60_000).toISOString(),
      })
      .execute();
    expect(
      (
        await submit(reporter, {
          meetingId,
          reported: { participantId: 'participant-eve', displayName: 'Eve' },
        })
      ).statusCode,
    ).toBe(201);
    const rows = await h.db
      .selectFrom('reports')
      .select(['meeting_id', 'reported_user_id'])
      .orderBy('created_at')
      .execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        { meeting_id: meetingId, reported_user_id: dan.id },
        { meeting_id: elsewhere, reported_user_id: null },
        { meeting_id: meetingId, reported_user_id: eve.id },
      ]),
    );
  });

  it('refuses a report against yourself, a duplicate while it is open, an unknown meeting and a missing CSRF header', async () => {
    await start();
    const carolClient = h.client('198.51.100.20');
    const carol = await carolClient.signup('carol@example.org');
    const [c, z] = await mlsGroup([
      { kind: 'user', userId: carol.id, deviceId: 'dev-carol', displayName: 'Carol' },
      { kind: 'guest', deviceId: 'dev-z', displayName: 'Zed' },
    ]);
    await registerDevice(carolClient, c!);
    const meetingId = await h.meeting();
    // by her own key, and by her own live participant
    expectError(
      await submit(carolClient, { meetingId, reported: { signatureKey: c!.key, displayName: 'Carol' } }),
      400,
      'report_self',
    );
    h.live.push({ meetingId, participantId: 'participant-carol', userId: carol.id, signatureKey: undefined });
    expectError(
      await submit(carolClient, {
        meetingId,
        reported: { participantId: 'participant-carol', displayName: 'Me' },
      }),
      400,
      'report_self',
    );

    const first = await submit(carolClient, {
      meetingId,
      reported: { signatureKey: z!.key, displayName: 'Zed' },
    });
    expect(first.statusCode, first.body).toBe(201);
    expectError(
      await submit(carolClient, {
        meetingId,
        reported: { signatureKey: z!.key, displayName: 'Zed again' },
        reason: 'spam',
      }),
      409,
      'report_duplicate',
    );
    // Another reporter may; so may Carol in another meeting, and again once the report is decided.
    expect(
      (
        await submit(h.client('192.0.2.5'), {
          meetingId,
          reported: { signatureKey: z!.key, displayName: 'Zed' },
        })
      ).statusCode,
    ).toBe(201);
    const other = await h.meeting();
    expect(
      (
        await submit(carolClient, {
          meetingId: other,
          reported: { signatureKey: z!.key, displayName: 'Zed' },
        })
      ).statusCode,
    ).toBe(201);
    await h.db
      .updateTable('reports')
      .set({
        status: 'dismissed',
        decided_at: new Date(h.clock.now()).toISOString(),
        outcome: 'no action was taken',
      })
      .where('id', '=', submitReportResponse.parse(first.json()).report.id)
      .execute();
    expect(
      (await submit(carolClient, { meetingId, reported: { signatureKey: z!.key, displayName: 'Zed' } }))
        .statusCode,
    ).toBe(201);

    expectError(
      await submit(carolClient, {
        meetingId: 'nosuchmeeting',
        reported: { signatureKey: z!.key, displayName: 'Zed' },
      }),
      404,
      'unknown_meeting',
    );
    expectError(
      await submit(carolClient, { meetingId, reported: { signatureKey: z!.key, displayName: 'Zed' } }, false),
      403,
      'csrf_failed',
    );
    expectError(
      await submit(carolClient, { meetingId, reported: { displayName: 'Nobody' } }),
      400,
      'bad_request',
    );
    expectError(
      await submit(carolClient, {
        meetingId,
        reported: { signatureKey: z!.key, displayName: 'Zed' },
        reason: 'boredom',
      }),
      400,
      'bad_request',
    );
  });

  it('GET /api/reports/mine: the account’s reports with their outcome once decided; signed out: 401', async () => {
    await start();
    const c = h.client('198.51.100.20');
    await c.signup('carol@example.org');
    const meetingId = await h.meeting('standard');
    h.live.push({ meetingId, participantId: 'part-one', userId: undefined, signatureKey: undefined });
    h.live.push({ meetingId, participantId: 'part-two', userId: undefined, signatureKey: undefined });
    const r1 = await submit(c, { meetingId, reported: { participantId: 'part-one', displayName: 'One' } });
    h.clock.advance(1000);
    const r2 = await submit(c, {
      meetingId,
      reported: { participantId: 'part-two', displayName: 'Two' },
      reason: 'spam',
    });
    const id1 = submitReportResponse.parse(r1.json()).report.id;
    const id2 = submitReportResponse.parse(r2.json()).report.id;
    await h.db
      .updateTable('reports')
      .set({
        status: 'actioned',
        outcome: 'the account was suspended',
        decided_at: new Date(h.clock.now()).toISOString(),
      })
      .where('id', '=', id1)
      .execute();
    const mine = await c.get('/api/reports/mine');
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toEqual({
      v: 1,
      reports: [
        {
          id: id2,
          meetingId,
          reportedName: 'Two',
          reason: 'spam',
          createdAt: new Date(h.clock.now()).toISOString(),
          status: 'open',
        },
        {
          id: id1,
          meetingId,
          reportedName: 'One',
          reason: 'harassment',
          createdAt: new Date(h.clock.now() - 1000).toISOString(),
          status: 'actioned',
          outcome: 'the account was suspended',
        },
      ],
    });
    expect((await h.client('192.0.2.1').get('/api/reports/mine')).statusCode).toBe(401);
  });

  it('a body over MAX_REPORT_BYTES: 413 with our error body; other routes keep the 64 KiB limit', async () => {
    await start();
    const meetingId = await h.meeting();
    const big = 'A'.repeat(25 * 1024 * 1024);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/reports',
      remoteAddress: '192.0.2.8',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        v: 1,
        meetingId,
        reported: { participantId: 'part-x', displayName: 'x' },
        reason: 'spam',
        evidence: { screenshots: [{ mime: 'image/png', data: big, capturedAt: 1 }] },
      }),
    });
    expectError(res, 413, 'message_too_large');
    expect(res.json().error.message).toMatch(/25165824/);
    // 100 KB is fine here, not on the sign-up route
    const mid = await h.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '192.0.2.8',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ v: 1, email: 'a@example.org', password: 'A'.repeat(100_000) }),
    });
    expectError(mid, 413, 'message_too_large');
    const ok = await submit(h.client('192.0.2.9'), {
      meetingId,
      reported: { participantId: 'part-x', displayName: 'x' },
      text: 'x',
      evidence: { screenshots: [{ mime: 'image/png', data: 'A'.repeat(100_000), capturedAt: 1 }] },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(submitReportResponse.parse(ok.json()).report.verification.screenshots).toBe(1);
  });
});
