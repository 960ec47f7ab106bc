/**
 * Public SFrame API: a sender context (one KID, one counter) and a receiver key ring (many KIDs,
 * per-KID anti-replay and failure counters).
 *
 * Per frame, the only work is: header encode/decode, nonce = salt XOR CTR, one AEAD call, one
 * output copy. Key derivation and CryptoKey import happen once per KID (SFrameSender.create /
 * SFrameKeyRing.addKey).
 *
 * Per RFC 9605 §4.4.1 a base_key is used either to encrypt or to decrypt, never both: a sender
 * context and a key ring never share a DerivedKey in Conclave (each participant encrypts with its
 * own KID and only decrypts the others'). This module cannot enforce that across objects.
 */
import { aeadDecrypt, aeadEncrypt } from './aead.js';
import { MAX_U64, concatBytes } from '../util/bytes.js';
import { SFrameError } from './errors.js';
import { decodeHeader, headerLength, writeHeader } from './header.js';
import { deriveSFrameKey, type DerivedKey } from './keys.js';
import { ReplayWindow } from './replay.js';
import { DEFAULT_SUITE, getSuite, type SFrameSuite } from './suites.js';

/**
 * Default anti-replay window: 128 counters. SFrame is applied per frame and one sender's counter
 * is shared by all of its streams (audio ~50 frames/s, video up to 30-60 frames/s), so 128
 * counters cover roughly 1-2 s of reordering between and within those streams, far more than a
 * jitter buffer tolerates, while the bitmap stays at four 32-bit words per KID.
 */
export const DEFAULT_REPLAY_WINDOW = 128;

const EMPTY = new Uint8Array(0);

/** Salt split for a cheap per-frame nonce: only the last 8 bytes can change (CTR is 64-bit). */
interface NonceBase {
  readonly salt: Uint8Array<ArrayBuffer>;
  readonly off: number;
  readonly hi: number;
  readonly lo: number;
}

function nonceBase(saltIn: Uint8Array): NonceBase {
  if (saltIn.length < 8) throw new SFrameError('bad_input', 'SFrame salt must be at least 8 bytes');
  // Private plain-Uint8Array copy: nonceFrom's slice() must copy (on a Node Buffer it would be a view).
  const salt = new Uint8Array(saltIn);
  const view = new DataView(salt.buffer);
  const off = salt.length - 8;
  return { salt, off, hi: view.getUint32(off, false), lo: view.getUint32(off + 4, false) };
}

function nonceFrom(b: NonceBase, ctr: bigint): Uint8Array<ArrayBuffer> {
  const n = b.salt.slice();
  const c = ctr <= 0xffff_ffffn;
  const lo = (c ? Number(ctr) : Number(ctr & 0xffff_ffffn)) ^ b.lo;
  const hi = (c ? 0 : Number(ctr >> 32n)) ^ b.hi;
  const o = b.off;
  n[o] = hi >>> 24;
  n[o + 1] = (hi >>> 16) & 0xff;
  n[o + 2] = (hi >>> 8) & 0xff;
  n[o + 3] = hi & 0xff;
  n[o + 4] = lo >>> 24;
  n[o + 5] = (lo >>> 16) & 0xff;
  n[o + 6] = (lo >>> 8) & 0xff;
  n[o + 7] = lo & 0xff;
  return n;
}

/** nonce = sframe_salt XOR encode_big_endian(CTR, Nn) (RFC 9605 §4.4.3). */
export function computeNonce(salt: Uint8Array, ctr: bigint): Uint8Array<ArrayBuffer> {
  return nonceFrom(nonceBase(salt), ctr);
}

function checkU64(name: string, v: unknown): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) {
    throw new SFrameError('bad_input', `SFrame ${name} must be a bigint in [0, 2^64-1], got ${String(v)}`);
  }
  return v;
}

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new SFrameError('bad_input', `SFrame ${name} must be a Uint8Array`);
  return v;
}

export interface SFrameSenderOptions {
  /** Cipher suite id; must match key.suite. */
  suite: number;
  /** KID; must match key.kid (the KID is bound into the key derivation). */
  kid: bigint;
  /** Output of deriveSFrameKey(suite, kid, baseKey). */
  key: DerivedKey;
  /** First CTR to use (default 0). For tests and for resuming a sender; never reuse a CTR. */
  initialCounter?: bigint;
  /** Highest CTR this sender may use (default 2^64-1); beyond it protect() fails. */
  maxCounter?: bigint;
}

export type SFrameSenderCreateOptions = Pick<SFrameSenderOptions, 'initialCounter' | 'maxCounter'>;

/** Encrypting side for one KID. Each protect() consumes one CTR; CTRs never repeat or wrap. */
export class SFrameSender {
  readonly kid: bigint;
  readonly suite: SFrameSuite;
  private readonly key: DerivedKey;
  private readonly nonce: NonceBase;
  private readonly maxCounter: bigint;
  private next: bigint;

