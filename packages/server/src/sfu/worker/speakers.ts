/**
 * Who speaks, from the clear audio-level header extension of each publisher's audio (RFC 6464:
 * one byte, the top bit the voice-activity flag V, the low 7 bits the level in −dBov, 127 =
 * silence). The SFU learns who speaks when, never what: the audio itself is SFrame ciphertext.
 *
 * - Per packet (`countLevel`, the publish hot path): a few counters in a `LevelWindow`.
 * - Per tick (`SpeakerRanking.observe`, then `rank`): each publisher's window becomes an
 *   activity figure (the share of its packets louder than SPEECH_LEVEL — and flagged as voice,
 *   once the publisher has shown it sets V), smoothed over ACTIVITY_TAU_MS, and a smoothed
 *   loudness in dB. A publisher is speaking from SPEAKING_ENTER of smoothed activity until it
 *   falls under SPEAKING_EXIT (hysteresis: a cough does not make a speaker, a breath between
 *   words does not unmake one).
 * - The recent-speaker order: those speaking now first (their order kept; one moves ahead of
 *   another only when louder by LOUDER_MARGIN_DB, and at most once per REORDER_HOLD_MS), then
 *   those who spoke before, the most recent first. Publishers who never spoke are not in it.
 */

/** Level byte (−dBov) at or under which a packet counts as sound: −50 dBov and louder. */
export const SPEECH_LEVEL = 50;
/** Time constant of the activity smoothing. */
const ACTIVITY_TAU_MS = 400;
/** Time constant of the loudness smoothing (slower: it only orders simultaneous speakers). */
const LOUDNESS_TAU_MS = 1200;
/** Smoothed activity from which a publisher is speaking... */
const SPEAKING_ENTER = 0.5;
/** ...and under which it stops. */
const SPEAKING_EXIT = 0.2;
/** Activity in the last window that makes an "onset" (about to speak: audio lets it through). */
const ONSET_ACTIVITY = 0.3;
/** A speaker passes another one only when this much louder (smoothed dB). */
const LOUDER_MARGIN_DB = 6;
/** At most one reordering among those speaking per this interval. */
const REORDER_HOLD_MS = 1500;

/** What one audio stream's packets said in one window: counters only (no allocation per packet). */
export interface LevelWindow {
  /** Packets that carried the audio-level extension. */
  packets: number;
  /** Packets at or louder than SPEECH_LEVEL. */
  loud: number;
  /** Packets with the voice-activity flag. */
  voice: number;
  /** Loud packets with the voice-activity flag. */
  loudVoice: number;
  /** Sum over the packets of their loudness: 127 − level (dB above −127 dBov). */
  loudness: number;
}

export function emptyLevelWindow(): LevelWindow {
  return { packets: 0, loud: 0, voice: 0, loudVoice: 0, loudness: 0 };
}

/** Counts one packet's audio-level byte into `w` (the publish hot path). */
export function countLevel(w: LevelWindow, byte: number): void {
  const level = byte & 0x7f;
  const voice = (byte & 0x80) !== 0;
  w.packets++;
  w.loudness += 127 - level;
  if (voice) w.voice++;
  if (level <= SPEECH_LEVEL) {
    w.loud++;
    if (voice) w.loudVoice++;
  }
}

export function resetLevelWindow(w: LevelWindow): void {
  w.packets = 0;
  w.loud = 0;
  w.voice = 0;
  w.loudVoice = 0;
  w.loudness = 0;
}

interface SpeakerState {
  /** Some packet carried a level: the publisher can be ranked. */
  hasLevels: boolean;
  /** Some packet set V: from then on only packets flagged as voice count as activity. */
  usesVoiceFlag: boolean;
  activity: number;
  /** Activity of the latest window alone. */
  lastActivity: number;
  loudnessDb: number;
  speaking: boolean;
  /** When it last was speaking (ms); undefined: never. */
  lastSpokeAt: number | undefined;
}

export class SpeakerRanking {
  private readonly states = new Map<string, SpeakerState>();
  private order: string[] = [];
  private lastReorderAt = -Infinity;

