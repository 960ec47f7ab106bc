/**
 * Runner for the RFC 9605 JSON test vectors (sections `header`, `aes_ctr_hmac`, `sframe`).
 *
 * KID and CTR values go up to 2^64-1, beyond Number precision, so the JSON is parsed with
 * parseJsonWithBigInts: Node 20's JSON.parse reviver has no access to the source text
 * (`context.source` arrived in Node 21), so a small scanner first rewrites every integer literal
 * found outside a string into a string tagged with a sentinel ("\u0000int:<digits>"), and a
 * reviver turns those back into bigints. Non-integer numbers (fraction/exponent) stay numbers.
 * The only theoretical ambiguity is an input string that itself starts with the sentinel
 * (U+0000 "int:"), which no vector file contains.
 *
 * Every vector is one pass or one failure; a malformed vector (missing field, bad hex, wrong type,
 * unknown suite) is a failure with a message, never an exception. Only text that is not JSON, or
 * JSON whose top level is not an object, throws VectorFileError.
 */
import { CryptoError } from '../errors.js';
import { aeadDecrypt, aeadEncrypt, importAeadKey, splitCtrHmacKey } from './aead.js';
import { concatBytes, fromHex, toHex } from '../util/bytes.js';
import { SFrameKeyRing, SFrameSender, computeNonce } from './context.js';
import { SFrameError } from './errors.js';
import { decodeHeader, encodeHeader } from './header.js';
import { deriveKeyMaterial } from './keys.js';
import { getSuite } from './suites.js';

export interface VectorReport {
  passed: number;
  failed: number;
  failures: string[];
}

/** The vector file as a whole is unusable (not JSON, or not an object). */
export class VectorFileError extends CryptoError<'bad_vector_file'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_vector_file', message, options);
    this.name = 'VectorFileError';
  }
}

const INT_TAG = '\u0000int:';

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** JSON.parse, except that integer literals become bigint (see the module comment). */
export function parseJsonWithBigInts(text: string): unknown {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      // Skip the string, honouring backslash escapes.
      i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '-' || isDigit(c)) {
      const start = i;
      i++;
      while (i < n && /[0-9.eE+-]/.test(text[i] as string)) i++;
      const tok = text.slice(start, i);
      if (/^-?(0|[1-9][0-9]*)$/.test(tok)) {
        out += text.slice(last, start) + JSON.stringify(INT_TAG + tok);
        last = i;
      }
    } else {
      i++;
    }
  }
  out += text.slice(last);
  return JSON.parse(out, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(INT_TAG) ? BigInt(value.slice(INT_TAG.length)) : value,
  );
}

/** A problem with one vector; becomes a failure line. */
class BadVector extends Error {}

type Entry = Record<string, unknown>;

function asEntry(v: unknown): Entry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadVector('entry is not an object');
  return v as Entry;
}

function int(e: Entry, name: string): bigint {
  const v = e[name];
  if (typeof v === 'bigint') return v;
  if (v === undefined) throw new BadVector(`missing field "${name}"`);
  throw new BadVector(`field "${name}" is not an integer`);
}

function hex(e: Entry, name: string): Uint8Array<ArrayBuffer> {
  const v = e[name];
  if (v === undefined) throw new BadVector(`missing field "${name}"`);
  if (typeof v !== 'string') throw new BadVector(`field "${name}" is not a hex string`);
  const b = fromHex(v);
  if (b === null) throw new BadVector(`field "${name}" is not valid hex`);
  return b;
}

function optHex(e: Entry, name: string): Uint8Array | undefined {
  return e[name] === undefined ? undefined : hex(e, name);
}

function suiteId(e: Entry): number {
  const v = int(e, 'cipher_suite');
  if (v < 0n || v > 0xffffn) throw new BadVector(`cipher_suite ${v} out of range`);
  return Number(v);
}

