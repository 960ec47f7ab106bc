import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMeetingRequest, ProtocolError } from '@conclave/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  clientKeyForIp,
  createDatabase,
  MeetingStore,
  migrateToLatest,
  type Db,
  type MeetingChange,
} from '../src/index.js';
import { hashSecret, PASSCODE_SCRYPT, verifySecret } from '../src/meeting-store/secret-hash.js';
import { fakeClock, tempDir } from './helpers.js';

const req = (over: Record<string, unknown> = {}) => createMeetingRequest.parse({ v: 1, ...over });

describe('MeetingStore', () => {
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

  it('creates meetings with random URL-safe ids and host secrets', async () => {
    const a = await store.create(
      req({ title: 'Standup', mode: 'standard', waitingRoom: true, maxParticipants: 12 }),
    );
    const b = await store.create(req());
    expect(a.meeting.id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(a.meeting.id).not.toBe(b.meeting.id);
    expect(Buffer.from(a.hostSecret, 'base64url')).toHaveLength(32);
    expect(a.meeting).toEqual({
      id: a.meeting.id,
      title: 'Standup',
      mode: 'standard',
      settings: {
        passcodeRequired: false,
        waitingRoom: true,
        muteOnEntry: false,
        maxParticipants: 12,
        locked: false,
        allowScreenShare: true,
        attestation: true,
      },
      ended: false,
    });
    expect(await store.get(a.meeting.id)).toEqual(a.meeting);
    expect(await store.get('doesnotexist')).toBeUndefined();
    expect(await store.get('../../etc')).toBeUndefined();
  });

  it('stores passcodes and host secrets only as scrypt hashes', async () => {
    const passcode = 'correct-horse-4711';
    const { meeting, hostSecret } = await store.create(req({ passcode }));
    const row = await db
      .selectFrom('meetings')
      .selectAll()
      .where('id', '=', meeting.id)
      .executeTakeFirstOrThrow();
    expect(row.passcode_hash).toMatch(/^scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(row.host_secret_hash).toMatch(/^scrypt\$ln=10,r=8,p=1\$/);
    expect(JSON.stringify(row)).not.toContain(passcode);
    expect(JSON.stringify(row)).not.toContain(hostSecret);
    // Also the raw bytes of every file of the database (main file, WAL, shared memory).
    await db.destroy();
    db = createDatabase({ dataDir: dir.path });
    for (const name of readdirSync(dir.path)) {
      const bytes = readFileSync(join(dir.path, name));
      expect(bytes.includes(Buffer.from(passcode)), name).toBe(false);
      expect(bytes.includes(Buffer.from(hostSecret)), name).toBe(false);
      expect(bytes.includes(Buffer.from(Buffer.from(hostSecret, 'base64url').toString('base64'))), name).toBe(
        false,
      );
    }
    store = new MeetingStore(db, { now: clock.now });
    expect(await store.checkHostSecret(meeting.id, hostSecret)).toBe(true);
  });

  it('checks host secrets', async () => {
    const { meeting, hostSecret } = await store.create(req());
    expect(await store.checkHostSecret(meeting.id, hostSecret)).toBe(true);
    expect(
      await store.checkHostSecret(
        meeting.id,
        hostSecret.slice(0, -1) + (hostSecret.endsWith('A') ? 'B' : 'A'),
      ),
    ).toBe(false);
    expect(await store.checkHostSecret(meeting.id, '')).toBe(false);
    expect(await store.checkHostSecret('unknownmeeting', hostSecret)).toBe(false);
    const other = await store.create(req());
    expect(await store.checkHostSecret(other.meeting.id, hostSecret)).toBe(false);
  });

  it('checks passcodes', async () => {
    const open = await store.create(req());
    expect(await store.checkPasscode(open.meeting.id, undefined, '192.0.2.1')).toBe('not_required');
    expect(await store.checkPasscode(open.meeting.id, 'anything', '192.0.2.1')).toBe('not_required');
    const { meeting } = await store.create(req({ passcode: 'Café 1234' }));
    expect(meeting.settings.passcodeRequired).toBe(true);
    expect(await store.checkPasscode(meeting.id, 'Café 1234', '192.0.2.1')).toBe('ok');
    // Same text, decomposed accent (NFD): still the same passcode.
    expect(await store.checkPasscode(meeting.id, 'Cafe\u0301 1234', '192.0.2.1')).toBe('ok');
    expect(await store.checkPasscode(meeting.id, 'café 1234', '192.0.2.1')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, undefined, '192.0.2.1')).toBe('wrong');
    await expect(store.checkPasscode('unknownmeeting', 'x', '192.0.2.1')).rejects.toMatchObject({
      code: 'unknown_meeting',
    });
  });

  it('limits wrong passcodes per meeting and network: 5 per 5 minutes', async () => {
    const { meeting } = await store.create(req({ passcode: 'sesame-4711' }));
    const other = await store.create(req({ passcode: 'sesame-4711' }));
    for (let i = 0; i < 5; i++) {
      expect(await store.checkPasscode(meeting.id, `000${i}`, '198.51.100.7')).toBe('wrong');
      clock.advance(10_000);
    }
    // Over the limit: refused without checking, even the right passcode.
    expect(await store.checkPasscode(meeting.id, '9999', '198.51.100.7')).toBe('rate_limited');
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '198.51.100.7')).toBe('rate_limited');
    // Another address of the same /24 shares the limit; other networks and meetings do not.
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '198.51.100.8')).toBe('rate_limited');
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '198.51.101.7')).toBe('ok');
    expect(await store.checkPasscode(other.meeting.id, 'sesame-4711', '198.51.100.7')).toBe('ok');
    // Blocked attempts are not recorded: the block ends 5 minutes after the first failure.
    clock.advance(5 * 60_000 - 50_000 - 1);
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '198.51.100.7')).toBe('rate_limited');
    clock.advance(1);
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '198.51.100.7')).toBe('ok');
    // One slot freed (the oldest failure left the window), so one more wrong try, then blocked.
    expect(await store.checkPasscode(meeting.id, 'nope', '198.51.100.7')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, 'nope', '198.51.100.7')).toBe('rate_limited');
    // Correct passcodes are not counted as failures; the 6 failures are all kept, as the first
    // one still counts towards the meeting-wide limit (15 minutes).
    const rows = await db
      .selectFrom('passcode_attempts')
      .selectAll()
      .where('meeting_id', '=', meeting.id)
      .execute();
    expect(rows).toHaveLength(6);
    // Old attempts are pruned as new ones are written.
    clock.advance(60 * 60_000);
    expect(await store.checkPasscode(meeting.id, 'nope', '198.51.100.7')).toBe('wrong');
    expect(await db.selectFrom('passcode_attempts').selectAll().execute()).toHaveLength(1);
  });

  it('holds the limit under concurrent attempts', async () => {
    const { meeting } = await store.create(req({ passcode: 'sesame-4711' }));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.checkPasscode(meeting.id, `guess${i}`, '203.0.113.9')),
    );
    expect(results.filter((r) => r === 'wrong').length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r === 'rate_limited').length).toBeGreaterThanOrEqual(7);
  });

  it('counts an IPv6 /64 as one network', async () => {
    const { meeting } = await store.create(req({ passcode: 'sesame-4711' }));
    for (let i = 1; i <= 5; i++) {
      expect(await store.checkPasscode(meeting.id, 'nope', `2001:db8:1:2::${i}`)).toBe('wrong');
    }
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '2001:db8:1:2:ffff::1')).toBe('rate_limited');
    expect(await store.checkPasscode(meeting.id, 'sesame-4711', '2001:db8:1:3::1')).toBe('ok');
  });

  it('updates settings and emits changes', async () => {
    const changes: MeetingChange[] = [];
    const off = store.onChange((c) => changes.push(c));
    const { meeting } = await store.create(req({ passcode: 'first-code' }));
    const updated = await store.update(meeting.id, {
      v: 1,
      title: 'Renamed',
      locked: true,
      muteOnEntry: true,
      maxParticipants: 3,
      allowScreenShare: false,
      waitingRoom: true,
      attestation: false,
    });
    expect(updated).toMatchObject({
      title: 'Renamed',
      settings: {
        locked: true,
        muteOnEntry: true,
        maxParticipants: 3,
        allowScreenShare: false,
        waitingRoom: true,
        attestation: false,
        passcodeRequired: true,
      },
    });
    await store.update(meeting.id, { v: 1, passcode: 'second-code' });
    expect(await store.checkPasscode(meeting.id, 'first-code', '192.0.2.1')).toBe('wrong');
    expect(await store.checkPasscode(meeting.id, 'second-code', '192.0.2.1')).toBe('ok');
    const cleared = await store.update(meeting.id, { v: 1, passcode: null });
    expect(cleared.settings.passcodeRequired).toBe(false);
    expect(await store.checkPasscode(meeting.id, 'second-code', '192.0.2.1')).toBe('not_required');
    // An empty patch changes nothing and emits nothing.
    expect(await store.update(meeting.id, { v: 1 })).toEqual(cleared);
    expect(changes.map((c) => c.type)).toEqual(['updated', 'updated', 'updated']);
    expect(changes[0]?.type === 'updated' && changes[0].meeting.title).toBe('Renamed');
    off();
    await store.update(meeting.id, { v: 1, title: 'x' });
    expect(changes).toHaveLength(3);
  });

  it('ends meetings once; an ended meeting cannot be changed', async () => {
    const changes: MeetingChange[] = [];
    store.onChange((c) => changes.push(c));
    const { meeting } = await store.create(req());
    expect((await store.end(meeting.id)).ended).toBe(true);
    expect((await store.end(meeting.id)).ended).toBe(true);
    expect(changes.map((c) => c.type)).toEqual(['ended']);
    expect((await store.get(meeting.id))?.ended).toBe(true);
    await expect(store.update(meeting.id, { v: 1, title: 'late' })).rejects.toMatchObject({
      code: 'meeting_ended',
    });
    await expect(store.update(meeting.id, { v: 1 })).rejects.toMatchObject({ code: 'meeting_ended' });
    await expect(store.update('unknownmeeting', { v: 1, title: 'x' })).rejects.toBeInstanceOf(ProtocolError);
    await expect(store.end('unknownmeeting')).rejects.toMatchObject({ code: 'unknown_meeting' });
  });

  it('stores the change even when a listener throws', async () => {
    const errors: unknown[] = [];
    const s = new MeetingStore(db, { onListenerError: (e) => errors.push(e) });
    const seen: string[] = [];
    s.onChange(() => {
      throw new Error('boom');
    });
    s.onChange((c) => seen.push(c.type));
    const { meeting } = await s.create(req());
    await s.update(meeting.id, { v: 1, title: 'still stored' });
    expect(seen).toEqual(['updated']);
    expect(errors).toHaveLength(1);
    expect((await s.get(meeting.id))?.title).toBe('still stored');
  });
});

describe('secret hashes', () => {
  it('verify only the right secret and reject malformed records', async () => {
    const stored = await hashSecret('s3cret!', PASSCODE_SCRYPT);
    expect(await verifySecret('s3cret!', stored)).toBe(true);
    expect(await verifySecret('s3cret?', stored)).toBe(false);
    expect(await hashSecret('s3cret!', PASSCODE_SCRYPT)).not.toBe(stored); // per-record salt
    expect(await verifySecret('s3cret!', 'plain')).toBe(false);
    expect(await verifySecret('s3cret!', stored.replace('ln=14', 'ln=40'))).toBe(false);
    expect(await verifySecret('s3cret!', stored.slice(0, -2))).toBe(false);
  });
});

describe('clientKeyForIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2::5', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['2001:db8::192.0.2.1', '2001:db8:0:0::/64'],
    ['not-an-ip', 'not-an-ip'],
  ])('%s -> %s', (ip, key) => {
    expect(clientKeyForIp(ip)).toBe(key);
  });
});
