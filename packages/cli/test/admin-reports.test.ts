import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountApi, ConclaveClient } from '@conclave/client';
import { accountClientOptions, nodeWebSocket } from '@conclave/client/node';
import {
  encodeModerationKeyFile,
  generateModerationKeyPair,
  MlsDevice,
  MlsSession,
  moderationKeyId,
  sealEvidence,
  toBase64,
} from '@conclave/crypto';
import type { ReportEvidence, ReportVerification } from '@conclave/protocol';
import {
  adminSetPlan,
  createDatabase,
  loadConfig,
  migrateToLatest,
  startConclave,
  type ConclaveServer,
  type Db,
} from '@conclave/server';
import { afterEach, describe, expect, it } from 'vitest';
import { admin } from '../src/commands/admin.js';

/** `conclave admin …` in this process, with what it prints. */
async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await admin(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) }, {});
  return { code, stdout, stderr };
}

const enc = new TextEncoder();

async function user(db: Db, id: string, email: string): Promise<void> {
  await db
    .insertInto('users')
    .values({
      id,
      email,
      password_hash: 'not-a-hash',
      display_name: email.split('@')[0]!,
      plan: 'free',
      role: 'user',
      phone_verified: 1,
      totp_secret: null,
      totp_pending_secret: null,
      totp_last_step: null,
      created_at: '2030-01-01T00:00:00.000Z',
      status: 'active',
      suspended_until: null,
    })
    .execute();
}

async function report(
  db: Db,
  id: string,
  fields: Partial<{
    status: 'open' | 'dismissed' | 'actioned';
    reported_user_id: string | null;
    reporter_user_id: string | null;
    reported_guest_key: string | null;
    meeting_id: string;
    created_at: string;
    sealed_evidence: string | null;
    sealed_key_id: string | null;
    evidence_expires_at: string | null;
    verification: ReportVerification;
  }> = {},
): Promise<void> {
  const { verification, ...rest } = fields;
  await db
    .insertInto('reports')
    .values({
      id,
      meeting_id: 'meetingAAAA1',
      status: 'open',
      reason: 'harassment',
      text: 'insults in the chat',
      reporter_user_id: null,
      reporter_network: '198.51.100.0/24',
      reported_user_id: null,
      reported_guest_key: null,
      reported_name: 'Bad',
      sealed_evidence: null,
      sealed_key_id: null,
      evidence_expires_at: null,
      created_at: '2030-01-02T00:00:00.000Z',
      decided_at: null,
      outcome: null,
      ...rest,
      verification: JSON.stringify(verification ?? { chat: [], screenshots: 0 }),
    })
    .execute();
}

/**
 * A real E2EE chat message of `bad` (an account whose device key is in the directory) received
 * by a reporter, and the same message with its signature changed: the evidence a report sends.
 */
async function chatEvidence(db: Db, badId: string): Promise<ReportEvidence> {
  const badDevice = await MlsDevice.create({
    kind: 'user',
    userId: badId,
    deviceId: 'bad-device',
    displayName: 'Bad',
  });
  await db
    .insertInto('device_keys')
    .values({
      user_id: badId,
      device_id: 'bad-device',
      public_key: toBase64(badDevice.signatureKeys.publicKey),
      created_at: '2030-01-01T00:00:00.000Z',
    })
    .execute();
  const reporterDevice = await MlsDevice.create({
    kind: 'guest',
    deviceId: 'rep-device',
    displayName: 'Rep',
  });
  const bad = await MlsSession.create(badDevice, {
    groupId: enc.encode('cli-evidence-group'),
    roles: { hosts: [toBase64(badDevice.signatureKeys.publicKey)], cohosts: [] },
  });
  const pending = await bad.prepareCommit({ add: [await reporterDevice.createKeyPackage()] });
  bad.applyCommit(pending);
  const reporter = await MlsSession.join(reporterDevice, pending.welcome!);
  const payload = enc.encode(
    JSON.stringify({ kind: 'chat', text: 'you are worthless', sentAt: 1_893_456_000_000 }),
  );
  const m = await reporter.decryptApplication(await bad.encryptApplication(payload));
  const proof = reporter.membershipProof(m.epoch)!;
  const forged = m.evidence.signature.slice();
  forged[3]! ^= 1;
  return {
    proofs: [{ groupContext: toBase64(proof.groupContext), ratchetTree: toBase64(proof.ratchetTree) }],
    chat: [
      {
        kind: 'mls_chat',
        proof: 0,
        framedContent: toBase64(m.evidence.framedContent),
        signature: toBase64(m.evidence.signature),
      },
      {
        kind: 'mls_chat',
        proof: 0,
        framedContent: toBase64(m.evidence.framedContent),
        signature: toBase64(forged),
      },
    ],
    screenshots: [
      {
        mime: 'image/png',
        data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk',
        capturedAt: 1_893_456_001_000,
      },
    ],
  };
}

