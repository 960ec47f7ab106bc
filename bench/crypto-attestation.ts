// Frame attestation's cost, against SFrame protect of the same frames measured in the same run.
//   npx tsx bench/crypto-attestation.ts        (also imported by bench/crypto.bench.ts)
//
// Per frame: the 16-byte truncated SHA-256 of a protected frame (@noble/hashes, synchronous)
// against SFrameSender.protect of a frame of the same size. Per second and stream: closing the
// body (encode + digest), SignWithLabel with the leaf key and a receiver's verify. Bytes: what one
// second of attestation costs on the signaling channel for a 30 fps camera and 50 Hz audio (the
// JSON payload, MLS-encrypted, base64 in the `app` message), beside the media it attests.
// Each figure is the median over rounds, after a warm-up.
import { pathToFileURL } from 'node:url';
import {
  AES_128_GCM_SHA256_128,
  AttestationRecorder,
  LEAF_SIGNATURE_LABELS,
  MlsDevice,
  MlsSession,
  SFrameSender,
  frameHash,
  toBase64,
  verifyWithLeafKey,
  type FrameBatch,
} from '@conclave/crypto';

const ROUNDS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** µs per call of `op`, median of ROUNDS rounds of `n` calls (awaited one at a time). */
async function perCall(n: number, op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await op(i);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await op(i);
    rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return median(rounds);
}

const SIZES = [
  { label: '100B', bytes: 100, n: 4000 },
  { label: '1200B', bytes: 1200, n: 4000 },
  { label: '4KB', bytes: 4000, n: 2000 },
  { label: '50KB', bytes: 50 * 1024, n: 500 },
];

/** The stream mix of "one sender": 30 fps camera at ~1 Mbit/s and 50 Hz Opus at ~32 kbit/s. */
const VIDEO = { fps: 30, bytes: 4_000 };
const AUDIO = { fps: 50, bytes: 80 };

export async function benchAttestation(): Promise<string[]> {
  const lines = [`Frame attestation (median of ${ROUNDS} rounds)`];
  const sender = await SFrameSender.create(
    AES_128_GCM_SHA256_128,
    0x1234n,
    crypto.getRandomValues(new Uint8Array(16)),
  );
  const perFrame = new Map<number, { hash: number; protect: number }>();
  for (const s of SIZES) {
    const frame = crypto.getRandomValues(new Uint8Array(s.bytes));
    const protectUs = await perCall(s.n, () => sender.protect(frame));
    const hashUs = await perCall(s.n, () => frameHash(frame));
    perFrame.set(s.bytes, { hash: hashUs, protect: protectUs });
    lines.push(
      `hash ${s.label.padStart(5)}: ${hashUs.toFixed(2)} µs per frame, sframe protect ${protectUs.toFixed(2)} µs, ratio ${(hashUs / protectUs).toFixed(2)}`,
    );
  }

  // Per second and stream: a body of one second's hashes, signed once and verified by each receiver.
  const device = await MlsDevice.create({ kind: 'guest', deviceId: 'bench', displayName: 'bench' });
  const session = await MlsSession.create(device, { groupId: crypto.getRandomValues(new Uint8Array(16)) });
  const recorder = new AttestationRecorder();
  const batch = (fps: number): FrameBatch => ({
    context: fps === VIDEO.fps ? 'camera' : 'audio',
    epoch: 7n,
    leafIndex: 3,
    startedAt: Date.now(),
    endedAt: Date.now() + 990,
    hashes: crypto.getRandomValues(new Uint8Array(fps * 16)),
  });
  const sample = recorder.next(session.groupId, batch(VIDEO.fps));
  const signature = await session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, sample.encoded);
  const closeUs = await perCall(2000, () => recorder.next(session.groupId, batch(VIDEO.fps)));
  const signUs = await perCall(300, () =>
    session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, sample.encoded),
  );
  const verifyUs = await perCall(300, () =>
    verifyWithLeafKey(
      device.signatureKeys.publicKey,
      LEAF_SIGNATURE_LABELS.frameAttestation,
      sample.encoded,
      signature,
    ),
  );
  lines.push(
    `per stream and second: close the body ${closeUs.toFixed(1)} µs, sign ${(signUs / 1000).toFixed(2)} ms, ` +
      `verify ${(verifyUs / 1000).toFixed(2)} ms (each receiver)`,
  );

  // One sender's second: 30 video + 50 audio frames.
  const v = perFrame.get(4_000)!;
  const a = perFrame.get(100)!;
  const hashing = VIDEO.fps * v.hash + AUDIO.fps * a.hash;
  const protecting = VIDEO.fps * v.protect + AUDIO.fps * a.protect;
  const senderUs = hashing + 2 * (closeUs + signUs);
  const receiverUs = hashing + 2 * verifyUs;
  lines.push(
    `one sender's second (30 fps video of 4 KB, 50 Hz audio): sframe protect ${(protecting / 1000).toFixed(2)} ms; ` +
      `attestation at the sender ${(senderUs / 1000).toFixed(2)} ms (ratio ${(senderUs / protecting).toFixed(2)}), ` +
      `at each receiver ${(receiverUs / 1000).toFixed(2)} ms per sender (ratio ${(receiverUs / protecting).toFixed(2)})`,
  );

  // Bytes: the two messages of one second as the signaling channel carries them.
  let bytes = 0;
  for (const fps of [VIDEO.fps, AUDIO.fps]) {
    const r = recorder.next(session.groupId, batch(fps));
    const sig = await session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, r.encoded);
    const payload = JSON.stringify({
      kind: 'attestation',
      body: toBase64(r.encoded),
      signature: toBase64(sig),
    });
    const mls = await session.encryptApplication(new TextEncoder().encode(payload));
    const wire = JSON.stringify({ v: 1, type: 'app', epoch: '7', data: toBase64(mls) });
    lines.push(
      `${fps === VIDEO.fps ? 'video' : 'audio'} body: ${r.encoded.length} B, on the wire ${wire.length} B`,
    );
    bytes += wire.length;
  }
  const media = VIDEO.fps * VIDEO.bytes + AUDIO.fps * AUDIO.bytes;
  const sframeOverhead = (VIDEO.fps + AUDIO.fps) * (3 + 16); // a 3-byte header (KID, CTR) and the 16-byte tag
  lines.push(
    `attestation bytes per second (30 fps video + 50 Hz audio): ${bytes} B/s = ${((bytes * 8) / 1000).toFixed(1)} kbit/s, ` +
      `${((bytes / media) * 100).toFixed(1)} % of the media's ${((media * 8) / 1000).toFixed(0)} kbit/s ` +
      `(SFrame's own overhead: ${sframeOverhead} B/s)`,
  );
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await benchAttestation()) console.log(line);
}
