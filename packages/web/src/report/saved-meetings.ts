import {
  REPORT_LOG_MESSAGES,
  type ReportableChat,
  type ReportableMeeting,
  type ReportablePerson,
} from '@conclave/client';
import { REPORT_AFTER_MEETING_DAYS } from '@conclave/protocol';

/**
 * What this device keeps of the meetings it was in, so that a participant can still report
 * someone from the end screen (or `/report/<meeting id>`) for REPORT_AFTER_MEETING_DAYS days:
 * the SDK's `reportable()` snapshot (the participant list and the chat with the material that
 * makes its messages checkable; never a media key or media), in localStorage under one key
 * per meeting. Every read prunes snapshots older than the limit, so nothing outlives it by
 * more than the next visit. Clips cannot be kept: the media buffer lives in the meeting's
 * memory only.
 *
 * Bounds: at most MAX_SAVED meetings (the oldest go first) and MAX_SNAPSHOT_CHARS per
 * meeting (a bigger snapshot drops its oldest chat messages, and the proofs only they needed,
 * until it fits). A storage
 * refusal (private browsing, quota) only means the end-screen report is not offered later.
 */
const PREFIX = 'conclave.reportable.';
const MAX_SAVED = 20;
const MAX_SNAPSHOT_CHARS = 1_500_000;
const MAX_MESSAGES = REPORT_LOG_MESSAGES;
const KEEP_MS = REPORT_AFTER_MEETING_DAYS * 24 * 60 * 60 * 1000;

/** A saved meeting, as the account page lists them. */
export interface SavedMeeting {
  meetingId: string;
  title: string;
  savedAt: number;
  /** When reporting from it stops (ms). */
  until: number;
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

function keys(s: Storage): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const k = s.key(i);
    if (k?.startsWith(PREFIX)) out.push(k);
  }
  return out;
}

/** A stored snapshot, or undefined when absent, unreadable or too old (then removed). */
function read(s: Storage, key: string, now: number): ReportableMeeting | undefined {
  let snap: ReportableMeeting | undefined;
  try {
    const parsed: unknown = JSON.parse(s.getItem(key) ?? 'null');
    if (isSnapshot(parsed)) snap = parsed;
  } catch {
    snap = undefined;
  }
  if (!snap || now - snap.savedAt > KEEP_MS || snap.savedAt > now + KEEP_MS) {
    s.removeItem(key);
    return undefined;
  }
  return snap;
}

/** The fields this module and the report dialog read (the rest is the SDK's, checked by `buildReport`). */
function isSnapshot(x: unknown): x is ReportableMeeting {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (
    o.v === 1 &&
    typeof o.proofs === 'object' &&
    o.proofs !== null &&
    typeof o.meetingId === 'string' &&
    typeof o.savedAt === 'number' &&
    typeof o.title === 'string' &&
    Array.isArray(o.people) &&
    Array.isArray(o.chat)
  );
}

/** Drops snapshots past the limit. */
export function pruneSavedMeetings(now = Date.now()): void {
  const s = storage();
  if (!s) return;
  for (const k of keys(s)) read(s, k, now);
}

/** Every meeting this device can still report from, newest first. */
export function savedMeetings(now = Date.now()): SavedMeeting[] {
  const s = storage();
  if (!s) return [];
  return keys(s)
    .flatMap((k) => {
      const snap = read(s, k, now);
      return snap
        ? [
            {
              meetingId: snap.meetingId,
              title: snap.title,
              savedAt: snap.savedAt,
              until: snap.savedAt + KEEP_MS,
            },
          ]
        : [];
    })
    .sort((a, b) => b.savedAt - a.savedAt);
}

export function loadSavedMeeting(meetingId: string, now = Date.now()): ReportableMeeting | undefined {
  const s = storage();
  return s ? read(s, PREFIX + meetingId, now) : undefined;
}

const personKey = (p: ReportablePerson) => p.signatureKey ?? p.participantId ?? p.displayName;
const chatKey = (c: ReportableChat) => `${c.senderKey ?? c.from ?? ''}|${c.sentAt}|${c.text}`;

/**
 * One meeting's snapshot after a rejoin (a new SDK client, which starts with an empty log):
 * the new one plus what only the kept one had. Kept messages get ids of their own (ids are
 * per client), newest MAX_MESSAGES kept.
 */
function merged(kept: ReportableMeeting | undefined, fresh: ReportableMeeting): ReportableMeeting {
  if (!kept) return fresh;
  const people = new Set(fresh.people.map(personKey));
  const messages = new Set(fresh.chat.map(chatKey));
  const older = kept.chat
    .filter((c) => !messages.has(chatKey(c)))
    .map((c, i) => ({ ...c, id: c.id.startsWith('kept-') ? c.id : `kept-${kept.savedAt}-${i}-${c.id}` }));
  const chat = [...older, ...fresh.chat].slice(-MAX_MESSAGES);
  const used = new Set(chat.flatMap((c) => (c.proofEpoch ? [c.proofEpoch] : [])));
  const proofs = Object.fromEntries(
    Object.entries({ ...kept.proofs, ...fresh.proofs }).filter(([epoch]) => used.has(epoch)),
  );
  return {
    ...fresh,
    people: [...kept.people.filter((p) => !people.has(personKey(p))), ...fresh.people],
    chat,
    proofs,
  };
}

/**
 * Keeps the snapshot of one meeting, merged with what was kept of it before (a rejoin); false
 * when the browser refused to store it.
 */
export function saveMeeting(fresh: ReportableMeeting): boolean {
  const s = storage();
  if (!s) return false;
  const snap = merged(read(s, PREFIX + fresh.meetingId, Date.now()), fresh);
  let fitted = snap;
  let text = JSON.stringify(fitted);
  while (text.length > MAX_SNAPSHOT_CHARS && fitted.chat.length > 0) {
    const chat = fitted.chat.slice(Math.ceil(fitted.chat.length / 4));
    const used = new Set(chat.flatMap((c) => (c.proofEpoch ? [c.proofEpoch] : [])));
    const proofs = Object.fromEntries(Object.entries(fitted.proofs).filter(([epoch]) => used.has(epoch)));
    fitted = { ...fitted, chat, proofs };
    text = JSON.stringify(fitted);
  }
  if (text.length > MAX_SNAPSHOT_CHARS) return false;
  const key = PREFIX + fresh.meetingId;
  // Room for this one: the oldest others go first (by count, then when the quota says so).
  const others = savedMeetings()
    .filter((m) => m.meetingId !== snap.meetingId)
    .sort((a, b) => a.savedAt - b.savedAt);
  while (others.length >= MAX_SAVED) s.removeItem(PREFIX + (others.shift()?.meetingId ?? ''));
  for (;;) {
    try {
      s.setItem(key, text);
      return true;
    } catch {
      const oldest = others.shift();
      if (!oldest) return false;
      s.removeItem(PREFIX + oldest.meetingId);
    }
  }
}
