import { afterEach, describe, expect, it } from 'vitest';
import { expectError } from '../accounts/harness.js';
import { startReportsHarness, submit, type ReportsHarness } from './harness.js';

const DAY = 86_400_000;

describe('Report a User: limits', () => {
  let h: ReportsHarness;
  afterEach(async () => h.close());

  /** `n` live participants of a standard meeting (guests without keys), by id. */
  function participants(meetingId: string, n: number, prefix = 'part'): string[] {
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const id of ids)
      h.live.push({ meetingId, participantId: id, userId: undefined, signatureKey: undefined });
    return ids;
  }

  it('an account files at most reportsPerAccountPerDay reports in 24 hours, refused before its body is read', async () => {
    h = await startReportsHarness();
    const c = h.client('198.51.100.20');
    await c.signup('carol@example.org');
    const meetingId = await h.meeting('standard');
    const ids = participants(meetingId, 11);
    for (const id of ids.slice(0, 10)) {
      const res = await submit(c, { meetingId, reported: { participantId: id, displayName: id } });
      expect(res.statusCode, res.body).toBe(201);
      h.clock.advance(60_000);
    }
    const refused = await submit(c, { meetingId, reported: { participantId: ids[10]!, displayName: 'x' } });
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers['retry-after']).toBe('3600');
    // refused before the body is parsed: a malformed body gets the same answer
    const headers = await c.authHeaders();
    const raw = await h.app.inject({
      method: 'POST',
      url: '/api/reports',
      remoteAddress: c.ip,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"not json',
    });
    expectError(raw, 429, 'rate_limited');
    // another account on the same network is not limited by Carol's reports
    const dora = h.client('198.51.100.21');
    await dora.signup('dora@example.org');
    expect(
      (await submit(dora, { meetingId, reported: { participantId: ids[10]!, displayName: 'x' } })).statusCode,
    ).toBe(201);
    // a day after the first report, one more is allowed
    h.clock.advance(DAY - 10 * 60_000 + 1);
    expect(
      (await submit(c, { meetingId, reported: { participantId: ids[10]!, displayName: 'x' } })).statusCode,
    ).toBe(201);
  });

  it('guests of one network file at most reportsPerNetworkPerDay; another network and accounts are not counted', async () => {
    h = await startReportsHarness();
    const meetingId = await h.meeting('standard');
    const ids = participants(meetingId, 8);
    // five guests on one /24 (different addresses, one network)
    for (let i = 0; i < 5; i++) {
      const res = await submit(h.client(`192.0.2.${10 + i}`), {
        meetingId,
        reported: { participantId: ids[i]!, displayName: `guest ${i}` },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const refused = await submit(h.client('192.0.2.99'), {
      meetingId,
      reported: { participantId: ids[5]!, displayName: 'guest 5' },
    });
    expectError(refused, 429, 'rate_limited');
    expect(refused.json().error.message).toMatch(/sign in/);
    expect(
      (
        await submit(h.client('192.0.3.1'), {
          meetingId,
          reported: { participantId: ids[5]!, displayName: 'guest 5' },
        })
      ).statusCode,
    ).toBe(201);
    const account = h.client('192.0.2.100');
    await account.signup('acc@example.org');
    expect(
      (await submit(account, { meetingId, reported: { participantId: ids[6]!, displayName: 'guest 6' } }))
        .statusCode,
    ).toBe(201);
    h.clock.advance(DAY + 1);
    expect(
      (
        await submit(h.client('192.0.2.99'), {
          meetingId,
          reported: { participantId: ids[7]!, displayName: 'guest 7' },
        })
      ).statusCode,
    ).toBe(201);
  });

  it('at most maxOpenReportsPerAccount distinct reporters with open reports against one account; the refusal tells no count', async () => {
    h = await startReportsHarness({ maxOpenReportsPerAccount: 3 });
    const target = await h.client('203.0.113.1').signup('target@example.org');
    const meetingId = await h.meeting('standard');
    h.live.push({ meetingId, participantId: 'part-target', userId: target.id, signatureKey: undefined });
    const reported = { participantId: 'part-target', displayName: 'Target' };
    for (const net of ['192.0.2.1', '192.0.3.1', '192.0.4.1']) {
      const res = await submit(h.client(net), { meetingId, reported });
      expect(res.statusCode, res.body).toBe(201);
    }
    const refused = await submit(h.client('192.0.5.1'), { meetingId, reported });
    expectError(refused, 429, 'rate_limited');
    expect(refused.json().error.message).not.toMatch(/[0-9]/);
    // a reporter that has an open report already may report again elsewhere (not a new reporter)
    const other = await h.meeting('standard');
    h.live.push({
      meetingId: other,
      participantId: 'part-target',
      userId: target.id,
      signatureKey: undefined,
    });
    expect((await submit(h.client('192.0.2.1'), { meetingId: other, reported })).statusCode).toBe(201);
    // once the first reporter's reports are decided, a new reporter is taken
    await h.db
      .updateTable('reports')
      .set({ status: 'dismissed' })
      .where('reporter_network', '=', '192.0.2.0/24')
      .execute();
    expect((await submit(h.client('192.0.5.1'), { meetingId, reported })).statusCode).toBe(201);
  });

  it('at most 4 submissions are checked at once; more are refused before their body is read', async () => {
    h = await startReportsHarness();
    const meetingId = await h.meeting('standard');
    const ids = participants(meetingId, 5);
    // Hold four requests in their body (a stream that does not end yet).
    const { PassThrough } = await import('node:stream');
    const streams = ids.slice(0, 4).map(() => new PassThrough());
    const pending = streams.map((s, i) =>
      h.app.inject({
        method: 'POST',
        url: '/api/reports',
        remoteAddress: `192.0.${10 + i}.1`,
        headers: { 'content-type': 'application/json' },
        payload: s,
      }),
    );
    for (const s of streams) s.write('{"v":1,');
    await new Promise((r) => setTimeout(r, 100));
    const fifth = await submit(h.client('192.0.20.1'), {
      meetingId,
      reported: { participantId: ids[4]!, displayName: 'x' },
    });
    expectError(fifth, 429, 'rate_limited');
    expect(fifth.json().error.message).toMatch(/other reports/);
    streams.forEach((s, i) =>
      s.end(
        JSON.stringify({
          meetingId,
          reported: { participantId: ids[i]!, displayName: 'x' },
          reason: 'spam',
        }).slice(1),
      ),
    );
    expect((await Promise.all(pending)).map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    // all done: the next is taken
    expect(
      (
        await submit(h.client('192.0.20.1'), {
          meetingId,
          reported: { participantId: ids[4]!, displayName: 'x' },
        })
      ).statusCode,
    ).toBe(201);
  });
});
