import { createMeetingRequest, errorResponse } from '@conclave/protocol';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminSetPlan,
  buildHttpApp,
  createDatabase,
  MeetingStore,
  migrateToLatest,
  startConclave,
  type Db,
} from '../src/index.js';
import { networkKeyForIp } from '../src/meeting-store/client-key.js';
import { PasscodeLimiter } from '../src/meeting-store/passcode-limiter.js';
import { TEST_SCRYPT, TestClient } from './accounts/harness.js';
import { fakeClock, memoryLogger, tempDir, testConfig } from './helpers.js';

const PASSCODE = 'right-passcode-4711';
const MINUTE = 60_000;
const req = (over: Record<string, unknown> = {}) => createMeetingRequest.parse({ v: 1, ...over });

describe('networkKeyForIp', () => {
  it.each([
    // IPv4: the /24.
    ['198.51.100.7', '198.51.100.0/24'],
    ['198.51.100.255', '198.51.100.0/24'],
    ['198.51.101.7', '198.51.101.0/24'],
    ['10.0.0.1', '10.0.0.0/24'],
    ['0.0.0.0', '0.0.0.0/24'],
    // IPv4-mapped IPv6, in every spelling: the IPv4 /24.
    ['::ffff:198.51.100.7', '198.51.100.0/24'],
    ['::FFFF:198.51.100.7', '198.51.100.0/24'],
    ['::ffff:c633:6407', '198.51.100.0/24'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.0/24'],
    ['0000:0000:0000:0000:0000:FFFF:C633:64FF', '198.51.100.0/24'],
    // IPv6: the /64, lower case, no leading zeros, zone id dropped.
    ['2001:db8:1:2::5', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:1::', '2001:db8:1:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['fe80::abcd:1%25', 'fe80:0:0:0::/64'],
    // An IPv4 address embedded in IPv6 that is not a mapped one stays IPv6.
    ['2001:db8::198.51.100.7', '2001:db8:0:0::/64'],
    ['::ffff:0:198.51.100.7', '0:0:0:0::/64'],
    ['64:ff9b::198.51.100.7', '64:ff9b:0:0::/64'],
    // Not an IP address: unchanged (its own network).
    ['', ''],
    ['not-an-ip', 'not-an-ip'],
    ['198.51.100', '198.51.100'],
    ['198.51.100.256', '198.51.100.256'],
    ['01.2.3.4', '01.2.3.4'],
    [' 198.51.100.7', ' 198.51.100.7'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['[::1]', '[::1]'],
    ['::ffff:999.1.1.1', '::ffff:999.1.1.1'],
    ['2001:db8:::1', '2001:db8:::1'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
  ])('%j -> %j', (ip, key) => {
    expect(networkKeyForIp(ip)).toBe(key);
  });

  it('maps every address of a /24 to one key and neighbouring /24s to others', () => {
    const keys = new Set(Array.from({ length: 256 }, (_, i) => networkKeyForIp(`203.0.113.${i}`)));
    expect([...keys]).toEqual(['203.0.113.0/24']);
    expect(networkKeyForIp('203.0.112.255')).not.toBe(networkKeyForIp('203.0.113.0'));
    expect(networkKeyForIp('203.0.114.0')).not.toBe(networkKeyForIp('203.0.113.255'));
  });
});

describe('passcode limits per network and per meeting', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let clock: ReturnType<typeof fakeClock>;
  let store: MeetingStore;

  beforeEach(async () => {
    dir = tempDir();
    db = createDatabase({ dataDir: dir.path });
    await migrateToLatest(db);
    clock = fakeClock();
    store = new MeetingStore(db, { now: clock.now });
  });
  afterEach(async () => {
    await db.destroy();
    dir.remove();
  });

  const attempts = async (meetingId: string) =>
    (await db.selectFrom('passcode_attempts').selectAll().where('meeting_id', '=', meetingId).execute())
      .length;

  /** `n` wrong passcodes, one each from `n` different /24s, `stepMs` apart. */
  async function failFromManyNetworks(meetingId: string, n: number, stepMs: number, from = 0): Promise<void> {
    for (let i = from; i < from + n; i++) {
      expect(await store.checkPasscode(meetingId, `guess-${i}`, `203.0.${i}.9`)).toBe('wrong');
      clock.advance(stepMs);
    }
  }

  it('gives 20 addresses of one /24 only 5 wrong tries together; another /24 still can try', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    // The finding: 100 guesses from 20 addresses of one /24, within seconds.
    const results: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (let host = 1; host <= 20; host++) {
        results.push(await store.checkPasscode(meeting.id, `guess-${round}-${host}`, `198.51.100.${host}`));
        clock.advance(25);
      }
    }
    expect(results.filter((r) => r === 'wrong')).toHaveLength(5);
    expect(results.filter((r) => r === 'rate_limited')).toHaveLength(95);
    // The whole /24 is refused unchecked, even the right passcode, also as IPv4-mapped IPv6.
    expect(await store.checkPasscode(meeting.id, PASSCODE, '198.51.100.200')).toBe('rate_limited');
    expect(await store.checkPasscode(meeting.id, PASSCODE, '::ffff:198.51.100.201')).toBe('rate_limited');
    // Refused attempts are not recorded.
    expect(await attempts(meeting.id)).toBe(5);
    // Another /24 (even the neighbouring one) has its own budget.
    expect(await store.checkPasscode(meeting.id, 'guess-other', '198.51.101.1')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, PASSCODE, '198.51.101.2')).toBe('ok');
    // The meeting is not locked out by 6 failures.
    expect(await store.passcodeLockout(meeting.id)).toBeUndefined();
    // 5 minutes after the first failure the /24 may try again.
    clock.advance(5 * MINUTE - 5 * 20 * 25);
    expect(await store.checkPasscode(meeting.id, PASSCODE, '198.51.100.77')).toBe('ok');
  });

  it('holds the network limit under concurrent attempts from one /24', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        store.checkPasscode(meeting.id, `guess-${i}`, `198.51.100.${(i % 20) + 1}`),
      ),
    );
    expect(results.filter((r) => r === 'wrong').length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r === 'rate_limited').length).toBeGreaterThanOrEqual(95);
    expect(await attempts(meeting.id)).toBeLessThanOrEqual(5);
  });

  it('counts an IPv6 /64 as one network, however the addresses are written', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    const sameNetwork = [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:0000:0000:0000:0002',
      '2001:DB8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2::3%eth0',
      '2001:db8:1:2:0:0:192.0.2.1',
    ];
    for (const ip of sameNetwork) expect(await store.checkPasscode(meeting.id, 'nope', ip)).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, PASSCODE, '2001:db8:1:2:abcd::1')).toBe('rate_limited');
    expect(await attempts(meeting.id)).toBe(5);
    // The next /64, and link-local addresses (their own /64), are other networks.
    expect(await store.checkPasscode(meeting.id, PASSCODE, '2001:db8:1:3::1')).toBe('ok');
    expect(await store.checkPasscode(meeting.id, 'nope', 'fe80::1%eth0')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, PASSCODE, 'fe80::2%eth1')).toBe('ok');
  });

  it('locks the meeting out after 30 failures from many networks, until the window passes', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    const other = await store.create(req({ passcode: PASSCODE }));
    const first = clock.now();
    // 29 failures from 29 networks: still open.
    await failFromManyNetworks(meeting.id, 29, 10_000);
    expect(await store.passcodeLockout(meeting.id)).toBeUndefined();
    // The 30th failure locks passcode entry.
    await failFromManyNetworks(meeting.id, 1, 10_000, 29);
    const lockout = await store.passcodeLockout(meeting.id);
    expect(lockout).toEqual({ until: first + 15 * MINUTE, failures: 30 });
    // Even the right passcode from a fresh network is refused unchecked, and not counted.
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.1')).toBe('locked_out');
    expect(await store.checkPasscode(meeting.id, 'another-guess', '192.0.2.2')).toBe('locked_out');
    expect(await store.checkPasscode(meeting.id, PASSCODE, '2001:db8:9::1')).toBe('locked_out');
    // A network that used up its own limit also hears locked_out while the meeting is locked.
    expect(await store.checkPasscode(meeting.id, PASSCODE, '203.0.0.9')).toBe('locked_out');
    expect(await attempts(meeting.id)).toBe(30);
    expect(await store.passcodeLockout(meeting.id)).toEqual(lockout);
    // Other meetings are not affected.
    expect(await store.checkPasscode(other.meeting.id, PASSCODE, '192.0.2.1')).toBe('ok');
    expect(await store.passcodeLockout(other.meeting.id)).toBeUndefined();
    // Until the oldest counted failure leaves the 15-minute window.
    clock.advance(first + 15 * MINUTE - 1 - clock.now());
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.1')).toBe('locked_out');
    clock.advance(1);
    expect(await store.passcodeLockout(meeting.id)).toBeUndefined();
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.1')).toBe('ok');
    // A sliding window: one failure fits again, then the meeting is locked until the next oldest
    // failure (10 s younger) leaves.
    expect(await store.checkPasscode(meeting.id, 'late-guess', '192.0.2.3')).toBe('wrong');
    expect(await store.passcodeLockout(meeting.id)).toEqual({
      until: first + 10_000 + 15 * MINUTE,
      failures: 30,
    });
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.4')).toBe('locked_out');
    // Long after, everything is forgotten.
    clock.advance(60 * MINUTE);
    expect(await store.passcodeLockout(meeting.id)).toBeUndefined();
    expect(await store.checkPasscode(meeting.id, PASSCODE, '203.0.0.9')).toBe('ok');
  });

  it('ends the lockout when the host changes the passcode (not on other changes)', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    // 6 networks × 5 failures: every one of them at its own limit, and the meeting locked.
    for (let net = 0; net < 6; net++) {
      for (let i = 0; i < 5; i++) {
        expect(await store.checkPasscode(meeting.id, `guess-${net}-${i}`, `192.0.${net}.${i + 1}`)).toBe(
          'wrong',
        );
      }
    }
    expect((await store.passcodeLockout(meeting.id))?.failures).toBe(30);
    await store.update(meeting.id, { v: 1, title: 'Renamed', waitingRoom: true });
    expect(await store.checkPasscode(meeting.id, PASSCODE, '198.51.100.1')).toBe('locked_out');

    await store.update(meeting.id, { v: 1, passcode: 'new-passcode-2' });
    expect(await store.passcodeLockout(meeting.id)).toBeUndefined();
    expect(await attempts(meeting.id)).toBe(0);
    // The old passcode is wrong now; the networks that were at their limit may try again.
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.0.1')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, 'new-passcode-2', '192.0.1.1')).toBe('ok');

    // Removing the passcode also forgets the attempts.
    await failFromManyNetworks(meeting.id, 29, 1_000);
    await store.update(meeting.id, { v: 1, passcode: null });
    expect(await attempts(meeting.id)).toBe(0);
    expect(await store.checkPasscode(meeting.id, undefined, '192.0.2.1')).toBe('not_required');
  });

  it('keeps both limits across a store restart on the same database', async () => {
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    const second = await store.create(req({ passcode: PASSCODE }));
    await failFromManyNetworks(meeting.id, 30, 1_000);
    for (let i = 0; i < 5; i++) {
      expect(await store.checkPasscode(second.meeting.id, 'nope', `198.51.100.${i + 1}`)).toBe('wrong');
    }
    const lockout = await store.passcodeLockout(meeting.id);
    expect(lockout?.failures).toBe(30);

    // A restart: the database is closed and opened again, with a new store.
    await db.destroy();
    db = createDatabase({ dataDir: dir.path });
    await migrateToLatest(db);
    store = new MeetingStore(db, { now: clock.now });
    expect(await store.passcodeLockout(meeting.id)).toEqual(lockout);
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.1')).toBe('locked_out');
    expect(await store.checkPasscode(second.meeting.id, PASSCODE, '198.51.100.99')).toBe('rate_limited');
    expect(await store.checkPasscode(second.meeting.id, PASSCODE, '198.51.99.1')).toBe('ok');
  });

  it('takes its limits from the options, and refuses nonsensical ones', async () => {
    store = new MeetingStore(db, {
      now: clock.now,
      passcodeLimit: { failuresPerNetwork: 2, failuresPerMeeting: 3 },
    });
    const { meeting } = await store.create(req({ passcode: PASSCODE }));
    expect(await store.checkPasscode(meeting.id, 'a-guess', '198.51.100.1')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, 'b-guess', '198.51.100.2')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, PASSCODE, '198.51.100.3')).toBe('rate_limited');
    expect(await store.checkPasscode(meeting.id, 'c-guess', '192.0.2.1')).toBe('wrong');
    expect(await store.passcodeLockout(meeting.id)).toEqual({
      until: clock.now() + 15 * MINUTE,
      failures: 3,
    });
    expect(await store.checkPasscode(meeting.id, PASSCODE, '192.0.2.2')).toBe('locked_out');
    expect(await store.passcodeLockout('nosuchmeeting')).toBeUndefined();
    expect(await store.passcodeLockout('../not an id')).toBeUndefined();
    expect(() => new PasscodeLimiter(db, { failuresPerNetwork: 0 })).toThrow(RangeError);
    expect(() => new PasscodeLimiter(db, { failuresPerMeeting: 2.5 })).toThrow(RangeError);
  });

  it('startConclave passes the configured limits to the meeting store', async () => {
    const dataDir = tempDir();
    const server = await startConclave(
      testConfig(dataDir.path, { passcodeFailuresPerNetwork: 1, passcodeFailuresPerMeeting: 2 }),
      { media: false, logger: memoryLogger().logger, webRoot: null, meetingStore: { now: clock.now } },
    );
    try {
      const s = server.storage.meetings;
      const { meeting } = await s.create(req({ passcode: PASSCODE }));
      expect(await s.checkPasscode(meeting.id, 'a-guess', '198.51.100.1')).toBe('wrong');
      expect(await s.checkPasscode(meeting.id, PASSCODE, '198.51.100.2')).toBe('rate_limited');
      expect(await s.checkPasscode(meeting.id, 'b-guess', '192.0.2.1')).toBe('wrong');
      expect(await s.checkPasscode(meeting.id, PASSCODE, '203.0.113.1')).toBe('locked_out');
      expect(await s.passcodeLockout(meeting.id)).toEqual({ until: clock.now() + 15 * MINUTE, failures: 2 });
    } finally {
      await server.close();
      dataDir.remove();
    }
  });
});

