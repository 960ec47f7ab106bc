import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, migrateToLatest, type Db } from '../src/index.js';
import {
  MAX_REMOVAL_MARKS_PER_MEETING,
  MemoryAdmissionStore,
  type AdmissionStore,
  type RemovalMark,
  type RemovalMatch,
  type ResumeGrant,
} from '../src/meeting/admission-store.js';
import { DbAdmissionStore } from '../src/meeting-store/admission-records.js';
import { fakeClock, tempDir } from './helpers.js';

const grant = (over: Partial<ResumeGrant> = {}): ResumeGrant => ({
  participantId: 'p1',
  state: 'waiting',
  role: 'participant',
  deviceId: 'device-1',
  userId: undefined,
  signatureKey: 'c2lnbmF0dXJlLWtleS0x',
  displayName: 'Alice',
  ...over,
});

const byKind = (m: RemovalMatch[]) => [...m].sort((a, b) => a.kind.localeCompare(b.kind));

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openDb(dir = tempDir('conclave-admission-')): Promise<{ db: Db; dir: string }> {
  const db = createDatabase({ dataDir: dir.path });
  await migrateToLatest(db);
  cleanups.push(dir.remove);
  cleanups.push(() => db.destroy());
  return { db, dir: dir.path };
}

interface Subject {
  store: AdmissionStore;
  clock: ReturnType<typeof fakeClock>;
}

const implementations: Array<[string, () => Promise<Subject>]> = [
  [
    'MemoryAdmissionStore',
    async () => {
      const clock = fakeClock();
      return { store: new MemoryAdmissionStore(clock.now), clock };
    },
  ],
  [
    'DbAdmissionStore',
    async () => {
      const clock = fakeClock();
      const { db } = await openDb();
      return { store: new DbAdmissionStore(db, clock.now), clock };
    },
  ],
];

