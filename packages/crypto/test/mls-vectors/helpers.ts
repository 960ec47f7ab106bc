// Shared plumbing for running the official MLS interop test vectors
// (https://github.com/mlswg/mls-implementations/blob/main/test-vectors.md) against the pinned ts-mls.
//
// - hex helpers
// - a tiny JSON shape validator, so a malformed/renamed vector field fails loudly instead of silently
//   producing `undefined` comparisons
// - cipher-suite loading with precise reporting of which parts of a suite ts-mls can run with the
//   optional dependencies that are actually installed.
//
// Cipher-suite availability (ts-mls 1.6.4, default crypto provider, this repo's node_modules):
//   ts-mls always has HKDF/hash (WebCrypto + @hpke/core), AES-GCM, and the DHKEM X25519/P-256/P-384/P-521
//   KEMs (@hpke/core). Ed25519 signatures come from WebCrypto. Everything else is an optional peer
//   dependency that is NOT installed here:
//     - @noble/curves          -> P256/P384/P521/Ed448 signatures      (suites 2, 4, 5, 6, 7)
//     - @hpke/chacha20poly1305 -> ChaCha20-Poly1305 AEAD                (suites 3, 6)
//     - @hpke/dhkem-x448       -> X448 KEM                              (suites 4, 6)
//   So only suite 1 loads completely through `getCiphersuiteImpl`. For the other suites we assemble
//   the parts that ts-mls's default provider *can* build (the very same factory functions it uses) and
//   run the vectors that only need those parts; a vector needing a missing part is reported with
//   `it.skip` and the DependencyError message from ts-mls. Nothing is decided by a hard-coded suite
//   list: if someone installs @noble/curves, the skipped suites start running automatically.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import {
  ciphersuites,
  getCiphersuiteFromId,
  type CiphersuiteId,
  type CiphersuiteImpl,
  type CiphersuiteName,
} from 'ts-mls/crypto/ciphersuite.js';
import { getCiphersuiteImpl } from 'ts-mls/crypto/getCiphersuiteImpl.js';
import type { Hpke } from 'ts-mls/crypto/hpke.js';
import type { Signature } from 'ts-mls/crypto/signature.js';
import { makeHashImpl } from 'ts-mls/crypto/implementation/default/makeHashImpl.js';
import { makeHpke } from 'ts-mls/crypto/implementation/default/makeHpke.js';
import { makeKdf, makeKdfImpl } from 'ts-mls/crypto/implementation/default/makeKdfImpl.js';
import { makeNobleSignatureImpl } from 'ts-mls/crypto/implementation/default/makeNobleSignatureImpl.js';
import { defaultRng } from 'ts-mls/crypto/implementation/default/rng.js';
import { DependencyError } from 'ts-mls/mlsError.js';
import { mlsSuite } from '../../src/mls/suite.js';

