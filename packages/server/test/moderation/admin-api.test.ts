import {
  accountNoticesResponse,
  adminReportListResponse,
  adminReportResponse,
  meResponse,
  moderationActionResponse,
  moderationKeyResponse,
  moderationLogResponse,
  myReportsResponse,
} from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { bannedKeyHash } from '../../src/index.js';
import { ModerationKeys } from '../../src/reports/moderation-keys.js';
import {
  expectError,
  obtainPhoneToken,
  startHarness,
  type Harness,
  type TestClient,
} from '../accounts/harness.js';
import { insertReport, signedInAdmin } from './fixtures.js';

const DAY = 86_400_000;

/** Every route of the app under /api/admin, as Fastify registered them (HEAD mirrors GET). */
function adminRoutes(h: Harness): { method: string; url: string }[] {
  return h.app.routeTable.filter((r) => r.url.startsWith('/api/admin') && r.method !== 'HEAD');
}

async function act(admin: TestClient, reportId: string, body: Record<string, unknown>) {
  return admin.post(`/api/admin/reports/${reportId}/actions`, body);
}

describe('the moderation API (/api/admin)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('answers 401 signed out and 403 to a signed-in non-admin on every route, the unknown ones included', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const member = h.client('203.0.113.9');
    await member.signup('member@example.org');
    const reportId = await insertReport(h.db, { reported_name: 'X' });
    const routes = adminRoutes(h);
    // The list comes from the running app: a route added later is in it without a change here.
    for (const expected of [
      'GET /api/admin/reports',
      'GET /api/admin/reports/:id',
      'POST /api/admin/reports/:id/actions',
      'GET /api/admin/moderation-log',
      'GET /api/admin/moderation-key',
      'GET /api/admin/*',
      'POST /api/admin/*',
    ])
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(expected);
    const signedOut = h.client('192.0.2.77');
    for (const route of routes) {
      const url = route.url.replace(':id', reportId).replace('*', 'no-such-page');
      const what = `${route.method} ${url}`;
      for (const [who, client, status, code] of [
        ['signed out', signedOut, 401, 'unauthenticated'],
        ['non-admin', member, 403, 'forbidden'],
      ] as const) {
        // With the CSRF header and a valid body: the refusal is the guard's, not CSRF's or the schema's.
        const headers: Record<string, string> = { ...(await client.authHeaders()) };
        if (!headers.cookie) delete headers.cookie;
        const withBody = !['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'].includes(route.method);
        if (withBody) headers['content-type'] = 'application/json';
        const res = await h.app.inject({
          method: route.method as 'GET',
          url,
          remoteAddress: client.ip,
          headers,
          ...(withBody ? { payload: { v: 1, action: 'ban' } } : {}),
        });
        expect(res.statusCode, `${who}: ${what}: ${res.body}`).toBe(status);
        expect((res.json() as { error: { code: string } }).error.code, `${who}: ${what}`).toBe(code);
      }
    }
    // Nothing was done by all those requests.
    expect(await h.db.selectFrom('moderation_log').selectAll().execute()).toEqual([]);
    expect((await h.db.selectFrom('reports').select('status').executeTakeFirstOrThrow()).status).toBe('open');
    expect(
      (
        await h.db
          .selectFrom('users')
          .select('status')
          .where('email', '=', 'member@example.org')
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('active');

    // The admin passes the guard on the same routes.
    expect((await admin.get('/api/admin/reports')).statusCode).toBe(200);
    expect((await admin.get(`/api/admin/reports/${reportId}`)).statusCode).toBe(200);
    expect((await admin.get('/api/admin/moderation-log')).statusCode).toBe(200);
    expect(moderationKeyResponse.parse((await admin.get('/api/admin/moderation-key')).json())).toMatchObject({
      publicKey: null,
      createdAt: null,
    });
    // The current key is the newest not retired (the console matches the key file loaded against it).
    const keys = new ModerationKeys(h.db);
    await keys.add(new Uint8Array(32).fill(1), '2030-01-01T00:00:00.000Z');
    await keys.add(new Uint8Array(32).fill(2), '2030-01-02T00:00:00.000Z');
    expect(moderationKeyResponse.parse((await admin.get('/api/admin/moderation-key')).json())).toMatchObject({
      publicKey: Buffer.from(new Uint8Array(32).fill(2)).toString('base64'),
      createdAt: '2030-01-02T00:00:00.000Z',
    });
    expectError(await admin.get('/api/admin/no-such-page'), 404, 'bad_request');
    // An admin's POST still needs the CSRF header.
    expectError(
      await admin.post(`/api/admin/reports/${reportId}/actions`, { action: 'dismiss' }, false),
      403,
      'csrf_failed',
    );
  });

  it('lists the queue newest first with filters and pages, and shows a report with its history but no phone number', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const bad = h.client('203.0.113.20');
    const { id: badId } = await bad.signup('Bad.Actor@example.org');
    // The account unlocked E2EE with the phone check: the report page says only that it may host E2EE.
    expect(
      (await bad.post('/api/verification/redeem', await obtainPhoneToken(h, '+44 7400 654321'))).statusCode,
    ).toBe(200);
    const reporter = h.client('203.0.113.21');
    const { id: reporterId } = await reporter.signup('witness@example.org');
    const t0 = Date.UTC(2030, 0, 2);
    const old = await insertReport(h.db, {
      reported_user_id: badId,
      reported_name: 'Bad',
      status: 'dismissed',
      created_at: new Date(t0).toISOString(),
      meeting_id: 'meetingOld01',
    });
    const current = await insertReport(h.db, {
      reported_user_id: badId,
      reported_name: 'Bad',
      reporter_user_id: reporterId,
      created_at: new Date(t0 + 60_000).toISOString(),
      meeting_id: 'meetingNew01',
      text: 'threats in chat',
      sealed_evidence: 'c2VhbGVk',
      sealed_key_id: 'k1',
      evidence_expires_at: new Date(t0 + 90 * DAY).toISOString(),
      verification: {
        chat: [
          { verdict: 'account_key', detail: 'ok', text: 'hi', sentAt: 1, senderName: 'Bad' },
          { verdict: 'account_key', detail: 'ok', text: 'threat', sentAt: 2, senderName: 'Bad' },
          { verdict: 'does_not_verify', detail: 'the signature does not verify' },
        ],
        clip: { verdict: 'verified', detail: 'ok', frames: 300, verifiedFrames: 300, durationMs: 10_000 },
        screenshots: 1,
      },
    });
    const guest = await insertReport(h.db, {
      reported_guest_key: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      reported_name: 'Guesty',
      created_at: new Date(t0 + 120_000).toISOString(),
    });

    const list = async (query = '') => {
      const res = await admin.get(`/api/admin/reports${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return adminReportListResponse.parse(res.json()).reports;
    };
    expect((await list()).map((r) => r.id)).toEqual([guest, current, old]);
    expect((await list('?status=open')).map((r) => r.id)).toEqual([guest, current]);
    expect((await list('?account=bad.actor@EXAMPLE.org')).map((r) => r.id)).toEqual([current, old]);
    expect((await list(`?account=${badId}`)).map((r) => r.id)).toEqual([current, old]);
    expect(await list('?account=nobody@example.org')).toEqual([]);
    expect((await list('?meeting=meetingOld01')).map((r) => r.id)).toEqual([old]);
    expect((await list('?limit=1&offset=1')).map((r) => r.id)).toEqual([current]);
    expectError(await admin.get('/api/admin/reports?limit=201'), 400, 'bad_request');
    expectError(await admin.get('/api/admin/reports?status=whatever'), 400, 'bad_request');

    const summary = (await list()).find((r) => r.id === current)!;
    expect(summary).toMatchObject({
      reportedAccount: { id: badId, email: 'bad.actor@example.org', displayName: 'Bad.Actor' },
      reporter: { kind: 'account', displayName: 'witness' },
      verificationSummary: [
        "2 chat messages: signed by this account's registered device key",
        '1 chat message: does not verify',
        'clip of 10.0 s (300/300 frames): verified from this sender',
        '1 screenshot: unverified',
      ],
    });
    expect((await list()).find((r) => r.id === guest)).toMatchObject({
      reporter: { kind: 'guest' },
      reportedGuestKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      verificationSummary: ['no evidence attached'],
    });

    const page = await admin.get(`/api/admin/reports/${current}`);
    expect(page.statusCode, page.body).toBe(200);
    const detail = adminReportResponse.parse(page.json());
    expect(detail.report).toMatchObject({ text: 'threats in chat', sealedEvidence: 'c2VhbGVk' });
    expect(detail.history.reports.map((r) => r.id)).toEqual([old]);
    expect(detail.history.account).toMatchObject({
      status: 'active',
      plan: 'free',
      e2eeEntitled: true,
      openReports: 1,
    });
    expect(detail.history.account!.recentAuthEvents.map((e) => e.action)).toContain('signin');
    // Nothing of the number: neither its digits nor any field about phones.
    expect(page.body).not.toMatch(/7400|654321|phone/i);
    // Handing out the sealed evidence is in the audit log.
    const log = moderationLogResponse.parse((await admin.get('/api/admin/moderation-log')).json()).entries;
    expect(log).toMatchObject([
      { action: 'evidence_opened', actor: 'mod@example.org', reportId: current, accountId: badId },
    ]);
    expectError(await admin.get('/api/admin/reports/no-such-report'), 404, 'unknown_report');
  });

  it('suspends an account: sign-in refused with the code and end date, sessions and hosting refused, back after the end date', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const bad = h.client('203.0.113.30');
    const { id: badId } = await bad.signup('suspend-me@example.org');
    const made = await bad.post('/api/meetings', { mode: 'standard' });
    expect(made.statusCode, made.body).toBe(201);
    const reportId = await insertReport(h.db, { reported_user_id: badId });

    expectError(await act(admin, reportId, { action: 'suspend' }), 400, 'bad_request');
    const res = await act(admin, reportId, { action: 'suspend', days: 3, note: 'second time this week' });
    expect(res.statusCode, res.body).toBe(200);
    const answer = moderationActionResponse.parse(res.json());
    const until = new Date(h.clock.now() + 3 * DAY).toISOString();
    expect(answer).toMatchObject({
      ok: true,
      entry: { actor: 'mod@example.org', action: 'suspend', reportId, accountId: badId },
      report: {
        id: reportId,
        status: 'actioned',
        outcome: 'The moderators suspended the account for 3 days.',
      },
    });
    expect(answer.entry.detail).toBe(`suspended for 3 days, until ${until}; note: second time this week`);
    const row = await h.db
      .selectFrom('reports')
      .selectAll()
      .where('id', '=', reportId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'actioned', decided_at: answer.entry.at });
    expect(row.outcome).not.toContain('second time');

    // The session it had stopped working, and it was deleted.
    expectError(await bad.get('/api/me'), 401, 'unauthenticated');
    expectError(await bad.post('/api/meetings', { mode: 'standard' }), 401, 'unauthenticated');
    expect(
      await h.db.selectFrom('sessions').select('user_id').where('user_id', '=', badId).execute(),
    ).toEqual([]);
    // The right password hears of the suspension and its end; a wrong one hears nothing of it.
    expectError(await bad.signin('suspend-me@example.org', 'not the password'), 401, 'invalid_credentials');
    const refused = await bad.signin('suspend-me@example.org');
    expectError(refused, 403, 'account_suspended');
    expect((refused.json() as { error: { message: string } }).error.message).toContain(until);
    expect(refused.cookies.map((c) => c.name)).not.toContain('conclave_session');

    // A day before the end: still suspended. After it: signs in and hosts again, nobody lifts anything.
    h.clock.advance(2 * DAY);
    expectError(await bad.signin('suspend-me@example.org'), 403, 'account_suspended');
    h.clock.advance(DAY + 1000);
    const back = await bad.signin('suspend-me@example.org');
    expect(back.statusCode, back.body).toBe(200);
    expect(meResponse.parse((await bad.get('/api/me')).json()).account.id).toBe(badId);
    expect((await bad.post('/api/meetings', { mode: 'standard' })).statusCode).toBe(201);
  });

  it('a session of a suspended account stops working even when it was not deleted', async () => {
    h = await startHarness();
    const c = h.client('203.0.113.31');
    const { id } = await c.signup('kept-session@example.org');
    await h.db
      .updateTable('users')
      .set({ status: 'suspended', suspended_until: new Date(h.clock.now() + DAY).toISOString() })
      .where('id', '=', id)
      .execute();
    expectError(await c.get('/api/me'), 401, 'unauthenticated');
    expectError(await c.post('/api/meetings', { mode: 'standard' }), 401, 'unauthenticated');
    h.clock.advance(DAY + 1);
    expect((await c.get('/api/me')).statusCode).toBe(200);
    await h.db
      .updateTable('users')
      .set({ status: 'banned', suspended_until: null })
      .where('id', '=', id)
      .execute();
    expectError(await c.get('/api/me'), 401, 'unauthenticated');
  });

  it('bans an account (its device keys too) and a guest key; a banned account cannot sign in', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const bad = h.client('203.0.113.40');
    const { id: badId } = await bad.signup('ban-me@example.org');
    const keys = ['A'.repeat(43) + '=', 'B'.repeat(43) + '='];
    for (const [i, publicKey] of keys.entries())
      expect((await bad.post('/api/devices', { deviceId: `device-${i}`, publicKey })).statusCode).toBe(201);
    const reportId = await insertReport(h.db, { reported_user_id: badId });
    const res = await act(admin, reportId, { action: 'ban' });
    expect(res.statusCode, res.body).toBe(200);
    expect(moderationActionResponse.parse(res.json()).report.outcome).toBe(
      'The moderators banned the account from this server.',
    );
    const banned = await h.db.selectFrom('banned_keys').selectAll().orderBy('key_hash').execute();
    expect(banned.map((b) => b.key_hash).sort()).toEqual(keys.map(bannedKeyHash).sort());
    expect(banned.every((b) => b.account_id === badId && b.report_id === reportId)).toBe(true);
    expectError(await bad.get('/api/me'), 401, 'unauthenticated');
    expectError(await bad.signin('ban-me@example.org'), 403, 'account_banned');
    // A ban is not turned into a suspension by mistake.
    const again = await insertReport(h.db, { reported_user_id: badId });
    expectError(await act(admin, again, { action: 'suspend', days: 1 }), 400, 'bad_request');

    const guestKey = 'C'.repeat(43) + '=';
    const guestReport = await insertReport(h.db, { reported_guest_key: guestKey, reported_name: 'Anon' });
    // A guest has no account to warn, suspend, revoke or end meetings of.
    for (const action of ['warn', 'revoke_e2ee', 'end_meetings'])
      expectError(await act(admin, guestReport, { action }), 400, 'bad_request');
    expectError(await act(admin, guestReport, { action: 'suspend', days: 2 }), 400, 'bad_request');
    expect((await act(admin, guestReport, { action: 'ban' })).statusCode).toBe(200);
    expect(
      await h.db
        .selectFrom('banned_keys')
        .select(['account_id', 'report_id'])
        .where('key_hash', '=', bannedKeyHash(guestKey))
        .execute(),
    ).toEqual([{ account_id: null, report_id: guestReport }]);
  });

  it('revoke_e2ee: hosting E2EE needs a new phone check, within the number’s yearly quota', async () => {
    h = await startHarness({ accounts: { verification: { unlocksPerYear: 2 } } });
    const admin = await signedInAdmin(h);
    const host = h.client('203.0.113.60');
    const { id } = await host.signup('e2ee-host@example.org');
    const number = '+44 7400 111222';
    expect((await host.post('/api/verification/redeem', await obtainPhoneToken(h, number))).statusCode).toBe(
      200,
    );
    expect((await host.post('/api/meetings', { mode: 'e2ee' })).statusCode).toBe(201);
    const reportId = await insertReport(h.db, { reported_user_id: id });
    expect((await act(admin, reportId, { action: 'revoke_e2ee' })).statusCode).toBe(200);
    expect(meResponse.parse((await host.get('/api/me')).json()).entitlement).toEqual({
      standard: true,
      e2ee: false,
      reason: 'verification_required',
    });
    expectError(await host.post('/api/meetings', { mode: 'e2ee' }), 403, 'e2ee_not_entitled');
    // Standard meetings stay.
    expect((await host.post('/api/meetings', { mode: 'standard' })).statusCode).toBe(201);
    // A new check with the same number: its second unlock this year, allowed by the quota of 2.
    expect((await host.post('/api/verification/redeem', await obtainPhoneToken(h, number))).statusCode).toBe(
      200,
    );
    expect((await host.post('/api/meetings', { mode: 'e2ee' })).statusCode).toBe(201);
    // Revoked again, the number has used its quota: the check itself refuses it.
    const second = await insertReport(h.db, { reported_user_id: id });
    expect((await act(admin, second, { action: 'revoke_e2ee' })).statusCode).toBe(200);
    const c = h.phoneCheck();
    expectError(await c.start(number), 403, 'phone_quota_exceeded');
  });

  it('warns (the account reads it without the note), dismisses, and refuses what does not apply', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const { id: adminId } = meResponse.parse((await admin.get('/api/me')).json()).account;
    const user = h.client('203.0.113.70');
    const { id } = await user.signup('warn-me@example.org');
    expect(accountNoticesResponse.parse((await user.get('/api/account/notices')).json()).warnings).toEqual(
      [],
    );
    expectError(await h.client('192.0.2.1').get('/api/account/notices'), 401, 'unauthenticated');

    const spam = await insertReport(h.db, {
      reported_user_id: id,
      reason: 'spam',
      created_at: new Date(Date.UTC(2030, 0, 5)).toISOString(),
    });
    const warned = await act(admin, spam, { action: 'warn', note: 'internal: watch this one' });
    expect(warned.statusCode, warned.body).toBe(200);
    const notices = accountNoticesResponse.parse((await user.get('/api/account/notices')).json()).warnings;
    expect(notices).toEqual([
      {
        id: moderationActionResponse.parse(warned.json()).entry.id,
        at: expect.any(String),
        reason: 'spam',
        text: "This server's moderators warned this account after a report of spam in a meeting on 2030-01-05. Further reports may lead to a suspension or a ban.",
      },
    ]);
    expect(JSON.stringify(notices)).not.toContain('internal');
    // Warned, the report was actioned: it cannot be dismissed any more, but more action can follow.
    expectError(await act(admin, spam, { action: 'dismiss' }), 409, 'report_decided');
    const ended = await act(admin, spam, { action: 'end_meetings' });
    expect(moderationActionResponse.parse(ended.json()).report.outcome).toBe(
      'The moderators warned the account. The moderators ended the account’s live meetings.',
    );

    const meh = await insertReport(h.db, { reported_user_id: id });
    const dismissed = moderationActionResponse.parse((await act(admin, meh, { action: 'dismiss' })).json());
    expect(dismissed.report).toEqual({
      id: meh,
      status: 'dismissed',
      outcome: 'The moderators reviewed the report and took no action.',
    });
    // A dismissed report may still be acted on later: the dismissal's sentence gives way.
    const later = moderationActionResponse.parse((await act(admin, meh, { action: 'warn' })).json());
    expect(later.report).toMatchObject({ status: 'actioned', outcome: 'The moderators warned the account.' });

    // A moderator does not decide reports against its own account; unknown reports and actions are refused.
    const againstAdmin = await insertReport(h.db, { reported_user_id: adminId });
    expectError(await act(admin, againstAdmin, { action: 'dismiss' }), 403, 'forbidden');
    expectError(await act(admin, 'no-such-report', { action: 'dismiss' }), 404, 'unknown_report');
    expectError(await act(admin, meh, { action: 'delete_account' }), 400, 'bad_request');
    expectError(await act(admin, meh, { action: 'warn', days: 3 }), 400, 'bad_request');
    expectError(await act(admin, meh, { action: 'suspend', days: 366 }), 400, 'bad_request');
  });

  it('the reporter reads the outcome of its reports on its account page, without the note', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const reporter = h.client('203.0.113.90');
    const { id: reporterId } = await reporter.signup('reporter@example.org');
    const bad = h.client('203.0.113.91');
    const { id: badId } = await bad.signup('reported@example.org');
    const r1 = await insertReport(h.db, {
      reporter_user_id: reporterId,
      reported_user_id: badId,
      reported_name: 'Reported One',
      created_at: new Date(Date.UTC(2030, 0, 3)).toISOString(),
    });
    const r2 = await insertReport(h.db, {
      reporter_user_id: reporterId,
      reported_user_id: badId,
      reported_name: 'Reported One',
      created_at: new Date(Date.UTC(2030, 0, 2)).toISOString(),
    });
    const mine = async () =>
      myReportsResponse.parse((await reporter.get('/api/reports/mine')).json()).reports;
    expect((await mine()).map((r) => [r.id, r.status, r.outcome])).toEqual([
      [r1, 'open', undefined],
      [r2, 'open', undefined],
    ]);
    expect(
      (await act(admin, r1, { action: 'suspend', days: 30, note: 'moderator-only remark' })).statusCode,
    ).toBe(200);
    expect((await act(admin, r2, { action: 'dismiss', note: 'duplicate of the other' })).statusCode).toBe(
      200,
    );
    const decided = await mine();
    expect(decided.map((r) => [r.id, r.status, r.outcome])).toEqual([
      [r1, 'actioned', 'The moderators suspended the account for 30 days.'],
      [r2, 'dismissed', 'The moderators reviewed the report and took no action.'],
    ]);
    expect(JSON.stringify(decided)).not.toMatch(/remark|duplicate/);
  });

  it('writes every action to the audit log, newest first, with its actor; the log filters by account and report', async () => {
    h = await startHarness();
    const admin = await signedInAdmin(h);
    const u = h.client('203.0.113.80');
    const { id } = await u.signup('logged@example.org');
    const other = await insertReport(h.db, { reported_guest_key: 'D'.repeat(43) + '=' });
    const r = await insertReport(h.db, { reported_user_id: id });
    const actions = [
      { action: 'warn' },
      { action: 'revoke_e2ee' },
      { action: 'end_meetings' },
      { action: 'suspend', days: 1 },
      { action: 'ban' },
    ];
    for (const a of actions) expect((await act(admin, r, a)).statusCode).toBe(200);
    expect((await act(admin, other, { action: 'dismiss' })).statusCode).toBe(200);
    const all = moderationLogResponse.parse((await admin.get('/api/admin/moderation-log')).json()).entries;
    expect(all.map((e) => [e.action, e.actor, e.reportId, e.accountId])).toEqual([
      ['dismiss', 'mod@example.org', other, undefined],
      ['ban', 'mod@example.org', r, id],
      ['suspend', 'mod@example.org', r, id],
      ['end_meetings', 'mod@example.org', r, id],
      ['revoke_e2ee', 'mod@example.org', r, id],
      ['warn', 'mod@example.org', r, id],
    ]);
    const byAccount = moderationLogResponse.parse(
      (await admin.get('/api/admin/moderation-log?account=logged@example.org')).json(),
    ).entries;
    expect(byAccount.map((e) => e.action)).toEqual(['ban', 'suspend', 'end_meetings', 'revoke_e2ee', 'warn']);
    const byReport = moderationLogResponse.parse(
      (await admin.get(`/api/admin/moderation-log?report=${other}&limit=5`)).json(),
    ).entries;
    expect(byReport.map((e) => e.action)).toEqual(['dismiss']);
    expectError(await admin.get('/api/admin/moderation-log?limit=0'), 400, 'bad_request');
    // The report page's history shows the account's actions.
    const detail = adminReportResponse.parse((await admin.get(`/api/admin/reports/${r}`)).json());
    expect(detail.history.actions.map((e) => e.action)).toEqual([
      'ban',
      'suspend',
      'end_meetings',
      'revoke_e2ee',
      'warn',
    ]);
    expect(detail.history.account).toMatchObject({ status: 'banned', e2eeEntitled: false });
  });
});