describe.each(implementations)('%s (the AdmissionStore contract)', (_name, make) => {
  it('issue gives a fresh random token that replaces the participant’s older one', async () => {
    const { store } = await make();
    const first = await store.issue('m1', grant());
    const second = await store.issue('m1', grant({ state: 'joined' }));
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(await store.lookup('m1', 'p1', first)).toBeUndefined();
    expect(await store.lookup('m1', 'p1', second)).toEqual(grant({ state: 'joined' }));
    // Other participants' tokens are untouched.
    const bob = await store.issue('m1', grant({ participantId: 'p2', displayName: 'Bob' }));
    await store.issue('m1', grant());
    expect(await store.lookup('m1', 'p2', bob)).toMatchObject({ participantId: 'p2', displayName: 'Bob' });
  });

  it('keeps every field of the grant, also an account and no signature key', async () => {
    const { store } = await make();
    const g = grant({ userId: 'user-9', signatureKey: undefined, role: 'cohost', state: 'joined' });
    const token = await store.issue('m1', g);
    expect(await store.lookup('m1', 'p1', token)).toEqual(g);
  });

  it('lookup needs the right token, participant and meeting', async () => {
    const { store } = await make();
    const token = await store.issue('m1', grant());
    await store.issue('m1', grant({ participantId: 'p2' }));
    await store.issue('m2', grant());
    expect(await store.lookup('m1', 'p1', token)).toBeDefined();
    expect(await store.lookup('m1', 'p2', token)).toBeUndefined();
    expect(await store.lookup('m2', 'p1', token)).toBeUndefined();
    expect(await store.lookup('m1', 'p1', `${token}x`)).toBeUndefined();
    expect(await store.lookup('m1', 'p1', token.slice(0, -1))).toBeUndefined();
    expect(await store.lookup('m1', 'p1', '')).toBeUndefined();
    expect(await store.lookup('m1', 'nobody', token)).toBeUndefined();
    // A lookup does not consume the token.
    expect(await store.lookup('m1', 'p1', token)).toBeDefined();
  });

  it('update changes the state and the role the token resumes into, and nothing else', async () => {
    const { store } = await make();
    const token = await store.issue('m1', grant());
    await store.update('m1', 'p1', { state: 'joined' });
    expect(await store.lookup('m1', 'p1', token)).toEqual(grant({ state: 'joined' }));
    await store.update('m1', 'p1', { role: 'cohost' });
    expect(await store.lookup('m1', 'p1', token)).toEqual(grant({ state: 'joined', role: 'cohost' }));
    await store.update('m1', 'p1', {});
    expect(await store.lookup('m1', 'p1', token)).toEqual(grant({ state: 'joined', role: 'cohost' }));
    // Another meeting's participant of the same id, and a revoked one, are not touched or revived.
    const other = await store.issue('m2', grant());
    await store.update('m1', 'p1', { role: 'host' });
    expect(await store.lookup('m2', 'p1', other)).toEqual(grant());
    await store.revoke('m1', 'p1');
    await store.update('m1', 'p1', { state: 'joined' });
    expect(await store.lookup('m1', 'p1', token)).toBeUndefined();
  });

  it('expireAfter: the token works for that long, then never again', async () => {
    const { store, clock } = await make();
    const token = await store.issue('m1', grant());
    const other = await store.issue('m1', grant({ participantId: 'p2' }));
    // Without a drop, a token does not expire.
    clock.advance(24 * 3600_000);
    expect(await store.lookup('m1', 'p1', token)).toBeDefined();
    await store.expireAfter('m1', 'p1', 120_000);
    clock.advance(119_999);
    expect(await store.lookup('m1', 'p1', token)).toBeDefined();
    clock.advance(1);
    expect(await store.lookup('m1', 'p1', token)).toBeUndefined();
    // Issuing another token (expired ones are purged then) does not bring it back.
    await store.issue('m1', grant({ participantId: 'p3' }));
    clock.advance(-60_000);
    expect(await store.lookup('m1', 'p1', token)).toBeUndefined();
    // Only that participant's token was touched.
    expect(await store.lookup('m1', 'p2', other)).toBeDefined();
  });

  it('a resume (a new token) while the grace runs gives a token without expiry', async () => {
    const { store, clock } = await make();
    await store.issue('m1', grant());
    await store.expireAfter('m1', 'p1', 1000);
    const again = await store.issue('m1', grant({ state: 'joined' }));
    clock.advance(3600_000);
    expect(await store.lookup('m1', 'p1', again)).toEqual(grant({ state: 'joined' }));
  });

  it('revoke ends the participant’s token only', async () => {
    const { store } = await make();
    const token = await store.issue('m1', grant());
    const other = await store.issue('m1', grant({ participantId: 'p2' }));
    await store.revoke('m1', 'p1');
    expect(await store.lookup('m1', 'p1', token)).toBeUndefined();
    expect(await store.lookup('m1', 'p2', other)).toBeDefined();
    await expect(store.revoke('m1', 'p1')).resolves.toBeUndefined();
    await expect(store.revoke('nope', 'nobody')).resolves.toBeUndefined();
  });

  it('forgetMeeting deletes the meeting’s tokens and removal marks, and no other meeting’s', async () => {
    const { store } = await make();
    const mark: RemovalMark = { kind: 'device', value: 'device-1' };
    const t1 = await store.issue('m1', grant());
    const t2 = await store.issue('m1', grant({ participantId: 'p2' }));
    const kept = await store.issue('m10', grant());
    await store.recordRemoval('m1', [mark], true);
    await store.recordRemoval('m10', [mark], true);
    await store.forgetMeeting('m1');
    expect(await store.lookup('m1', 'p1', t1)).toBeUndefined();
    expect(await store.lookup('m1', 'p2', t2)).toBeUndefined();
    expect(await store.matchRemovals('m1', [mark])).toEqual([]);
    // 'm10' starts with 'm1': still kept.
    expect(await store.lookup('m10', 'p1', kept)).toBeDefined();
    expect(await store.matchRemovals('m10', [mark])).toEqual([{ kind: 'device', banned: true }]);
  });

  it('removal marks match by kind and exact value, per meeting; banned wins over removed', async () => {
    const { store } = await make();
    await store.recordRemoval(
      'm1',
      [
        { kind: 'user', value: 'u1' },
        { kind: 'device', value: 'd1' },
        { kind: 'network', value: '198.51.100.0/24' },
      ],
      false,
    );
    await store.recordRemoval(
      'm1',
      [
        { kind: 'device', value: 'd1' },
        { kind: 'key', value: 'k1' },
      ],
      true,
    );
    // A later plain removal does not weaken an earlier ban either.
    await store.recordRemoval('m1', [{ kind: 'key', value: 'k1' }], false);

    const probe: RemovalMark[] = [
      { kind: 'user', value: 'u1' },
      { kind: 'device', value: 'd1' },
      { kind: 'key', value: 'k1' },
      { kind: 'network', value: '198.51.100.0/24' },
    ];
    expect(byKind(await store.matchRemovals('m1', probe))).toEqual([
      { kind: 'device', banned: true },
      { kind: 'key', banned: true },
      { kind: 'network', banned: false },
      { kind: 'user', banned: false },
    ]);
    // The same values under another kind, other values, or another meeting: nothing.
    expect(
      await store.matchRemovals('m1', [
        { kind: 'device', value: 'u1' },
        { kind: 'user', value: 'd1' },
        { kind: 'network', value: 'k1' },
        { kind: 'key', value: 'K1' },
        { kind: 'device', value: 'd1 ' },
      ]),
    ).toEqual([]);
    expect(await store.matchRemovals('m2', probe)).toEqual([]);
    expect(await store.matchRemovals('m1', [])).toEqual([]);
    await expect(store.recordRemoval('m1', [], true)).resolves.toBeUndefined();
  });

  it(`keeps at most ${MAX_REMOVAL_MARKS_PER_MEETING} marks per meeting: the oldest go first`, async () => {
    const { store } = await make();
    const marksOf = (i: number): RemovalMark[] => [
      { kind: 'user', value: `u${i}` },
      { kind: 'device', value: `d${i}` },
      { kind: 'key', value: `k${i}` },
      { kind: 'network', value: `n${i}` },
    ];
    // Another meeting's marks count for that meeting only.
    await store.recordRemoval('other', marksOf(0), true);
    const removals = MAX_REMOVAL_MARKS_PER_MEETING / 4 + 1; // one removal too many
    for (let i = 0; i < removals; i++) await store.recordRemoval('m1', marksOf(i), i === 0);
    expect(await store.matchRemovals('m1', marksOf(0))).toEqual([]);
    expect(await store.matchRemovals('m1', marksOf(1))).toHaveLength(4);
    expect(await store.matchRemovals('m1', marksOf(removals - 1))).toHaveLength(4);
    expect(await store.matchRemovals('other', marksOf(0))).toHaveLength(4);
  });
});

