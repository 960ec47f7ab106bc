import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReportableChat, ReportableMeeting } from '@conclave/client';
import {
  loadSavedMeeting,
  pruneSavedMeetings,
  saveMeeting,
  savedMeetings,
} from '../src/report/saved-meetings.js';

const DAY = 86_400_000;

/** localStorage as browsers have it, with a quota in characters (keys and values). */
class FakeStorage implements Storage {
  readonly items = new Map<string, string>();
  constructor(private readonly quota = Infinity) {}
  get length(): number {
    return this.items.size;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(k: string): string | null {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    const used = [...this.items].reduce((n, [key, val]) => n + (key === k ? 0 : key.length + val.length), 0);
    if (used + k.length + v.length > this.quota) throw new DOMException('full', 'QuotaExceededError');
    this.items.set(k, v);
  }
  removeItem(k: string): void {
    this.items.delete(k);
  }
  clear(): void {
    this.items.clear();
  }
}

let storage: FakeStorage;
const g = globalThis as { window?: { localStorage: Storage } };

function useStorage(s: FakeStorage): void {
  storage = s;
  g.window = { localStorage: s };
}

beforeEach(() => useStorage(new FakeStorage()));
afterEach(() => {
  delete g.window;
});

function chat(id: string, text: string, sentAt: number, epoch = '3'): ReportableChat {
  return {
    id,
    senderName: 'Mallory',
    senderKey: 'bWFsbG9yeQ==',
    text,
    sentAt,
    proofEpoch: epoch,
    evidence: { kind: 'mls_chat', proof: 0, framedContent: btoa(text), signature: 'c2ln' },
  };
}

function meeting(over: Partial<ReportableMeeting> = {}): ReportableMeeting {
  return {
    v: 1,
    meetingId: 'meeting-1',
    mode: 'e2ee',
    title: 'Weekly',
    savedAt: Date.now(),
    attestation: true,
    people: [
      { displayName: 'Me', signatureKey: 'bWU=', leafIndex: 0, isSelf: true },
      { displayName: 'Mallory', signatureKey: 'bWFsbG9yeQ==', leafIndex: 1, isSelf: false },
    ],
    chat: [chat('m-1', 'first', 1000)],
    proofs: { '3': { groupContext: 'Y29udGV4dA==', ratchetTree: 'dHJlZQ==' } },
    ...over,
  };
}

describe('meetings kept on this device for reports after the meeting', () => {
  it('keeps a snapshot per meeting and gives it back as it was saved', () => {
    expect(saveMeeting(meeting())).toBe(true);
    expect(loadSavedMeeting('meeting-1')).toEqual(
      meeting({ savedAt: loadSavedMeeting('meeting-1')?.savedAt }),
    );
    expect(loadSavedMeeting('other')).toBeUndefined();
    expect(savedMeetings().map((m) => m.meetingId)).toEqual(['meeting-1']);
  });

  it(`forgets a meeting ${7} days after it was saved, at the next read or prune`, () => {
    const now = Date.now();
    saveMeeting(meeting({ meetingId: 'recent', savedAt: now - 7 * DAY + 60_000 }));
    saveMeeting(meeting({ meetingId: 'old', savedAt: now - 7 * DAY - 1 }));
    expect(storage.items.size).toBe(2);
    pruneSavedMeetings(now);
    expect([...storage.items.keys()]).toEqual(['conclave.reportable.recent']);
    const listed = savedMeetings(now);
    expect(listed).toHaveLength(1);
    expect(listed[0]?.until).toBe(now - 7 * DAY + 60_000 + 7 * DAY);
    expect(loadSavedMeeting('recent', now + 60_001)).toBeUndefined();
    expect(storage.items.size).toBe(0);
  });

  it('drops what is not a snapshot of this version', () => {
    storage.setItem('conclave.reportable.junk', '{"meetingId": 3}');
    storage.setItem('conclave.reportable.text', 'not json');
    storage.setItem('conclave.reportable.v2', JSON.stringify({ ...meeting(), v: 2 }));
    storage.setItem('other.key', 'kept');
    pruneSavedMeetings();
    expect([...storage.items.keys()]).toEqual(['other.key']);
  });

  it('a rejoin (a new client, an empty log) keeps what the earlier join had, once, with ids of its own', () => {
    saveMeeting(meeting());
    const rejoined = meeting({
      people: [
        { displayName: 'Me again', signatureKey: 'bmV3', leafIndex: 2, isSelf: true },
        { displayName: 'Mallory', signatureKey: 'bWFsbG9yeQ==', leafIndex: 1, isSelf: false },
        { displayName: 'Gabi', participantId: 'p-gabi', isSelf: false },
      ],
      // The new client's ids start again: m-1 is another message now.
      chat: [chat('m-1', 'second', 2000, '4')],
      proofs: { '4': { groupContext: 'Y3R4NA==', ratchetTree: 'dHJlZTQ=' } },
    });
    saveMeeting(rejoined);
    const kept = loadSavedMeeting('meeting-1');
    expect(kept?.chat.map((c) => c.text)).toEqual(['first', 'second']);
    const ids = kept?.chat.map((c) => c.id) ?? [];
    expect(new Set(ids).size).toBe(2);
    expect(ids[1]).toBe('m-1');
    expect(Object.keys(kept?.proofs ?? {}).sort()).toEqual(['3', '4']);
    expect(kept?.people.map((p) => p.displayName).sort()).toEqual(['Gabi', 'Mallory', 'Me', 'Me again']);
    // The earlier self stays "self": it cannot be reported.
    expect(kept?.people.find((p) => p.displayName === 'Me')?.isSelf).toBe(true);

    // Saving the same again adds nothing twice, and a kept id stays the same.
    saveMeeting(rejoined);
    const again = loadSavedMeeting('meeting-1');
    expect(again?.chat.map((c) => c.id)).toEqual(ids);
  });

  it('keeps at most 20 meetings: a new one pushes out the oldest', () => {
    const now = Date.now();
    for (let i = 0; i < 20; i++)
      saveMeeting(meeting({ meetingId: `m-${i}`, savedAt: now - (20 - i) * 1000 }));
    expect(savedMeetings()).toHaveLength(20);
    saveMeeting(meeting({ meetingId: 'newest', savedAt: now }));
    const ids = savedMeetings().map((m) => m.meetingId);
    expect(ids).toHaveLength(20);
    expect(ids[0]).toBe('newest');
    expect(ids).not.toContain('m-0');
    expect(ids).toContain('m-1');
  });

  it('a snapshot over its size limit loses its oldest messages, and the proofs only they needed', () => {
    const big = 'x'.repeat(4000);
    const messages = Array.from({ length: 600 }, (_, i) =>
      chat(`m-${i}`, `${i} ${big}`, i, i < 300 ? '3' : '4'),
    );
    expect(
      saveMeeting(
        meeting({
          chat: messages,
          proofs: {
            '3': { groupContext: 'YQ==', ratchetTree: 'Yg==' },
            '4': { groupContext: 'Yw==', ratchetTree: 'ZA==' },
          },
        }),
      ),
    ).toBe(true);
    const kept = loadSavedMeeting('meeting-1');
    const texts = kept?.chat.map((c) => Number(c.text.split(' ')[0])) ?? [];
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.length).toBeLessThan(600);
    expect(texts[texts.length - 1]).toBe(599);
    expect(JSON.stringify(kept).length).toBeLessThanOrEqual(1_500_000);
    // About 150 of 9 kB fit: all from epoch 4, so epoch 3's proof went with the messages that needed it.
    expect(texts[0]).toBeGreaterThanOrEqual(300);
    expect(Object.keys(kept?.proofs ?? {})).toEqual(['4']);
  });

  it('when the browser refuses for lack of room, older meetings go first; with nothing left to drop it says no', () => {
    useStorage(new FakeStorage(3000));
    const now = Date.now();
    expect(saveMeeting(meeting({ meetingId: 'a', savedAt: now - 2000 }))).toBe(true);
    expect(saveMeeting(meeting({ meetingId: 'b', savedAt: now - 1000 }))).toBe(true);
    const large = meeting({ meetingId: 'c', savedAt: now, chat: [chat('m-1', 'y'.repeat(600), 1)] });
    expect(saveMeeting(large)).toBe(true);
    expect(savedMeetings().map((m) => m.meetingId)).toContain('c');
    expect(savedMeetings().map((m) => m.meetingId)).not.toContain('a');
    expect(saveMeeting(meeting({ meetingId: 'd', chat: [chat('m-1', 'z'.repeat(5000), 1)] }))).toBe(false);
  });

  it('without storage (private browsing) nothing is kept and nothing throws', () => {
    delete g.window;
    expect(saveMeeting(meeting())).toBe(false);
    expect(savedMeetings()).toEqual([]);
    expect(loadSavedMeeting('meeting-1')).toBeUndefined();
    expect(() => pruneSavedMeetings()).not.toThrow();
  });
});
