import { describe, expect, it } from 'vitest';
import { MlsDevice, toBase64, type GroupMember, type SenderStats } from '@conclave/crypto';
import type { Participant } from '@conclave/protocol';
import { buildPeople, mediaStatus, NO_MEDIA_MS, type PeopleInput } from '../src/people.js';
import type { ForwardingStatus } from '../src/media-view.js';

const NOW = 1_000_000;

function stats(s: Partial<SenderStats>): SenderStats {
  return {
    decrypted: 0,
    failures: 0,
    withoutKey: 0,
    lastDecryptedAt: undefined,
    lastFailedAt: undefined,
    ...s,
  };
}

describe('mediaStatus', () => {
  const base = { sending: true, expectedSince: NOW - 1_000, stats: undefined, now: NOW };
  it('off when they send nothing, whatever arrives', () => {
    expect(mediaStatus({ ...base, sending: false, stats: stats({ lastDecryptedAt: NOW }) })).toBe('off');
  });
  it('connecting for the first seconds, then "no media" when nothing decrypted', () => {
    expect(mediaStatus(base)).toBe('connecting');
    expect(mediaStatus({ ...base, expectedSince: NOW - NO_MEDIA_MS })).toBe('no_media');
  });
  it('frames without a key are not media and not failures', () => {
    const early = stats({ withoutKey: 5 });
    expect(mediaStatus({ ...base, stats: early })).toBe('connecting');
    expect(mediaStatus({ ...base, expectedSince: NOW - 10_000, stats: early })).toBe('no_media');
  });
  it('receiving while frames decrypt; no media once they stop for 5 s', () => {
    expect(mediaStatus({ ...base, stats: stats({ decrypted: 9, lastDecryptedAt: NOW - 100 }) })).toBe(
      'receiving',
    );
    expect(
      mediaStatus({
        ...base,
        expectedSince: 0,
        stats: stats({ decrypted: 9, lastDecryptedAt: NOW - NO_MEDIA_MS }),
      }),
    ).toBe('no_media');
  });
  it('cannot decrypt when recent frames fail and none decrypts', () => {
    const failing = stats({
      failures: 3,
      lastFailedAt: NOW - 10,
      decrypted: 9,
      lastDecryptedAt: NOW - 9_000,
    });
    expect(mediaStatus({ ...base, stats: failing })).toBe('cannot_decrypt');
    // a failure among decrypting frames is not "cannot decrypt"
    expect(mediaStatus({ ...base, stats: { ...failing, lastDecryptedAt: NOW - 10 } })).toBe('receiving');
  });
});

async function member(leafIndex: number, name: string): Promise<GroupMember> {
  const d = await MlsDevice.create({ kind: 'guest', deviceId: `dev-${name}`, displayName: name });
  const identity = { v: 1 as const, kind: 'guest' as const, deviceId: `dev-${name}`, displayName: name };
  return { leafIndex, identity, signaturePublicKey: d.signatureKeys.publicKey };
}

function participant(id: string, m: GroupMember | undefined, extra: Partial<Participant> = {}): Participant {
  return {
    id,
    displayName: `server name of ${id}`,
    kind: 'guest',
    role: 'participant',
    state: 'joined',
    audio: true,
    video: false,
    deviceId: m?.identity.deviceId ?? `dev-${id}`,
    inGroup: m !== undefined,
    signatureKey: m ? toBase64(m.signaturePublicKey) : undefined,
    ...extra,
  };
}

function input(over: Partial<PeopleInput>): PeopleInput {
  return {
    mode: 'e2ee',
    participants: [],
    selfId: 'p-self',
    self: { displayName: 'Me', kind: 'guest', role: 'host', audio: true, video: true },
    roster: [],
    ownLeafIndex: 0,
    roles: undefined,
    senderStats: new Map(),
    expectedSince: () => NOW - 10_000,
    now: NOW,
    ...over,
  };
}