// ---------------------------------------------------------------------------------------------------
// hex

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`invalid hex string (${hex.length} chars): ${hex.slice(0, 40)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

// ---------------------------------------------------------------------------------------------------
// vector files + shape validation

/** 'string' | 'number' | 'string|null', `[shape]` = array of shape, `{...}` = object with these keys. */
export type Shape =
  'string' | 'number' | 'string|null' | readonly [Shape] | { readonly [key: string]: Shape };

export type Infer<S> = S extends 'string'
  ? string
  : S extends 'number'
    ? number
    : S extends 'string|null'
      ? string | null
      : S extends readonly [infer E]
        ? Infer<E>[]
        : S extends { readonly [key: string]: Shape }
          ? { -readonly [K in keyof S]: Infer<S[K]> }
          : never;

function isArrayShape(s: Shape): s is readonly [Shape] {
  return Array.isArray(s);
}

function validate(value: unknown, shape: Shape, path: string): void {
  const fail = (what: string): never => {
    throw new Error(`test vector ${path}: expected ${what}, got ${JSON.stringify(value)?.slice(0, 60)}`);
  };
  if (shape === 'string') {
    if (typeof value !== 'string') fail('string');
  } else if (shape === 'number') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail('integer');
  } else if (shape === 'string|null') {
    if (value !== null && typeof value !== 'string') fail('string or null');
  } else if (isArrayShape(shape)) {
    if (!Array.isArray(value)) return fail('array');
    value.forEach((v: unknown, i) => validate(v, shape[0], `${path}[${i}]`));
  } else {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('object');
    const record = value as Record<string, unknown>;
    for (const [key, sub] of Object.entries(shape)) validate(record[key], sub, `${path}.${key}`);
  }
}

const VECTOR_DIR = new URL('../../../../test-vectors/mls/', import.meta.url);

/** Reads test-vectors/mls/<file> (copied from the shared vectors; see test-vectors/README.md), checks every entry against `shape`, returns the typed entries. */
export function loadVectors<const S extends Shape>(file: string, shape: S): Infer<S>[] {
  const data: unknown = JSON.parse(readFileSync(fileURLToPath(new URL(file, VECTOR_DIR)), 'utf8'));
  validate(data, [shape], file);
  const entries = data as Infer<S>[];
  if (entries.length === 0) throw new Error(`${file} contains no test vectors`);
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// cipher suites

/** Parts of a suite beyond HKDF/hash (which ts-mls can always build) that a vector may need. */
export type Need = 'hpke' | 'signature';

export interface Suite {
  id: CiphersuiteId;
  name: CiphersuiteName;
  /** Full impl when `complete`; otherwise accessing a missing part throws with the dependency error. */
  impl: CiphersuiteImpl;
  /** true when ts-mls's public `getCiphersuiteImpl` (default provider) built the whole suite. */
  complete: boolean;
  /** Reason (ts-mls DependencyError message) per missing part. */
  missing: Partial<Record<Need, string>>;
}

const knownIds = new Set<number>(Object.values(ciphersuites));

function toCiphersuiteId(n: number): CiphersuiteId {
  if (!knownIds.has(n)) throw new Error(`cipher suite ${n} is unknown to ts-mls`);
  return n as CiphersuiteId;
}

async function tryPart<T>(make: () => Promise<T>): Promise<{ ok: T } | { err: string }> {
  try {
    return { ok: await make() };
  } catch (e) {
    // Only a missing optional dependency is an acceptable reason to skip; anything else is a bug.
    if (e instanceof DependencyError) return { err: e.message };
    throw e;
  }
}

async function loadSuite(id: CiphersuiteId): Promise<Suite> {
  const cs = getCiphersuiteFromId(id);
  const full = await tryPart(() => getCiphersuiteImpl(cs));
  if ('ok' in full) return { id, name: cs.name, impl: full.ok, complete: true, missing: {} };

  // Same building blocks as ts-mls's defaultCryptoProvider.getCiphersuiteImpl, one by one.
  const hpke = await tryPart<Hpke>(() => makeHpke(cs.hpke));
  const signature = await tryPart<Signature>(() => makeNobleSignatureImpl(cs.signature));
  const missing: Partial<Record<Need, string>> = {};
  if ('err' in hpke) missing.hpke = hpke.err;
  if ('err' in signature) missing.signature = signature.err;
  const unavailable = (part: Need): never => {
    throw new Error(`suite ${id} (${cs.name}): ${part} unavailable: ${missing[part] ?? '?'}`);
  };
  const impl: CiphersuiteImpl = {
    name: cs.name,
    kdf: makeKdfImpl(makeKdf(cs.hpke.kdf)),
    hash: makeHashImpl(crypto.subtle, cs.hash),
    rng: defaultRng,
    get hpke(): Hpke {
      return 'ok' in hpke ? hpke.ok : unavailable('hpke');
    },
    get signature(): Signature {
      return 'ok' in signature ? signature.ok : unavailable('signature');
    },
  };
  return { id, name: cs.name, impl, complete: false, missing };
}

const suiteCache = new Map<number, Promise<Suite>>();

function getSuite(n: number): Promise<Suite> {
  let p = suiteCache.get(n);
  if (p === undefined) {
    p = loadSuite(toCiphersuiteId(n));
    suiteCache.set(n, p);
  }
  return p;
}

/** Loads every suite used by `vectors` (top-level await in the test files). */
export async function loadSuitesFor(
  vectors: readonly { cipher_suite: number }[],
): Promise<Map<number, Suite>> {
  const ids = [...new Set(vectors.map((v) => v.cipher_suite))];
  const suites = await Promise.all(ids.map(getSuite));
  return new Map(suites.map((s) => [s.id, s]));
}

export function suiteOf(suites: Map<number, Suite>, id: number): Suite {
  const s = suites.get(id);
  if (s === undefined) throw new Error(`cipher suite ${id} was not loaded`);
  return s;
}

/** Why `suite` cannot run a vector needing `needs`, or undefined when it can. */
function missingReason(suite: Suite, needs: readonly Need[]): string | undefined {
  const reasons = needs.flatMap((n) => {
    const r = suite.missing[n];
    return r === undefined ? [] : [`${n}: ${r}`];
  });
  return reasons.length === 0 ? undefined : [...new Set(reasons)].join('; ');
}

/**
 * Registers one vector test: `it` when the suite has every part in `needs`, otherwise `it.skip` with the
 * exact missing dependency in the title. Returns whether the test will run.
 */
export function vectorTest(
  title: string,
  suite: Suite,
  needs: readonly Need[],
  body: (cs: CiphersuiteImpl) => Promise<void>,
): boolean {
  const reason = missingReason(suite, needs);
  if (reason === undefined) {
    it(title, () => body(suite.impl));
    // Suite 1 also through the suite the product runs on (src/mls/suite.ts: its hashing, and in
    // Node its Ed25519 and HPKE on node:crypto, hpke-node.ts).
    if (suite.id === 1) it(`${title} (Conclave's mlsSuite)`, async () => body(await mlsSuite()));
    return true;
  }
  it.skip(`${title} [skipped: ${reason}]`, () => {});
  return false;
}

/**
 * Guard: cipher suite 1 must never be skipped (the whole point of the vectors is to break CI on a bad
 * ts-mls upgrade; a suite-1 skip would turn them into no-ops). Also checks that at least `minVectors`
 * suite-1 entries exist in the file.
 */
export function requireSuite1(
  suites: Map<number, Suite>,
  vectors: readonly { cipher_suite: number }[],
  needs: readonly Need[],
  minVectors: number,
): void {
  it('cipher suite 1 is fully runnable with the installed dependencies', () => {
    const s1 = suites.get(1);
    expect(s1, 'no cipher-suite-1 vectors loaded').toBeDefined();
    if (s1 === undefined) return;
    expect(missingReason(s1, needs)).toBeUndefined();
    expect(vectors.filter((v) => v.cipher_suite === 1).length).toBeGreaterThanOrEqual(minVectors);
  });
}