describe('DbAdmissionStore', () => {
  it('holds tokens and marks across a restart (a new store on the same database)', async () => {
    const clock = fakeClock();
    const { db } = await openDb();
    const before = new DbAdmissionStore(db, clock.now);
    const token = await before.issue('m1', grant({ state: 'joined' }));
    await before.recordRemoval('m1', [{ kind: 'device', value: 'd9' }], true);
    const after = new DbAdmissionStore(db, clock.now);
    expect(await after.lookup('m1', 'p1', token)).toEqual(grant({ state: 'joined' }));
    expect(await after.matchRemovals('m1', [{ kind: 'device', value: 'd9' }])).toEqual([
      { kind: 'device', banned: true },
    ]);
  });

  it('afterRestart gives connected participants’ tokens the grace and deletes expired ones', async () => {
    const clock = fakeClock();
    const { db } = await openDb();
    const before = new DbAdmissionStore(db, clock.now);
    const connected = await before.issue('m1', grant({ participantId: 'connected' }));
    const dropped = await before.issue('m1', grant({ participantId: 'dropped' }));
    const recent = await before.issue('m1', grant({ participantId: 'recent' }));
    await before.expireAfter('m1', 'dropped', 1_000);
    clock.advance(500);
    await before.expireAfter('m1', 'recent', 60_000);
    clock.advance(10_000); // the process was down for a while

    const after = new DbAdmissionStore(db, clock.now);
    await after.afterRestart(5_000);
    const rows = await db.selectFrom('resume_tokens').select(['participant_id', 'expires_at']).execute();
    expect(rows.map((r) => r.participant_id).sort()).toEqual(['connected', 'recent']);
    // A token that already had a deadline keeps it (neither shortened nor extended).
    expect(rows.find((r) => r.participant_id === 'recent')?.expires_at).toBe(
      new Date(fakeClock().now() + 500 + 60_000).toISOString(),
    );
    expect(await after.lookup('m1', 'dropped', dropped)).toBeUndefined();
    expect(await after.lookup('m1', 'connected', connected)).toBeDefined();
    clock.advance(4_999);
    expect(await after.lookup('m1', 'connected', connected)).toBeDefined();
    clock.advance(1);
    expect(await after.lookup('m1', 'connected', connected)).toBeUndefined();
    expect(await after.lookup('m1', 'recent', recent)).toBeDefined();
    clock.advance(60_000);
    expect(await after.lookup('m1', 'recent', recent)).toBeUndefined();
  });

  it('stores tokens hashed and marks hashed: the database files hold neither', async () => {
    const clock = fakeClock();
    const { db, dir } = await openDb();
    const store = new DbAdmissionStore(db, clock.now);
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++)
      tokens.push(await store.issue('meeting-abc', grant({ participantId: `participant-${i}` })));
    const secretMarks: RemovalMark[] = [
      { kind: 'user', value: 'account-of-a-banned-user' },
      { kind: 'network', value: '203.0.113.0/24' },
    ];
    await store.recordRemoval('meeting-abc', secretMarks, true);
    await db.destroy(); // flushes the WAL into the file (and the last cleanup destroys it again: harmless)

    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)));
    const contains = (needle: string | Buffer) => files.some((bytes) => bytes.includes(needle));
    // The search works: what is stored in clear is found.
    expect(contains('participant-7')).toBe(true);
    expect(contains('c2lnbmF0dXJlLWtleS0x')).toBe(true);
    for (const token of tokens) {
      expect(contains(token)).toBe(false);
      expect(contains(Buffer.from(token, 'base64url'))).toBe(false);
      expect(contains(Buffer.from(token, 'base64url').toString('hex'))).toBe(false);
    }
    for (const m of secretMarks) expect(contains(m.value)).toBe(false);
  });
});
