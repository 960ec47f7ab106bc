import { describe, expect, it } from 'vitest';
import {
  SPEECH_LEVEL,
  SpeakerRanking,
  countLevel,
  emptyLevelWindow,
  resetLevelWindow,
  type LevelWindow,
} from '../../src/sfu/worker/speakers.js';

const TICK = 200;
/** 50 Opus packets a second: one window of TICK ms holds 10. */
const PACKETS = 10;

/** The audio-level byte of RFC 6464: V in the top bit, the level in −dBov below it. */
const byte = (dBov: number, voice: boolean): number => (voice ? 0x80 : 0) | Math.min(127, -dBov);

/** A window of `PACKETS` packets, `share` of them at `dBov` (the rest silent). */
function window(dBov: number, share = 1, voice = false): LevelWindow {
  const w = emptyLevelWindow();
  for (let i = 0; i < PACKETS; i++)
    countLevel(w, i < share * PACKETS ? byte(dBov, voice) : byte(-127, false));
  return w;
}

/** Drives a ranking tick by tick: `levels` gives each publisher's window (undefined: no audio). */
class Meeting {
  readonly ranking = new SpeakerRanking();
  now = 0;
  changes = 0;
  constructor(readonly ids: string[]) {}

  tick(levels: Record<string, LevelWindow | undefined>, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.now += TICK;
      for (const id of this.ids) this.ranking.observe(id, levels[id], TICK);
      if (this.ranking.rank(this.now)) this.changes++;
    }
  }

  get order(): readonly string[] {
    return this.ranking.speakers();
  }
}

describe('audio-level counting', () => {
  it('counts level, loudness and the voice flag of each packet', () => {
    const w = emptyLevelWindow();
    countLevel(w, byte(-20, true));
    countLevel(w, byte(-70, false)); // quieter than SPEECH_LEVEL
    countLevel(w, byte(-SPEECH_LEVEL, false)); // exactly at it: counts as sound
    expect(w).toEqual({
      packets: 3,
      loud: 2,
      voice: 1,
      loudVoice: 1,
      loudness: 107 + 57 + (127 - SPEECH_LEVEL),
    });
    resetLevelWindow(w);
    expect(w).toEqual(emptyLevelWindow());
  });
});

describe('speaker ranking', () => {
  it('makes a speaker of sustained sound only, and keeps it through short pauses', () => {
    const m = new Meeting(['a', 'b']);
    m.tick({ a: window(-127), b: window(-127) }, 5);
    expect(m.order).toEqual([]);
    expect(m.ranking.hasLevels('a')).toBe(true);
    // A cough: one window half full is not speech.
    m.tick({ a: window(-20, 0.5) });
    m.tick({ a: window(-127) }, 3);
    expect(m.ranking.isSpeaking('a')).toBe(false);
    expect(m.order).toEqual([]);
    // Speech: within half a second.
    m.tick({ a: window(-25) }, 3);
    expect(m.ranking.isSpeaking('a')).toBe(true);
    expect(m.order).toEqual(['a']);
    // A breath between words (one silent window) does not end it.
    m.tick({ a: window(-127) });
    expect(m.ranking.isSpeaking('a')).toBe(true);
    m.tick({ a: window(-25) }, 2);
    // Silence for a while does: 'a' stays in the order as a past speaker.
    m.tick({ a: window(-127) }, 6);
    expect(m.ranking.isSpeaking('a')).toBe(false);
    expect(m.order).toEqual(['a']);
  });

  it('orders speaking now first, then past speakers by recency', () => {
    const m = new Meeting(['a', 'b', 'c']);
    m.tick({ a: window(-20) }, 5); // a speaks
    m.tick({ b: window(-20) }, 10); // then b (a stops)
    expect(m.order).toEqual(['b', 'a']);
    m.tick({ c: window(-20) }, 10); // then c (b stops)
    expect(m.order).toEqual(['c', 'b', 'a']);
    m.tick({ a: window(-20) }, 10); // a again: front, then the most recent before it
    expect(m.order).toEqual(['a', 'c', 'b']);
  });

  it('keeps the order of two speakers unless one is clearly louder (no flapping)', () => {
    const m = new Meeting(['a', 'b']);
    m.tick({ a: window(-30) }, 3);
    m.tick({ a: window(-30), b: window(-30) }, 25);
    expect(m.order).toEqual(['a', 'b']);
    // Each a few dB louder in turn, for a second at a time: the order holds.
    const before = m.changes;
    for (let i = 0; i < 40; i++)
      m.tick(i % 10 < 5 ? { a: window(-27), b: window(-33) } : { a: window(-33), b: window(-27) });
    expect(m.order).toEqual(['a', 'b']);
    expect(m.changes).toBe(before);
    // b clearly louder (20 dB) for a few seconds: b goes first, once.
    m.tick({ a: window(-45), b: window(-25) }, 15);
    expect(m.order).toEqual(['b', 'a']);
    expect(m.changes).toBe(before + 1);
  });

  it('honours the voice flag once a publisher sets it', () => {
    const m = new Meeting(['a']);
    // A publisher that sets V: loud packets without V (noise) are not speech.
    m.tick({ a: window(-20, 1, true) }, 3);
    expect(m.ranking.isSpeaking('a')).toBe(true);
    m.tick({ a: window(-20, 1, false) }, 8);
    expect(m.ranking.isSpeaking('a')).toBe(false);
    // A publisher that never sets V is judged by level alone (Chrome leaves V clear).
    const n = new Meeting(['b']);
    n.tick({ b: window(-20, 1, false) }, 3);
    expect(n.ranking.isSpeaking('b')).toBe(true);
  });

  it('lets a new speaker’s audio through before it counts as a speaker (onset)', () => {
    const m = new Meeting(['a', 'b', 'c', 'd']);
    m.tick({ a: window(-20), b: window(-20), c: window(-20) }, 4);
    m.tick({}, 10);
    expect(m.order).toEqual(['a', 'b', 'c']);
    // d starts: its first window puts it right after those speaking now (nobody), before the past speakers.
    m.tick({ d: window(-20) });
    expect(m.ranking.isSpeaking('d')).toBe(false);
    expect(m.order).toEqual(['a', 'b', 'c']);
    expect(m.ranking.audioOrder()).toEqual(['d', 'a', 'b', 'c']);
  });

  it('knows who sends no levels, and forgets who left', () => {
    const m = new Meeting(['a', 'b']);
    m.tick({ a: window(-20) }, 4);
    expect(m.ranking.hasLevels('b')).toBe(false);
    expect(m.ranking.hasLevels('a')).toBe(true);
    m.ranking.forget('a');
    expect(m.order).toEqual([]);
    expect(m.ranking.hasLevels('a')).toBe(false);
  });
});