describe('buildPeople (E2EE)', () => {
  it('matches a participant to a leaf by signature key, not by device id or name', async () => {
    const [me, alice, bob] = await Promise.all([member(0, 'Me'), member(1, 'Alice'), member(2, 'Bob')]);
    // The server claims Bob's device id for a participant whose key is Alice's: the key decides.
    const pa = participant('pa', alice, { deviceId: bob.identity.deviceId, displayName: 'Bob' });
    const people = buildPeople(
      input({
        roster: [me, alice, bob],
        participants: [pa],
        roles: { hosts: [toBase64(me.signaturePublicKey)], cohosts: [toBase64(alice.signaturePublicKey)] },
        senderStats: new Map([[1, stats({ decrypted: 5, lastDecryptedAt: NOW - 50 })]]),
      }),
    );
    const byName = new Map(people.members.map((p) => [p.displayName, p]));
    expect(byName.get('Me')).toMatchObject({
      isSelf: true,
      participantId: 'p-self',
      groupRole: 'host',
      media: undefined,
    });
    // names come from the credential; the server's name and device id are not used
    expect(byName.get('Alice')).toMatchObject({
      participantId: 'pa',
      groupRole: 'cohost',
      media: 'receiving',
    });
    // Bob's leaf has no participant with its key: a member without a participant id
    expect(byName.get('Bob')).toMatchObject({ participantId: undefined, media: 'off' });
    expect(people.outsiders).toEqual([]);
  });

  it('a joined participant whose key is not in the group is an outsider (only members can tell)', async () => {
    const [me, alice] = await Promise.all([member(0, 'Me'), member(1, 'Alice')]);
    const outsider = participant('px', await member(9, 'Eve'));
    const waiting = participant('pw', undefined, { state: 'waiting' });
    const p = buildPeople(
      input({ roster: [me, alice], participants: [participant('pa', alice), outsider, waiting] }),
    );
    expect(p.outsiders.map((o) => o.participantId)).toEqual(['px']);
    expect(p.outsiders[0]).toMatchObject({
      inGroup: false,
      member: undefined,
      displayName: 'server name of px',
    });
    // before this client is in the group it lists no outsiders
    expect(
      buildPeople(input({ roster: [], ownLeafIndex: undefined, participants: [outsider] })).outsiders,
    ).toEqual([]);
  });

  it('media status uses the sender leaf of the matched member and the participant’s start time', async () => {
    const [me, alice] = await Promise.all([member(0, 'Me'), member(1, 'Alice')]);
    const p = buildPeople(
      input({
        roster: [me, alice],
        participants: [participant('pa', alice, { video: true })],
        expectedSince: (id) => (id === 'pa' ? NOW - 1_000 : 0),
      }),
    );
    expect(p.members.find((m) => m.participantId === 'pa')?.media).toBe('connecting');
  });
});

describe('buildPeople with the SFU’s media_status', () => {
  const status = (over: Partial<ForwardingStatus> = {}): ForwardingStatus => ({
    speakers: ['pa'],
    audio: ['pa'],
    video: [
      {
        participantId: 'pa',
        source: 'camera',
        forwarded: true,
        reason: 'speaker',
        layer: 0,
        layers: 3,
        limit: 'tile',
      },
      {
        participantId: 'pb',
        source: 'camera',
        forwarded: false,
        reason: 'last_n',
        layer: null,
        layers: 3,
        limit: null,
      },
    ],
    downlinkBps: 2_000_000,
    lossFraction: 0,
    rttMs: 2,
    ...over,
  });

  it('each person carries what the SFU forwards of them, at which layer', async () => {
    const [me, alice, bob] = await Promise.all([member(0, 'Me'), member(1, 'Alice'), member(2, 'Bob')]);
    const p = buildPeople(
      input({
        roster: [me, alice, bob],
        participants: [participant('pa', alice, { video: true }), participant('pb', bob, { video: true })],
        forwarding: status(),
      }),
    );
    const byId = new Map(p.members.map((m) => [m.participantId, m]));
    expect(byId.get('pa')?.forwarding).toMatchObject({
      audio: true,
      camera: { forwarded: true, layer: 0, layers: 3, limit: 'tile' },
      screen: undefined,
    });
    expect(byId.get('pb')?.forwarding).toMatchObject({ audio: false, camera: { reason: 'last_n' } });
    expect(byId.get('p-self')?.forwarding).toBeUndefined();
    // without a status nobody has one
    const none = buildPeople(input({ roster: [me, alice], participants: [participant('pa', alice)] }));
    expect(none.members.every((m) => m.forwarding === undefined)).toBe(true);
  });

  it('"not forwarded", not "no media", when the SFU forwards nothing of someone who sends', async () => {
    const [me, alice, bob] = await Promise.all([member(0, 'Me'), member(1, 'Alice'), member(2, 'Bob')]);
    const build = (forwarding: ForwardingStatus | undefined, bobStats?: SenderStats) =>
      buildPeople(
        input({
          roster: [me, alice, bob],
          participants: [participant('pa', alice, { video: true }), participant('pb', bob, { video: true })],
          forwarding,
          senderStats: new Map(bobStats ? [[2, bobStats]] : []),
        }),
      ).members.find((m) => m.participantId === 'pb')?.media;
    expect(build(undefined)).toBe('no_media');
    expect(build(status())).toBe('not_forwarded');
    // their audio is forwarded: nothing arriving is "no media" again
    expect(build(status({ audio: ['pa', 'pb'] }))).toBe('no_media');
    // what did arrive a moment ago still counts as received, and failures still show
    expect(build(status(), stats({ decrypted: 3, lastDecryptedAt: NOW - 100 }))).toBe('receiving');
    expect(build(status(), stats({ failures: 3, lastFailedAt: NOW - 100 }))).toBe('cannot_decrypt');
  });
});

describe('buildPeople (standard)', () => {
  it('lists the server’s joined participants and this client, without MLS fields', () => {
    const p = buildPeople(
      input({
        mode: 'standard',
        participants: [participant('pa', undefined), participant('pw', undefined, { state: 'waiting' })],
      }),
    );
    expect(p.members.map((m) => m.participantId)).toEqual(['p-self', 'pa']);
    expect(p.members.every((m) => m.member === undefined && m.media === undefined)).toBe(true);
    expect(p.members[0]).toMatchObject({ isSelf: true, displayName: 'Me', role: 'host', audio: true });
  });
});
