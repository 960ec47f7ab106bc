import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseJsonWithBigInts, runSFrameVectors, VectorFileError } from '../src/sframe/index.js';

const VECTORS = new URL('../../../test-vectors/sframe/rfc9605-test-vectors.json', import.meta.url);
const text = readFileSync(VECTORS, 'utf8');

/** JSON.stringify that writes bigints as bare integer literals. */
function stringifyWithBigInts(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `@@${x}@@` : x)).replace(
    /"@@(-?\d+)@@"/g,
    '$1',
  );
}

function sectionLength(name: string): number {
  const doc = parseJsonWithBigInts(text) as Record<string, unknown[]>;
  return doc[name]?.length ?? 0;
}

describe('RFC 9605 test vectors', () => {
  it('every vector in the RFC file passes', async () => {
    const r = await runSFrameVectors(text);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.passed).toBe(sectionLength('header') + sectionLength('aes_ctr_hmac') + sectionLength('sframe'));
    expect(sectionLength('header')).toBeGreaterThan(0);
    expect(sectionLength('aes_ctr_hmac')).toBeGreaterThan(0);
    expect(sectionLength('sframe')).toBeGreaterThan(0);
  });

  for (const section of ['header', 'aes_ctr_hmac', 'sframe']) {
    it(`section ${section} passes on its own`, async () => {
      const doc = parseJsonWithBigInts(text) as Record<string, unknown>;
      const r = await runSFrameVectors(stringifyWithBigInts({ [section]: doc[section] }));
      expect(r.failures).toEqual([]);
      expect(r.passed).toBe(sectionLength(section));
    });
  }
});

describe('parseJsonWithBigInts', () => {
  it('keeps 64-bit integers exact and leaves strings alone', () => {
    const v = parseJsonWithBigInts(
      '{"kid": 18446744073709551615, "ctr":-1, "s": "12 \\" 34", "f": 1.5, "e": 1e3, "a": [0, 7]}',
    );
    expect(v).toEqual({ kid: 18446744073709551615n, ctr: -1n, s: '12 " 34', f: 1.5, e: 1000, a: [0n, 7n] });
  });

  it('throws on invalid JSON', () => {
    expect(() => parseJsonWithBigInts('{"a": ')).toThrow(SyntaxError);
  });
});

describe('runSFrameVectors robustness', () => {
  it('counts malformed entries as failures and never throws', async () => {
    const r = await runSFrameVectors(
      JSON.stringify({
        header: [
          { kid: 1, ctr: 2, encoded: '12' },
          { kid: 1 },
          { kid: 1, ctr: 2, encoded: 'zz' },
          'nope',
          null,
        ],
        aes_ctr_hmac: [{ cipher_suite: 4, key: '00' }, { cipher_suite: 99 }],
        sframe: [{ cipher_suite: 1, kid: 'x' }],
      }),
    );
    expect(r.passed).toBe(1);
    expect(r.failed).toBe(7);
    expect(r.failures).toHaveLength(7);
    expect(r.failures[0]).toMatch(/^header\[1\]: malformed vector: missing field "ctr"/);
    expect(r.failures[1]).toMatch(/^header\[2\]: malformed vector: field "encoded" is not valid hex/);
    expect(r.failures.join('\n')).toMatch(/unsupported_suite/);
  });

  it('reports a wrong expected value', async () => {
    const r = await runSFrameVectors('{"header": [{"kid": 8, "ctr": 0, "encoded": "8009"}]}');
    expect(r.failed).toBe(1);
    expect(r.failures[0]).toMatch(
      /^header\[0\]: encode: expected 8009, got 8008; decoded kid: expected 8, got 9/,
    );
  });

  it('tolerates missing sections, flags a file with none', async () => {
    expect(await runSFrameVectors('{"header": []}')).toEqual({ passed: 0, failed: 0, failures: [] });
    const none = await runSFrameVectors('{"other": []}');
    expect(none.failed).toBe(1);
    await expect(runSFrameVectors('not json')).rejects.toBeInstanceOf(VectorFileError);
    await expect(runSFrameVectors('[1,2]')).rejects.toBeInstanceOf(VectorFileError);
  });
});
