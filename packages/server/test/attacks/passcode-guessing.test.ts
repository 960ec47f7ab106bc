import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConclaveError, type ConclaveClient } from '@conclave/client';
import {
  honest,
  hostMeeting,
  ModifiedClient,
  participants,
  startAttackServer,
  until,
  type AttackServer,
} from './harness.js';

// Finding 3: 100 passcode guesses from 20 addresses of one /24 in 2.8 s (the limit counted single
// addresses), 4-digit passcodes were accepted, and no number of networks ever locked a meeting.

const PASSCODE = 'correct-horse-7';
const { track } = participants();

async function guesser(ts: AttackServer, forwardedFor: string): Promise<ModifiedClient> {
  const m = await ModifiedClient.create(ts, { forwardedFor });
  track(m);
  return m;
}

/** The code of a join's answer (`joined`, `waiting` or the error code). */
async function answerOf(m: ModifiedClient, meetingId: string, passcode: string): Promise<string> {
  const a = await m.join(meetingId, { passcode });
  return a.type === 'error' ? a.code : a.type;
}

/** What `connect()` of an honest client ends in: its state, or the ConclaveError's code. */
async function connectOutcome(c: ConclaveClient): Promise<string> {
  try {
    return await c.connect();
  } catch (e) {
    if (e instanceof ConclaveError) return e.code;
    throw e;
  }
}

function countOf(codes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of codes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

describe('wrong passcodes are limited per network (default limits)', () => {
  let ts: AttackServer;
  beforeAll(async () => {
    ts = await startAttackServer();
  });
  afterAll(async () => {
    await ts.close();
  });

  it('20 addresses of one /24 guessing together get 5 checked guesses in all; another network still joins', async () => {
    const { meetingId } = await hostMeeting(ts, { passcode: PASSCODE });
    const guessers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => guesser(ts, `203.0.113.${10 + i}`)),
    );
    // Each address sends 5 guesses one after the other; the 20 addresses at the same time.
    const perAddress = await Promise.all(
      guessers.map(async (m, i) => {
        const codes: string[] = [];
        for (let k = 0; k < 5; k++) codes.push(await answerOf(m, meetingId, `guess-${i}-${k}`));
        return codes;
      }),
    );
    const codes = perAddress.flat();
    expect(codes).toHaveLength(100);
    expect(countOf(codes)).toEqual({ wrong_passcode: 5, rate_limited: 95 });

    // The network's budget is spent: even the right passcode from a neighbour is not checked.
    const neighbour = await guesser(ts, '203.0.113.250');
    expect(await answerOf(neighbour, meetingId, PASSCODE)).toBe('rate_limited');

    // An honest guest on another network with the right passcode joins.
    const guest = honest(ts, meetingId, 'Guest', { forwardedFor: '198.51.100.23', passcode: PASSCODE });
    track(guest);
    expect(await guest.connect()).toBe('joined');
    await until(() => guest.e2ee.active, 'the guest in its MLS group');
  });

  it('creating a meeting with a passcode under 6 characters is refused with a clear error', async () => {
    for (const passcode of ['4711', '12345']) {
      const err = await hostMeeting(ts, { passcode }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `passcode ${passcode}`).toBeInstanceOf(ConclaveError);
      expect(err).toMatchObject({ code: 'bad_request', status: 400 });
      expect((err as ConclaveError).message).toMatch(/at least 6 characters/);
    }
    // Six characters are enough.
    await expect(hostMeeting(ts, { passcode: '471100' })).resolves.toMatchObject({
      meetingId: expect.any(String),
    });
  });
});

describe('wrong passcodes from many networks lock the meeting (--passcode-failures-per-meeting 12)', () => {
  let ts: AttackServer;
  beforeAll(async () => {
    ts = await startAttackServer(['--passcode-failures-per-meeting', '12']);
  });
  afterAll(async () => {
    await ts.close();
  });

  async function patchMeeting(meetingId: string, hostSecret: string, body: object): Promise<Response> {
    return fetch(`${ts.url}/api/meetings/${meetingId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-host-secret': hostSecret },
      body: JSON.stringify({ v: 1, ...body }),
    });
  }

  it('locks passcode entry (also for the right passcode), tells the host, and a passcode change ends it', async () => {
    const { meetingId, hostSecret } = await hostMeeting(ts, { passcode: PASSCODE });
    const host = honest(ts, meetingId, 'Host', { hostSecret });
    track(host);
    const lockouts: Array<{ until: number; failures: number }> = [];
    host.on('passcodeLockout', (until, failures) => lockouts.push({ until, failures }));
    expect(await host.connect()).toBe('joined');

    // 6 networks, 3 guesses each (under the per-network limit of 5): 18 guesses at once.
    const guessers = await Promise.all(Array.from({ length: 6 }, (_, i) => guesser(ts, `198.18.${i}.9`)));
    const startedAt = Date.now();
    const codes = (
      await Promise.all(
        guessers.map(async (m, i) => {
          const out: string[] = [];
          for (let k = 0; k < 3; k++) out.push(await answerOf(m, meetingId, `guess-${i}-${k}`));
          return out;
        }),
      )
    ).flat();
    expect(countOf(codes)).toEqual({ wrong_passcode: 12, passcode_locked: 6 });

    // The host hears of it: at least 12 failures, locked until some time in the future.
    await until(() => lockouts.length > 0, 'the passcodeLockout event');
    expect(lockouts[0]!.failures).toBeGreaterThanOrEqual(12);
    expect(lockouts[0]!.until).toBeGreaterThan(Date.now());
    // The oldest failure leaves the 15-minute window first.
    expect(lockouts[0]!.until).toBeGreaterThan(startedAt + 14 * 60_000);
    expect(lockouts[0]!.until).toBeLessThanOrEqual(Date.now() + 15 * 60_000);

    // Locked: the right passcode, from a fresh network and from the honest SDK, is refused too.
    const fresh = await guesser(ts, '192.0.2.44');
    expect(await answerOf(fresh, meetingId, PASSCODE)).toBe('passcode_locked');
    const blocked = honest(ts, meetingId, 'Blocked guest', {
      forwardedFor: '192.0.2.45',
      passcode: PASSCODE,
    });
    track(blocked);
    expect(await connectOutcome(blocked)).toBe('passcode_locked');

    // Host links skip the passcode: a second host device still gets in during the lockout.
    const hostDevice = await guesser(ts, '192.0.2.46');
    expect((await hostDevice.join(meetingId, { hostSecret })).type).toBe('joined');
    hostDevice.close();

    // The host changes the passcode over HTTP: the lockout ends at once.
    const res = await patchMeeting(meetingId, hostSecret, { passcode: 'newpasscode' });
    expect(res.status, await res.clone().text()).toBe(200);
    const guest = honest(ts, meetingId, 'Guest', { forwardedFor: '192.0.2.47', passcode: 'newpasscode' });
    track(guest);
    expect(await guest.connect()).toBe('joined');
    await until(
      () => host.roster().length >= 2 && guest.e2ee.securityCode === host.e2ee.securityCode,
      'guest in the group',
    );
    // The old passcode is now simply wrong (checked, not locked).
    const late = await guesser(ts, '192.0.2.48');
    expect(await answerOf(late, meetingId, PASSCODE)).toBe('wrong_passcode');
  });

  it('a passcode change to 4 digits is refused too', async () => {
    const { meetingId, hostSecret } = await hostMeeting(ts, { passcode: PASSCODE });
    const res = await patchMeeting(meetingId, hostSecret, { passcode: '4711' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad_request');
    expect(body.error.message).toMatch(/at least 6 characters/);
  });
});