describe('passcode length over HTTP', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let app: FastifyInstance;
  let host: TestClient;

  beforeEach(async () => {
    dir = tempDir();
    db = createDatabase({ dataDir: dir.path });
    await migrateToLatest(db);
    app = await buildHttpApp({
      config: testConfig(dir.path),
      store: new MeetingStore(db),
      logger: memoryLogger().logger,
      webRoot: null,
      accounts: { db, passwordScrypt: TEST_SCRYPT },
    });
    host = new TestClient(app);
    await host.signup('host@example.org');
    await adminSetPlan(db, 'host@example.org', 'paid');
  });
  afterEach(async () => {
    await app.close();
    await db.destroy();
    dir.remove();
  });

  it('refuses passcodes under 6 characters when creating and changing a meeting', async () => {
    for (const passcode of ['1234', '12345', 'abcde']) {
      const res = await host.post('/api/meetings', { passcode });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorResponse.parse(res.json()).error).toEqual({
        code: 'bad_request',
        message: 'passcode: passcode must have at least 6 characters',
      });
    }
    expect(await db.selectFrom('meetings').selectAll().execute()).toHaveLength(0);

    const created = await host.post('/api/meetings', { passcode: '123456' });
    expect(created.statusCode, created.body).toBe(201);
    const { meeting, hostSecret } = created.json() as { meeting: { id: string }; hostSecret: string };
    const patch = (passcode: string | null) =>
      app.inject({
        method: 'PATCH',
        url: `/api/meetings/${meeting.id}`,
        headers: { 'content-type': 'application/json', 'x-host-secret': hostSecret },
        payload: { v: 1, passcode },
      });
    for (const passcode of ['4711', '47110']) {
      const res = await patch(passcode);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorResponse.parse(res.json()).error).toEqual({
        code: 'bad_request',
        message: 'passcode: passcode must have at least 6 characters',
      });
    }
    expect((await patch('471100')).statusCode).toBe(200);
    expect((await patch(null)).statusCode).toBe(200);
  });
});