  constructor(opts: SFrameSenderOptions) {
    const suite = getSuite(opts.suite);
    const kid = checkU64('KID', opts.kid);
    if (opts.key.suite.id !== suite.id || opts.key.kid !== kid) {
      throw new SFrameError(
        'bad_input',
        `SFrame sender key was derived for suite ${opts.key.suite.id} / KID ${opts.key.kid}, not ${suite.id} / ${kid}`,
      );
    }
    this.suite = suite;
    this.kid = kid;
    this.key = opts.key;
    this.nonce = nonceBase(opts.key.salt);
    this.next = checkU64('initialCounter', opts.initialCounter ?? 0n);
    this.maxCounter = checkU64('maxCounter', opts.maxCounter ?? MAX_U64);
  }

  /** Derives the key for (suite, kid) from baseKey and returns a sender starting at CTR 0. */
  static async create(
    suite: number,
    kid: bigint,
    baseKey: Uint8Array,
    opts: SFrameSenderCreateOptions = {},
  ): Promise<SFrameSender> {
    const key = await deriveSFrameKey(suite, checkU64('KID', kid), checkBytes('baseKey', baseKey));
    return new SFrameSender({ suite, kid, key, ...opts });
  }

  /** The CTR the next protect() will use (it may exceed maxCounter once exhausted). */
  get nextCounter(): bigint {
    return this.next;
  }

  /** Encrypts one frame: returns header || ciphertext, with AAD = header || metadata. */
  protect(plaintext: Uint8Array, metadata?: Uint8Array): Promise<Uint8Array> {
    return this.seal(null, plaintext, metadata ?? EMPTY);
  }

  /**
   * Encrypts with a clear prefix: returns prefix || header || ciphertext, where the prefix is the
   * SFrame metadata (authenticated, not encrypted). Used by codec.ts; saves a copy of the frame.
   */
  protectWithClearPrefix(prefix: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.seal(checkBytes('prefix', prefix), plaintext, prefix);
  }

  /** Reserves the next CTR synchronously so concurrent protect() calls never share one. */
  private takeCounter(): bigint {
    const ctr = this.next;
    if (ctr > this.maxCounter) {
      throw new SFrameError(
        'counter_exhausted',
        `SFrame counter exhausted for KID ${this.kid}; rotate the key`,
      );
    }
    this.next = ctr + 1n;
    return ctr;
  }

  private async seal(
    prefix: Uint8Array | null,
    plaintext: Uint8Array,
    metadata: Uint8Array,
  ): Promise<Uint8Array> {
    checkBytes('plaintext', plaintext);
    checkBytes('metadata', metadata);
    const ctr = this.takeCounter();
    const p = prefix === null ? 0 : prefix.length;
    const hl = headerLength(this.kid, ctr);
    // One allocation for the whole output; the ciphertext is copied in once.
    const out = new Uint8Array(p + hl + plaintext.length + this.suite.Nt);
    if (prefix !== null) out.set(prefix);
    writeHeader(out, p, this.kid, ctr);
    const header = out.subarray(p, p + hl);
    const aad = metadata.length === 0 ? header : concatBytes(header, metadata);
    const ct = await aeadEncrypt(this.key.aead, nonceFrom(this.nonce, ctr), aad, plaintext);
    out.set(ct, p + hl);
    return out;
  }
}

export interface SFrameKeyRingOptions {
  /** Suite used by addKey when none is given (default AES_128_GCM_SHA256_128). */
  suite?: number;
  /** Anti-replay window in counters (default 128). 0 disables anti-replay. */
  replayWindow?: number;
}

export interface SFrameKidStats {
  /** Frames authenticated and returned. */
  accepted: number;
  /** Frames whose tag did not verify (tampering, wrong key, wrong metadata). */
  authFailed: number;
  /** Frames rejected as replayed or older than the window. */
  replayed: number;
}

/** Failures that cannot be attributed to a known KID. */
export interface SFrameRingStats {
  unknownKid: number;
  malformedHeader: number;
}

export interface UnprotectResult {
  kid: bigint;
  ctr: bigint;
  plaintext: Uint8Array;
}

interface KidState {
  readonly key: DerivedKey;
  readonly nonce: NonceBase;
  readonly window: ReplayWindow | null;
  readonly stats: SFrameKidStats;
}

/** Receiving side: decrypts frames from any KID it holds a key for. */
export class SFrameKeyRing {
  readonly defaultSuite: number;
  readonly replayWindow: number;
  private readonly kids = new Map<bigint, KidState>();
  /** Bumped by every addKey/removeKey so a slow derivation cannot resurrect a removed KID. */
  private readonly generation = new Map<bigint, number>();
  private readonly ringStats: SFrameRingStats = { unknownKid: 0, malformedHeader: 0 };