  /** One publisher's window of `windowMs` (undefined or empty: no level arrived). */
  observe(id: string, w: LevelWindow | undefined, windowMs: number): void {
    let s = this.states.get(id);
    if (!s) {
      s = {
        hasLevels: false,
        usesVoiceFlag: false,
        activity: 0,
        lastActivity: 0,
        loudnessDb: 0,
        speaking: false,
        lastSpokeAt: undefined,
      };
      this.states.set(id, s);
    }
    const packets = w?.packets ?? 0;
    if (packets > 0 && w) {
      s.hasLevels = true;
      if (w.voice > 0) s.usesVoiceFlag = true;
    }
    const active = packets > 0 && w ? (s.usesVoiceFlag ? w.loudVoice : w.loud) / packets : 0;
    const loudness = packets > 0 && w ? w.loudness / packets : 0;
    const a = smoothing(windowMs, ACTIVITY_TAU_MS);
    const b = smoothing(windowMs, LOUDNESS_TAU_MS);
    s.lastActivity = active;
    s.activity += a * (active - s.activity);
    s.loudnessDb += b * (loudness - s.loudnessDb);
    s.speaking = s.speaking ? s.activity >= SPEAKING_EXIT : s.activity >= SPEAKING_ENTER;
  }

  /** A publisher left (or stopped publishing audio). */
  forget(id: string): void {
    this.states.delete(id);
    const i = this.order.indexOf(id);
    if (i >= 0) this.order.splice(i, 1);
  }

  /** Recomputes the order after this tick's `observe` calls; true when it changed. */
  rank(now: number): boolean {
    for (const s of this.states.values()) if (s.speaking) s.lastSpokeAt = now;
    const position = new Map(this.order.map((id, i) => [id, i] as const));
    const pos = (id: string): number => position.get(id) ?? Infinity;
    const speaking: string[] = [];
    const before: string[] = [];
    for (const [id, s] of this.states) {
      if (s.speaking) speaking.push(id);
      else if (s.lastSpokeAt !== undefined) before.push(id);
    }
    // Speaking now: the previous order, newcomers behind (in the order they were seen).
    speaking.sort((x, y) => pos(x) - pos(y));
    if (now - this.lastReorderAt >= REORDER_HOLD_MS) {
      let moved = false;
      for (let i = 1; i < speaking.length; i++) {
        for (let j = i; j > 0; j--) {
          const louder = this.loudness(speaking[j]!) - this.loudness(speaking[j - 1]!) >= LOUDER_MARGIN_DB;
          if (!louder) break;
          [speaking[j - 1], speaking[j]] = [speaking[j]!, speaking[j - 1]!];
          moved = true;
        }
      }
      if (moved) this.lastReorderAt = now;
    }
    // Spoke before: the most recent first; the previous order breaks ties.
    before.sort((x, y) => this.spokeAt(y) - this.spokeAt(x) || pos(x) - pos(y));
    const next = [...speaking, ...before];
    const changed = next.length !== this.order.length || next.some((id, i) => id !== this.order[i]);
    this.order = next;
    return changed;
  }

  /** The recent-speaker order: speaking now, then those who spoke before, recent first. */
  speakers(): readonly string[] {
    return this.order;
  }

  /**
   * The order for audio: the recent-speaker order with those who just started to make sound
   * (not yet speakers) right after those speaking now, so a new speaker's first words are not
   * held back until the smoothing calls them a speaker.
   */
  audioOrder(): string[] {
    const speakingNow = this.order.filter((id) => this.states.get(id)?.speaking);
    const onsets = [...this.states]
      .filter(([, s]) => !s.speaking && s.lastActivity >= ONSET_ACTIVITY)
      .map(([id]) => id);
    const rest = this.order.filter((id) => !this.states.get(id)?.speaking && !onsets.includes(id));
    return [...speakingNow, ...onsets, ...rest];
  }

  isSpeaking(id: string): boolean {
    return this.states.get(id)?.speaking ?? false;
  }

  /** Whether the publisher's audio carries levels at all (else it cannot be ranked). */
  hasLevels(id: string): boolean {
    return this.states.get(id)?.hasLevels ?? false;
  }

  private loudness(id: string): number {
    return this.states.get(id)?.loudnessDb ?? 0;
  }

  private spokeAt(id: string): number {
    return this.states.get(id)?.lastSpokeAt ?? -Infinity;
  }
}

/** Weight of a new sample in an exponential average with time constant `tau`. */
function smoothing(windowMs: number, tau: number): number {
  return 1 - Math.exp(-Math.max(0, windowMs) / tau);
}