/** Collects mismatches for one vector. */
class Checks {
  readonly problems: string[] = [];
  bytes(what: string, expected: Uint8Array | undefined, actual: Uint8Array): void {
    if (expected !== undefined && toHex(expected) !== toHex(actual)) {
      this.problems.push(`${what}: expected ${toHex(expected)}, got ${toHex(actual)}`);
    }
  }
  value(what: string, expected: bigint | number, actual: bigint | number): void {
    if (expected !== actual) this.problems.push(`${what}: expected ${expected}, got ${actual}`);
  }
  async run(what: string, f: () => Promise<void> | void): Promise<void> {
    try {
      await f();
    } catch (e) {
      this.problems.push(`${what} threw ${describe(e)}`);
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof SFrameError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

async function headerVector(e: Entry, c: Checks): Promise<void> {
  const kid = int(e, 'kid');
  const ctr = int(e, 'ctr');
  const encoded = hex(e, 'encoded');
  await c.run('encode', () => c.bytes('encode', encoded, encodeHeader(kid, ctr)));
  await c.run('decode', () => {
    const d = decodeHeader(encoded);
    c.value('decoded kid', kid, d.kid);
    c.value('decoded ctr', ctr, d.ctr);
    c.value('decoded header length', encoded.length, d.headerLength);
  });
}

async function aesCtrHmacVector(e: Entry, c: Checks): Promise<void> {
  const suite = getSuite(suiteId(e));
  if (suite.kind !== 'aes-ctr-hmac') throw new BadVector(`${suite.name} is not an AES-CTR+HMAC suite`);
  const key = hex(e, 'key');
  const nonce = hex(e, 'nonce');
  const aad = hex(e, 'aad');
  const pt = hex(e, 'pt');
  const ct = hex(e, 'ct');
  const encKey = optHex(e, 'enc_key');
  const authKey = optHex(e, 'auth_key');
  await c.run('derive_subkeys', () => {
    const sub = splitCtrHmacKey(suite, key);
    c.bytes('enc_key', encKey, sub.encKey);
    c.bytes('auth_key', authKey, sub.authKey);
  });
  const k = await importAeadKey(suite, key);
  await c.run('encrypt', async () => c.bytes('encrypt', ct, await aeadEncrypt(k, nonce, aad, pt)));
  await c.run('decrypt', async () => c.bytes('decrypt', pt, await aeadDecrypt(k, nonce, aad, ct)));
}

async function sframeVector(e: Entry, c: Checks): Promise<void> {
  const id = suiteId(e);
  const suite = getSuite(id);
  const kid = int(e, 'kid');
  const ctr = int(e, 'ctr');
  const baseKey = hex(e, 'base_key');
  const metadata = hex(e, 'metadata');
  const pt = hex(e, 'pt');
  const ct = hex(e, 'ct');
  const m = await deriveKeyMaterial(suite, kid, baseKey);
  c.bytes('sframe_key_label', optHex(e, 'sframe_key_label'), m.keyLabel);
  c.bytes('sframe_salt_label', optHex(e, 'sframe_salt_label'), m.saltLabel);
  c.bytes('sframe_secret', optHex(e, 'sframe_secret'), m.secret);
  c.bytes('sframe_key', optHex(e, 'sframe_key'), m.key);
  c.bytes('sframe_salt', optHex(e, 'sframe_salt'), m.salt);
  await c.run('nonce', () => c.bytes('nonce', optHex(e, 'nonce'), computeNonce(m.salt, ctr)));
  await c.run('aad', () => c.bytes('aad', optHex(e, 'aad'), concatBytes(encodeHeader(kid, ctr), metadata)));
  await c.run('protect', async () => {
    const sender = await SFrameSender.create(id, kid, baseKey, { initialCounter: ctr });
    c.bytes('protect', ct, await sender.protect(pt, metadata));
  });
  await c.run('unprotect', async () => {
    const ring = new SFrameKeyRing();
    await ring.addKey(kid, baseKey, id);
    const r = await ring.unprotect(ct, metadata);
    c.bytes('unprotect', pt, r.plaintext);
    c.value('unprotect kid', kid, r.kid);
    c.value('unprotect ctr', ctr, r.ctr);
  });
}

const SECTIONS: ReadonlyArray<readonly [string, (e: Entry, c: Checks) => Promise<void>]> = [
  ['header', headerVector],
  ['aes_ctr_hmac', aesCtrHmacVector],
  ['sframe', sframeVector],
];

/** Runs every vector in whichever known sections are present. */
export async function runSFrameVectors(jsonText: string): Promise<VectorReport> {
  let doc: unknown;
  try {
    doc = parseJsonWithBigInts(jsonText);
  } catch (e) {
    // Report the error against the original text (the rewrite shifts positions).
    let original: unknown = e;
    try {
      JSON.parse(jsonText);
    } catch (e2) {
      original = e2;
    }
    throw new VectorFileError(`invalid JSON: ${describe(original)}`, { cause: original });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new VectorFileError(
      'vector file must be a JSON object with sections header / aes_ctr_hmac / sframe',
    );
  }
  const root = doc as Record<string, unknown>;
  const report: VectorReport = { passed: 0, failed: 0, failures: [] };
  const fail = (msg: string): void => {
    report.failed++;
    report.failures.push(msg);
  };
  let sectionsSeen = 0;
  for (const [name, run] of SECTIONS) {
    const section = root[name];
    if (section === undefined) continue;
    sectionsSeen++;
    if (!Array.isArray(section)) {
      fail(`${name}: section is not an array`);
      continue;
    }
    for (let i = 0; i < section.length; i++) {
      const label = `${name}[${i}]`;
      const checks = new Checks();
      try {
        await run(asEntry(section[i] as unknown), checks);
      } catch (e) {
        checks.problems.push(
          e instanceof BadVector ? `malformed vector: ${e.message}` : `error: ${describe(e)}`,
        );
      }
      if (checks.problems.length === 0) report.passed++;
      else fail(`${label}: ${checks.problems.join('; ')}`);
    }
  }
  if (sectionsSeen === 0) fail('no vector sections found (expected header, aes_ctr_hmac and/or sframe)');
  return report;
}