  constructor(opts: SFrameKeyRingOptions = {}) {
    this.defaultSuite = getSuite(opts.suite ?? DEFAULT_SUITE).id;
    const w = opts.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    if (!Number.isSafeInteger(w) || w < 0 || w > 1 << 20) {
      throw new SFrameError('bad_input', `replayWindow must be an integer in [0, 2^20], got ${w}`);
    }
    this.replayWindow = w;
  }

  private bump(kid: bigint): number {
    const g = (this.generation.get(kid) ?? 0) + 1;
    this.generation.set(kid, g);
    return g;
  }

  /**
   * Derives and imports the key for `kid` once and caches it. Replacing an existing KID resets its
   * replay window and statistics (a new base_key is a new nonce space).
   */
  async addKey(kid: bigint, baseKey: Uint8Array, suite: number = this.defaultSuite): Promise<void> {
    checkU64('KID', kid);
    checkBytes('baseKey', baseKey);
    const g = this.bump(kid);
    const key = await deriveSFrameKey(suite, kid, baseKey);
    // A later addKey or removeKey for this KID ran meanwhile: this result is stale.
    if (this.generation.get(kid) !== g) return;
    this.install(key);
  }

  /** Adds an already derived key (synchronous). */
  addDerivedKey(key: DerivedKey): void {
    checkU64('KID', key.kid);
    this.bump(key.kid);
    this.install(key);
  }

  private install(key: DerivedKey): void {
    this.kids.set(key.kid, {
      key,
      nonce: nonceBase(key.salt),
      window: this.replayWindow > 0 ? new ReplayWindow(this.replayWindow) : null,
      stats: { accepted: 0, authFailed: 0, replayed: 0 },
    });
  }

  /** Forgets a KID (and its statistics). Returns whether it was present. */
  removeKey(kid: bigint): boolean {
    this.bump(kid);
    return this.kids.delete(kid);
  }

  hasKey(kid: bigint): boolean {
    return this.kids.has(kid);
  }

  /** A copy of a held KID's sframe_key and sframe_salt (for evidence: one KID's key, nothing else). */
  keyMaterial(kid: bigint): { key: Uint8Array; salt: Uint8Array } | undefined {
    const k = this.kids.get(kid)?.key;
    return k ? { key: k.key.slice(), salt: k.salt.slice() } : undefined;
  }

  /** The KIDs currently held. */
  keyIds(): bigint[] {
    return [...this.kids.keys()];
  }

  /** authFailed + replayed for a held KID; 0 for an unknown one. */
  failureCount(kid: bigint): number {
    const s = this.kids.get(kid)?.stats;
    return s ? s.authFailed + s.replayed : 0;
  }

  /** A snapshot of a KID's counters, or undefined if the KID is not held. */
  stats(kid: bigint): SFrameKidStats | undefined {
    const s = this.kids.get(kid)?.stats;
    return s ? { ...s } : undefined;
  }

  /** Failures not attributable to a held KID (unknown KID, unparsable header). */
  globalStats(): SFrameRingStats {
    return { ...this.ringStats };
  }

  /**
   * Decrypts header || ciphertext. AAD = header || metadata. Throws SFrameError with code
   * 'truncated_header' | 'malformed_header' | 'unknown_kid' | 'replay' | 'auth_failed' | 'bad_input'.
   * The replay window only moves after the AEAD has authenticated the frame.
   */
  async unprotect(frame: Uint8Array, metadata?: Uint8Array): Promise<UnprotectResult> {
    checkBytes('frame', frame);
    const md = metadata === undefined ? EMPTY : checkBytes('metadata', metadata);
    let kid: bigint;
    let ctr: bigint;
    let hl: number;
    try {
      ({ kid, ctr, headerLength: hl } = decodeHeader(frame));
    } catch (e) {
      this.ringStats.malformedHeader++;
      throw e;
    }
    const st = this.kids.get(kid);
    if (st === undefined) {
      this.ringStats.unknownKid++;
      throw new SFrameError('unknown_kid', `no SFrame key for KID ${kid}`);
    }
    if (st.window !== null && !st.window.check(ctr)) {
      st.stats.replayed++;
      throw new SFrameError('replay', `SFrame CTR ${ctr} for KID ${kid} replayed or older than the window`);
    }
    const header = frame.subarray(0, hl);
    const aad = md.length === 0 ? header : concatBytes(header, md);
    let plaintext: Uint8Array;
    try {
      plaintext = await aeadDecrypt(st.key.aead, nonceFrom(st.nonce, ctr), aad, frame.subarray(hl));
    } catch (e) {
      st.stats.authFailed++;
      throw e;
    }
    // Re-check after the await: a duplicate may have been accepted by a parallel unprotect().
    if (st.window !== null && !st.window.accept(ctr)) {
      st.stats.replayed++;
      throw new SFrameError('replay', `SFrame CTR ${ctr} for KID ${kid} replayed`);
    }
    st.stats.accepted++;
    return { kid, ctr, plaintext };
  }
}
