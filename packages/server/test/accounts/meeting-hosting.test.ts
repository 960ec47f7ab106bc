import { generate } from 'otplib';
import { createMeetingResponse, totpEnrollResponse } from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { adminSetPlan } from '../../src/index.js';
import {
  expectError,
  fileReports,
  obtainPhoneToken,
  startHarness,
  type Harness,
  type TestClient,
} from './harness.js';

/** The hosting rules of POST /api/meetings (ARCHITECTURE.md "Accounts, E2EE entitlement"). */
describe('who may host (POST /api/meetings)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const create = (c: TestClient, body: Record<string, unknown>) => c.post('/api/meetings', body);

  async function unlockWithPhone(c: TestClient): Promise<void> {
    const redeemed = await c.post('/api/verification/redeem', await obtainPhoneToken(h));
    expect(redeemed.statusCode, redeemed.body).toBe(200);
  }

  it('guests cannot host; a request without the CSRF header is refused', async () => {
    h = await startHarness();
    const guest = h.client();
    expectError(await create(guest, { mode: 'standard' }), 401, 'unauthenticated');
    expectError(await create(guest, { mode: 'e2ee' }), 401, 'unauthenticated');
    const signedIn = h.client();
    await signedIn.signup('csrf@example.org');
    expectError(await signedIn.post('/api/meetings', { mode: 'standard' }, false), 403, 'csrf_failed');
    expectError(
      await signedIn.post('/api/meetings', { mode: 'standard' }, 'x'.repeat(43)),
      403,
      'csrf_failed',
    );
    expect(await h.db.selectFrom('meetings').select('id').execute()).toEqual([]);
  });

  it('a free account hosts standard meetings; E2EE after the phone check; the host account is recorded', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('free@example.org');
    const standard = await create(c, { mode: 'standard', title: 'open' });
    expect(standard.statusCode, standard.body).toBe(201);
    const refused = await create(c, { mode: 'e2ee' });
    expectError(refused, 403, 'e2ee_not_entitled');
    expect((refused.json() as { error: { message: string } }).error.message).toMatch(/phone check/);
    // E2EE is the default mode: leaving it out is asking for E2EE.
    expectError(await create(c, {}), 403, 'e2ee_not_entitled');

    await unlockWithPhone(c);
    const e2ee = await create(c, { mode: 'e2ee', title: 'private' });
    expect(e2ee.statusCode, e2ee.body).toBe(201);
    const made = createMeetingResponse.parse(e2ee.json());
    expect(made.meeting.mode).toBe('e2ee');

    const rows = await h.db
      .selectFrom('meetings')
      .select(['id', 'mode', 'host_user_id'])
      .orderBy('mode')
      .execute();
    expect(rows).toEqual([
      { id: made.meeting.id, mode: 'e2ee', host_user_id: id },
      { id: createMeetingResponse.parse(standard.json()).meeting.id, mode: 'standard', host_user_id: id },
    ]);
    const events = await h.db
      .selectFrom('auth_events')
      .select(['action', 'outcome'])
      .where('action', '=', 'meeting_create')
      .execute();
    // Refused-by-entitlement requests never reach the risk engine; the two creations are logged.
    expect(events).toEqual([
      { action: 'meeting_create', outcome: 'ok' },
      { action: 'meeting_create', outcome: 'ok' },
    ]);
  });

  it('a paid account hosts E2EE without the phone check; signing out ends hosting', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('paid@example.org');
    expectError(await create(c, { mode: 'e2ee' }), 403, 'e2ee_not_entitled');
    await adminSetPlan(h.db, 'paid@example.org', 'paid');
    expect((await create(c, { mode: 'e2ee' })).statusCode).toBe(201);
    const session = c.cookie('conclave_session')!;
    expect((await c.post('/api/auth/signout')).statusCode).toBe(200);
    expectError(await create(c, { mode: 'standard' }), 401, 'unauthenticated');
    // The old cookie, replayed, hosts nothing either.
    c.cookies.set('conclave_session', session);
    expectError(await create(c, { mode: 'standard' }), 401, 'unauthenticated');
  });

  it('the risk engine: open reports need the TOTP code, a wrong code is refused, no TOTP means no hosting', async () => {
    h = await startHarness();
    const c = h.client();
    const { id } = await c.signup('reported@example.org');
    await adminSetPlan(h.db, 'reported@example.org', 'paid');
    const enrol = totpEnrollResponse.parse((await c.post('/api/auth/totp/enroll')).json());
    const code = () => generate({ secret: enrol.secret, epoch: Math.floor(h.clock.now() / 1000) });
    expect((await c.post('/api/auth/totp/confirm', { code: await code() })).statusCode).toBe(200);
    await fileReports(h, id, 2);
    h.clock.advance(31_000); // the confirming code's time step is spent
    const asked = await create(c, { mode: 'e2ee' });
    expectError(asked, 401, 'step_up_required');
    const right = await code();
    expectError(
      await create(c, { mode: 'e2ee', totp: right === '000000' ? '111111' : '000000' }),
      401,
      'invalid_totp',
    );
    expect((await create(c, { mode: 'e2ee', totp: right })).statusCode).toBe(201);
    // A code works once.
    expectError(await create(c, { mode: 'e2ee', totp: right }), 401, 'invalid_totp');

    const other = h.client('203.0.113.9');
    const { id: otherId } = await other.signup('nototp@example.org');
    await adminSetPlan(h.db, 'nototp@example.org', 'paid');
    await fileReports(h, otherId, 2);
    const denied = await create(other, { mode: 'standard' });
    expectError(denied, 403, 'risk_denied');
    expect((denied.json() as { error: { message: string } }).error.message).toMatch(/report/);

    const outcomes = await h.db
      .selectFrom('auth_events')
      .select(['user_id', 'outcome', 'decision'])
      .where('action', '=', 'meeting_create')
      .orderBy('id')
      .execute();
    expect(outcomes).toEqual([
      { user_id: id, outcome: 'step_up', decision: 'step_up' },
      { user_id: id, outcome: 'wrong_totp', decision: 'step_up' },
      { user_id: id, outcome: 'ok', decision: 'step_up' },
      { user_id: id, outcome: 'wrong_totp', decision: 'step_up' },
      { user_id: otherId, outcome: 'denied', decision: 'deny' },
    ]);
    expect(await h.db.selectFrom('meetings').select('host_user_id').execute()).toEqual([
      { host_user_id: id },
    ]);
  });
});