describe('conclave admin reports and moderation-log', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function tempDir(): string {
    const path = mkdtempSync(join(tmpdir(), 'conclave-cli-reports-'));
    cleanups.push(() => rmSync(path, { recursive: true, force: true }));
    return path;
  }

  async function database(dir: string): Promise<Db> {
    const db = createDatabase({ dataDir: dir });
    cleanups.push(() => db.destroy());
    await migrateToLatest(db);
    return db;
  }

  it('lists with filters, shows stored verdicts, opens the evidence with the key file and checks it again', async () => {
    const dir = tempDir();
    const db = await database(dir);
    await user(db, 'badAccount01', 'bad@example.org');
    await user(db, 'reporter0001', 'rep@example.org');
    const evidence = await chatEvidence(db, 'badAccount01');
    const pair = await generateModerationKeyPair();
    const keyId = moderationKeyId(pair.publicKey);
    await db
      .insertInto('moderation_keys')
      .values({
        id: keyId,
        public_key: toBase64(pair.publicKey),
        created_at: '2030-01-01T00:00:00.000Z',
        retired_at: null,
      })
      .execute();
    const box = await sealEvidence(
      pair.publicKey,
      enc.encode(JSON.stringify(evidence)),
      enc.encode('reportSealed'),
    );
    const stored: ReportVerification = {
      chat: [
        {
          verdict: 'account_key',
          detail: 'ok',
          text: 'you are worthless',
          sentAt: 1_893_456_000_000,
          senderName: 'Bad',
        },
        { verdict: 'does_not_verify', detail: 'the signature does not verify' },
      ],
      screenshots: 1,
      signerAccountId: 'badAccount01',
    };
    await report(db, 'reportSealed', {
      reported_user_id: 'badAccount01',
      reporter_user_id: 'reporter0001',
      sealed_evidence: toBase64(box),
      sealed_key_id: keyId,
      evidence_expires_at: '2030-04-01T00:00:00.000Z',
      created_at: '2030-01-03T00:00:00.000Z',
      verification: stored,
    });
    await report(db, 'reportGuest1', {
      reported_guest_key: 'R3Vlc3RLZXlHdWVzdEtleUd1ZXN0S2V5R3Vlc3RLZXk=',
      status: 'dismissed',
      meeting_id: 'meetingBBBB2',
    });
    const keyFile = join(dir, '..', `moderation-key-${keyId}.json`);
    writeFileSync(keyFile, encodeModerationKeyFile(pair, '2030-01-01T00:00:00.000Z'), { mode: 0o600 });
    cleanups.push(() => rmSync(keyFile, { force: true }));

    const list = await cli(['reports', 'list', '--data-dir', dir]);
    expect(list, list.stderr).toMatchObject({ code: 0 });
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^reportSealed\s+2030-01-03 00:00\s+open\s+harassment\s+bad@example.org\s+meetingAAAA1\s+1 chat message: signed by this account's registered device key; 1 chat message: does not verify; 1 screenshot: unverified$/,
    );
    expect(lines[2]).toMatch(
      /^reportGuest1 .* dismissed .* guest key R3Vlc3RLZXlH… .* no evidence attached$/,
    );
    const open = await cli(['reports', 'list', '--status', 'open', '--json', '--data-dir', dir]);
    expect((JSON.parse(open.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['reportSealed']);
    const byAccount = await cli([
      'reports',
      'list',
      '--account',
      'BAD@example.org',
      '--json',
      '--data-dir',
      dir,
    ]);
    expect((JSON.parse(byAccount.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['reportSealed']);
    const byMeeting = await cli([
      'reports',
      'list',
      '--meeting',
      'meetingBBBB2',
      '--json',
      '--data-dir',
      dir,
    ]);
    expect((JSON.parse(byMeeting.stdout) as { id: string }[]).map((r) => r.id)).toEqual(['reportGuest1']);
    expect((await cli(['reports', 'list', '--status', 'closed', '--data-dir', dir])).code).toBe(2);

    const shown = await cli(['reports', 'show', 'reportSealed', '--data-dir', dir]);
    expect(shown, shown.stderr).toMatchObject({ code: 0 });
    expect(shown.stdout).toContain('verdicts on arrival:');
    expect(shown.stdout).toContain("chat 1: signed by this account's registered device key — ok");
    expect(shown.stdout).toContain('(open it with --key FILE)');
    expect(shown.stdout).not.toContain('evidence opened');
    expect(await db.selectFrom('moderation_log').selectAll().execute()).toEqual([]);

    const opened = await cli(['reports', 'show', 'reportSealed', '--key', keyFile, '--data-dir', dir]);
    expect(opened, opened.stderr).toMatchObject({ code: 0 });
    const after = opened.stdout.slice(opened.stdout.indexOf('evidence opened with the key file'));
    expect(after).toContain("chat 1: signed by this account's registered device key");
    expect(after).toContain('Bad at 2030-01-01T00:00:00.000Z: you are worthless');
    expect(after).toMatch(/chat 2: does not verify — .*signature/);
    expect(after).toMatch(/screenshot image\/png, 0 KiB, taken .*: unverified/);
    expect(await db.selectFrom('moderation_log').select(['actor', 'action', 'report_id']).execute()).toEqual([
      { actor: 'cli', action: 'evidence_opened', report_id: 'reportSealed' },
    ]);
    const asJson = JSON.parse(
      (await cli(['reports', 'show', 'reportSealed', '--key', keyFile, '--json', '--data-dir', dir])).stdout,
    ) as {
      report: Record<string, unknown>;
      opened: { verification: ReportVerification };
    };
    expect(asJson.report.sealedEvidence).toBeUndefined();
    expect(asJson.opened.verification.chat.map((c) => c.verdict)).toEqual(['account_key', 'does_not_verify']);

    // Another key does not open it; neither does a report without evidence; unknown ids.
    const other = await generateModerationKeyPair();
    const otherFile = join(dir, 'other-key.json');
    writeFileSync(otherFile, encodeModerationKeyFile(other, '2030-01-01T00:00:00.000Z'));
    const wrong = await cli(['reports', 'show', 'reportSealed', '--key', otherFile, '--data-dir', dir]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`sealed to the moderation key ${keyId}`);
    const none = await cli(['reports', 'show', 'reportGuest1', '--key', keyFile, '--data-dir', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no sealed evidence');
    expect((await cli(['reports', 'show', 'nope', '--data-dir', dir])).code).toBe(1);
    const notAFile = join(dir, 'garbage.json');
    writeFileSync(notAFile, '{"kind":"something else"}');
    expect(
      (await cli(['reports', 'show', 'reportSealed', '--key', notAFile, '--data-dir', dir])).stderr,
    ).toContain('not a Conclave moderation key file');
  });

  it('acts on reports as the console does (actor cli) and prints the audit log', async () => {
    const dir = tempDir();
    const db = await database(dir);
    await user(db, 'badAccount02', 'bad2@example.org');
    await report(db, 'reportAct001', { reported_user_id: 'badAccount02' });
    await report(db, 'reportAct002', { reported_guest_key: 'R3Vlc3RLZXlHdWVzdEtleUd1ZXN0S2V5R3Vlc3RLZXk=' });

    const suspended = await cli([
      'reports',
      'act',
      'reportAct001',
      '--action',
      'suspend',
      '--days',
      '2',
      '--note',
      'calm down',
      '--data-dir',
      dir,
    ]);
    expect(suspended, suspended.stderr).toMatchObject({ code: 0 });
    expect(suspended.stdout).toMatch(
      /^reportAct001: suspend — suspended for 2 days, until .*; note: calm down\nreport actioned; the reporter reads: The moderators suspended the account for 2 days\.\n$/,
    );
    const row = await db
      .selectFrom('users')
      .select(['status', 'suspended_until'])
      .where('id', '=', 'badAccount02')
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('suspended');
    expect(Date.parse(row.suspended_until!) - Date.now()).toBeGreaterThan(2 * 86_400_000 - 60_000);

    expect(
      await cli(['reports', 'act', 'reportAct002', '--action', 'suspend', '--days', '2', '--data-dir', dir]),
    ).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('(bad_request)'),
    });
    expect((await cli(['reports', 'act', 'reportAct002', '--action', 'ban', '--data-dir', dir])).code).toBe(
      0,
    );
    expect(
      (await cli(['reports', 'act', 'nope', '--action', 'dismiss', '--data-dir', dir])).stderr,
    ).toContain('(unknown_report)');
    expect(
      (await cli(['reports', 'act', 'reportAct001', '--action', 'explode', '--data-dir', dir])).code,
    ).toBe(2);
    expect((await cli(['reports', 'act', 'reportAct001', '--data-dir', dir])).code).toBe(2);
    expect(
      (await cli(['reports', 'act', 'reportAct001', '--action', 'suspend', '--days', 'x', '--data-dir', dir]))
        .code,
    ).toBe(2);
    expect((await cli(['reports', 'list', '--action', 'ban', '--data-dir', dir])).code).toBe(2);

    const log = await cli(['moderation-log', '--data-dir', dir]);
    expect(log, log.stderr).toMatchObject({ code: 0 });
    const rows = log.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^time\s+actor\s+action\s+report\s+account\s+detail$/);
    expect(rows[1]).toMatch(
      / cli +ban +reportAct002 +- +banned the guest’s key; 1 key newly banned \(1 in all\)$/,
    );
    expect(rows[2]).toMatch(/ cli +suspend +reportAct001 +badAccount02 +suspended for 2 days/);
    const mine = JSON.parse(
      (await cli(['moderation-log', '--account', 'bad2@example.org', '--json', '--data-dir', dir])).stdout,
    ) as { action: string }[];
    expect(mine.map((e) => e.action)).toEqual(['suspend']);
    expect((await cli(['moderation-log', '--account', 'nobody@example.org', '--data-dir', dir])).code).toBe(
      1,
    );
  });

  it('a running server follows what the CLI decided: the account leaves its meeting, its meetings end', async () => {
    const dir = tempDir();
    const server: ConclaveServer<undefined> = await startConclave(
      loadConfig(['--port', '0', '--data-dir', dir, '--log-level', 'warn'], {}),
      { media: false, webRoot: null, moderationSweepMs: 100 },
    );
    cleanups.push(() => server.close());
    const clients: ConclaveClient[] = [];
    cleanups.push(async () => {
      for (const c of clients) await c.leave().catch(() => undefined);
    });
    const signUp = async (email: string) => {
      const api = new AccountApi({ serverUrl: server.url });
      await api.signUp({ email, password: 'a long enough password', displayName: email.split('@')[0] });
      return { api, id: (await api.me())!.account.id };
    };
    const host = await signUp('host@example.org');
    await adminSetPlan(server.storage.db, 'host@example.org', 'paid');
    const bad = await signUp('bad@example.org');
    const { meeting, hostSecret } = await host.api.createMeeting({ mode: 'e2ee' });
    const join = (name: string, extra: Partial<ConstructorParameters<typeof ConclaveClient>[0]>) => {
      const c = new ConclaveClient({
        serverUrl: server.url,
        meetingId: meeting.id,
        displayName: name,
        webSocket: nodeWebSocket,
        reconnect: false,
        ...extra,
      });
      clients.push(c);
      return c;
    };
    const hostClient = join('Host', { ...(await accountClientOptions(host.api, 'Host')), hostSecret });
    expect(await hostClient.connect()).toBe('joined');
    const badClient = join('Bad', await accountClientOptions(bad.api, 'Bad'));
    expect(await badClient.connect()).toBe('joined');
    const guest = join('Guest', {});
    expect(await guest.connect()).toBe('joined');
    const db = server.storage.db;
    await report(db, 'reportLive01', { reported_user_id: bad.id, meeting_id: meeting.id });
    await report(db, 'reportLive02', { reported_user_id: host.id, meeting_id: meeting.id });

    const waitFor = async (pred: () => boolean, what: string) => {
      const t0 = Date.now();
      while (!pred()) {
        if (Date.now() - t0 > 5_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    expect((await cli(['reports', 'act', 'reportLive01', '--action', 'ban', '--data-dir', dir])).code).toBe(
      0,
    );
    await waitFor(() => badClient.state === 'removed', 'the banned account taken out by the sweep');
    expect(hostClient.state).toBe('joined');
    expect(
      (await cli(['reports', 'act', 'reportLive02', '--action', 'end_meetings', '--data-dir', dir])).code,
    ).toBe(0);
    await waitFor(
      () => hostClient.state === 'ended' && guest.state === 'ended',
      'the meeting ended for everyone',
    );
  });
});
