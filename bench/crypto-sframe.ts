// SFrame per-frame cost vs bare AES-GCM on the same backend, measured in the same run.
//   npx tsx bench/crypto-sframe.ts        (also imported by bench/crypto.bench.ts)
//
// For each size, every round times N awaited operations of each kind: bare AES-GCM encrypt and
// decrypt through the AEAD layer SFrame itself uses (node:crypto in Node, WebCrypto in browsers:
// `defaultAeadBackend()`; pre-imported key, pre-built IVs), SFrame protect of N frames, and unprotect of those
// same N frames (fresh counters, so the replay window works as in real traffic). The kinds run
// interleaved in batches of 200 so background load hits them alike; each figure is the median
// over rounds, after a warm-up.
import { pathToFileURL } from 'node:url';
import {
  AES_128_GCM_SHA256_128,
  SFrameKeyRing,
  SFrameSender,
  aeadDecrypt,
  aeadEncrypt,
  defaultAeadBackend,
  getSuite,
  importAeadKey,
} from '@conclave/crypto';

interface SizeCase {
  label: string;
  bytes: number;
  iterations: number;
}

const CASES: SizeCase[] = [
  { label: '100B', bytes: 100, iterations: 4000 },
  { label: '1200B', bytes: 1200, iterations: 4000 },
  { label: '50KB', bytes: 50 * 1024, iterations: 1000 },
];
const ROUNDS = 5;
const WARMUP = 500;
const BATCH = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Total ms for op(from..to-1), awaited one at a time (per-frame latency, as in a transform). */
async function timeRange(from: number, to: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = from; i < to; i++) await op(i);
  return performance.now() - t0;
}

interface Figures {
  protect: number;
  unprotect: number;
  bareEnc: number;
  bareDec: number;
}

async function measure(c: SizeCase): Promise<Figures> {
  const n = c.iterations;
  const pt = crypto.getRandomValues(new Uint8Array(c.bytes));
  const rawKey = crypto.getRandomValues(new Uint8Array(16));
  const bareKey = await importAeadKey(getSuite(AES_128_GCM_SHA256_128), rawKey);
  const noAad = new Uint8Array(0);
  const ivs = Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(12)));
  const bareCts: Uint8Array[] = new Array<Uint8Array>(n);

  const baseKey = crypto.getRandomValues(new Uint8Array(16));
  const sender = await SFrameSender.create(AES_128_GCM_SHA256_128, 0x1234n, baseKey);
  const ring = new SFrameKeyRing({ suite: AES_128_GCM_SHA256_128 });
  await ring.addKey(0x1234n, baseKey);
  const frames: Uint8Array[] = new Array<Uint8Array>(n);

  const bareEnc = (i: number): Promise<void> =>
    aeadEncrypt(bareKey, ivs[i] as Uint8Array, noAad, pt).then((ct) => {
      bareCts[i] = ct;
    });
  const bareDec = (i: number): Promise<Uint8Array> =>
    aeadDecrypt(bareKey, ivs[i] as Uint8Array, noAad, bareCts[i] as Uint8Array);
  const protect = (i: number): Promise<void> =>
    sender.protect(pt).then((f) => {
      frames[i] = f;
    });
  const unprotect = (i: number): Promise<unknown> => ring.unprotect(frames[i] as Uint8Array);

  const warm = Math.min(WARMUP, n);
  for (const op of [bareEnc, protect, bareDec, unprotect]) await timeRange(0, warm, op);

  // Interleave the four kinds in batches so that background load drifts hit them equally.
  const r: Record<keyof Figures, number[]> = { protect: [], unprotect: [], bareEnc: [], bareDec: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const ms: Figures = { protect: 0, unprotect: 0, bareEnc: 0, bareDec: 0 };
    for (let from = 0; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      ms.bareEnc += await timeRange(from, to, bareEnc);
      ms.protect += await timeRange(from, to, protect);
      ms.bareDec += await timeRange(from, to, bareDec);
      ms.unprotect += await timeRange(from, to, unprotect);
    }
    for (const k of Object.keys(ms) as (keyof Figures)[]) r[k].push((ms[k] * 1000) / n); // µs per op
  }
  return {
    protect: median(r.protect),
    unprotect: median(r.unprotect),
    bareEnc: median(r.bareEnc),
    bareDec: median(r.bareDec),
  };
}

/** Runs the SFrame benchmark and returns the lines to print. */
export async function benchSFrame(): Promise<string[]> {
  const lines = [
    `SFrame AES_128_GCM_SHA256_128 vs bare AES-GCM, both on ${defaultAeadBackend()} (median of ${ROUNDS} rounds, µs per frame)`,
  ];
  let ratio1200 = NaN;
  for (const c of CASES) {
    const f = await measure(c);
    const bare = f.bareEnc + f.bareDec;
    const ratio = (f.protect + f.unprotect) / bare;
    if (c.bytes === 1200) ratio1200 = ratio;
    lines.push(
      `sframe ${c.label.padStart(5)} x${c.iterations}: protect ${f.protect.toFixed(2)} µs, ` +
        `unprotect ${f.unprotect.toFixed(2)} µs, bare ${bare.toFixed(2)} µs ` +
        `(enc ${f.bareEnc.toFixed(2)} + dec ${f.bareDec.toFixed(2)}), ratio ${ratio.toFixed(2)}`,
    );
  }
  lines.push(`ratio sframe/aes-gcm 1200B: ${ratio1200.toFixed(2)}`);
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await benchSFrame()) console.log(line);
}
