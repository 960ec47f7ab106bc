import { describe, expect, it } from 'vitest';
import { parseClientMessage, parseServerMessage, ridSchema } from '../src/index.js';

const json = (m: unknown) => JSON.stringify(m);

describe('request ids (rid)', () => {
  it('accepts 1-32 characters of A-Z a-z 0-9 _ - and nothing else', () => {
    for (const ok of ['a', 'Z9', 'abc_DEF-123', 'x'.repeat(32)])
      expect(ridSchema.safeParse(ok).success).toBe(true);
    for (const bad of ['', 'x'.repeat(33), 'a b', 'a.b', 'é', 'a/b', 7, null])
      expect(ridSchema.safeParse(bad).success, String(bad)).toBe(false);
  });

  it('every client message may carry one, and keeps it', () => {
    const samples: unknown[] = [
      { v: 1, type: 'ping', rid: 'p1' },
      { v: 1, type: 'leave', rid: 'l1' },
      { v: 1, type: 'chat', text: 'hi', rid: 'c1' },
      { v: 1, type: 'lock', locked: true, rid: 'k1' },
      { v: 1, type: 'commit', epoch: '3', commit: 'AAAA', rid: 'm1' },
      { v: 1, type: 'join', meetingId: 'meet-1', displayName: 'Ann', deviceId: 'd', rid: 'j1' },
    ];
    for (const s of samples) {
      const parsed = parseClientMessage(json(s));
      expect(parsed).toEqual({
        ok: true,
        value: expect.objectContaining({ rid: (s as { rid: string }).rid }),
      });
    }
    // optional: a message without one is as valid as before
    expect(parseClientMessage(json({ v: 1, type: 'ping' }))).toEqual({
      ok: true,
      value: { v: 1, type: 'ping' },
    });
  });

  it('a message with an invalid rid is refused, naming the field, and the bad rid is not echoed', () => {
    for (const rid of ['', 'x'.repeat(33), 'has space', 12]) {
      const parsed = parseClientMessage(json({ v: 1, type: 'ping', rid }));
      expect(parsed).toEqual({
        ok: false,
        code: 'bad_request',
        message: expect.stringMatching(/^rid: /),
        ref: 'ping',
      });
    }
  });

  it('a message that fails validation keeps its rid only when that field is valid on its own', () => {
    expect(parseClientMessage(json({ v: 1, type: 'chat', text: '', rid: 'r-1' }))).toMatchObject({
      ok: false,
      code: 'bad_request',
      ref: 'chat',
      rid: 'r-1',
    });
    expect(parseClientMessage(json({ v: 2, type: 'ping', rid: 'r-2' }))).toMatchObject({
      ok: false,
      code: 'unsupported_version',
      rid: 'r-2',
    });
    expect(parseClientMessage(json({ v: 1, type: 'teleport', rid: 'r-3' }))).toMatchObject({
      ok: false,
      code: 'bad_request',
      ref: 'teleport',
      rid: 'r-3',
    });
    const noRid = [
      '{"v":1,"type":"ping","rid":"r-4"', // not JSON: nothing in it is trusted
      json([{ v: 1, type: 'ping', rid: 'r-5' }]),
      json({ v: 1, type: 'chat', text: '', rid: 'bad rid' }),
    ];
    for (const raw of noRid) {
      const parsed = parseClientMessage(raw);
      expect(parsed.ok).toBe(false);
      expect(parsed).not.toHaveProperty('rid', expect.anything());
    }
  });

  it('server errors and direct replies carry it; other server messages do not keep one', () => {
    const error = { v: 1, type: 'error', code: 'not_joined', message: 'join first', ref: 'chat', rid: 'a1' };
    expect(parseServerMessage(json(error))).toEqual({ ok: true, value: error });
    expect(parseServerMessage(json({ ...error, rid: 'not valid!' })).ok).toBe(false);
    const replies = [
      { v: 1, type: 'pong', rid: 'a2' },
      { v: 1, type: 'commit_accepted', rid: 'a3', epoch: '1', newEpoch: '2' },
      { v: 1, type: 'media_answer', rid: 'a4', pc: 'publish', sdp: 'v=0 an answer' },
    ];
    for (const r of replies) expect(parseServerMessage(json(r))).toEqual({ ok: true, value: r });
    // zod strips unknown fields: a broadcast is not an answer to anybody's request
    expect(parseServerMessage(json({ v: 1, type: 'meeting_ended', rid: 'a5' }))).toEqual({
      ok: true,
      value: { v: 1, type: 'meeting_ended' },
    });
  });
});
