// npm run -s bench:sfu   (runs inside a loopback-only network namespace via scripts/netns.mjs)
//
// One publisher bot sends synthetic VP8 frames (~1000 bytes, 30 fps) and 50 Opus frames/s; N bots
// subscribe. Bots live in a helper process (sfu-bots.ts) so their CPU is not the forwarder's.
// For each N, three paths are measured in the same run, each after a warm-up long enough for the
// JIT (30 s: at this bench's 80 packets/s in, V8 was still optimizing the receive and forward
// functions 20 s into the media: 10-s windows starting 10 s in cost 2-6 µs per packet more than
// those starting after 30 s) and as the median of three windows: the SFU as built (werift publish connections,
// node-datachannel egress), the old path (a bare werift forward loop, sfu-baseline.ts: what the
// SFU cost before its native egress), and the floor (a bare Node dgram send of packets of the
// same sizes to N UDP sinks, sfu-floor.ts). Figures: CPU time of the forwarding process per
// forwarded packet, and its ratio to the floor and to the 10 µs target. A fourth figure, a bare
// native forward loop (sfu-native-loop.ts), shows what node-datachannel itself costs. Two more
// floors come from C (the bench's addon, bench/native-srtp, built with node-gyp on first use; it
// needs a C compiler and the running Node's headers): every copy of a packet in one sendmmsg,
// without and with SRTP — what the kernel costs, and the least a native SFU would. With
// BENCH_SFU_NATIVE_SRTP=1 one more: the spike of a native egress under werift's ICE and DTLS
// (sfu-native-srtp.ts: SRTP and sendto of each copy in the same addon).
//
// Environment: BENCH_SFU_N="8,32,64"  BENCH_SFU_WARMUP=30  BENCH_SFU_SECONDS=10  BENCH_SFU_FRAME_BYTES=1000
// BENCH_SFU_PATHS="sfu,old,native,floor,cfloor" (a subset measures only those: for profiling one path)
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { StreamInfo } from '@conclave/protocol';
import { Sfu } from '@conclave/server/sfu';
import { ChildRpc } from './sfu-rpc.js';

const NS = (process.env.BENCH_SFU_N ?? '8,32,64').split(',').map(Number);
const WARMUP_S = Number(process.env.BENCH_SFU_WARMUP ?? 30);
const SECONDS = Number(process.env.BENCH_SFU_SECONDS ?? 10);
const WINDOWS = 3;
const FRAME_BYTES = Number(process.env.BENCH_SFU_FRAME_BYTES ?? 1000);
const FPS = 30;
const AUDIO_PER_SEC = 50;
const TARGET_US = 10;
const NATIVE_SRTP = process.env.BENCH_SFU_NATIVE_SRTP === '1';
const PATHS = new Set((process.env.BENCH_SFU_PATHS ?? 'sfu,old,native,floor,cfloor').split(','));
const skipped: Result = {
  windows: [],
  median: { pps: NaN, usPerPacket: NaN, rssMb: NaN, deliveredPerSec: NaN, botCpuPct: NaN },
};

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  cpuMicros: number;
  packetsForwarded: number;
  rssBytes: number;
}
interface BotCounts {
  frames: number;
  sinkPackets: number;
  cpuMicros: number;
}
interface Window {
  pps: number;
  usPerPacket: number;
  rssMb: number;
  /** Frames the subscriber bots assembled per second (sink packets for the floor). */
  deliveredPerSec: number;
  botCpuPct: number;
}
interface Result {
  windows: Window[];
  median: Window;
  /** CPU ms per second with every connection up and no media (SFU only). */
  idleMsPerSec?: number;
}

const bots = new ChildRpc(here('./sfu-bots.ts'));

const medianBy = (ws: Window[]): Window => {
  const sorted = [...ws].sort((a, b) => a.usPerPacket - b.usPerPacket);
  return sorted[sorted.length >> 1] as Window; // WINDOWS ≥ 1
};

/** Warm-up, then WINDOWS windows of SECONDS: CPU per forwarded packet in each. */
async function measure(sample: () => Promise<Sample>, delivered: (c: BotCounts) => number): Promise<Result> {
  await sleep(WARMUP_S * 1000);
  const windows: Window[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const a = await sample();
    const ba = await bots.call<BotCounts>('counts');
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const b = await sample();
    const bb = await bots.call<BotCounts>('counts');
    const secs = (performance.now() - t0) / 1000;
    const fwd = b.packetsForwarded - a.packetsForwarded;
    windows.push({
      pps: fwd / secs,
      usPerPacket: fwd > 0 ? (b.cpuMicros - a.cpuMicros) / fwd : NaN,
      rssMb: b.rssBytes / 2 ** 20,
      deliveredPerSec: (delivered(bb) - delivered(ba)) / secs,
      botCpuPct: (bb.cpuMicros - ba.cpuMicros) / 1e4 / secs,
    });
  }
  return { windows, median: medianBy(windows) };
}

const subscriberIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `sub${i + 1}`);
const frames = (c: BotCounts): number => c.frames;

async function runSfu(sfu: Sfu, n: number): Promise<Result> {
  const m = `bench-${n}`;
  const ids = subscriberIds(n);
  for (const id of ids) {
    await bots.call('subscriber', id);
    await sfu.join(m, id);
    await sfu.call('setReceiving', { meetingId: m, participantId: id, allowed: true });
  }
  await sfu.join(m, 'pub');
  const answer = await sfu.call('publishOffer', {
    meetingId: m,
    participantId: 'pub',
    sdp: await bots.call<string>('publisher', 'pub'),
  });
  await bots.call('publishAnswer', 'pub', answer);
  await bots.call('waitSubscribed', ids);
  const sample = async (): Promise<Sample> => {
    const s = (await sfu.stats())[0];
    if (!s) throw new Error('no SFU worker');
    return {
      cpuMicros: s.cpuUserMicros + s.cpuSystemMicros,
      packetsForwarded: s.packetsForwarded,
      rssBytes: s.rssBytes,
    };
  };
  // The connections' cost without media (ICE consent, RTCP, timers): CPU ms per second.
  const i0 = await sample();
  const t0 = performance.now();
  await sleep(3000);
  const idleMsPerSec = ((await sample()).cpuMicros - i0.cpuMicros) / (performance.now() - t0);
  await bots.call('start', 'pub', FPS, FRAME_BYTES, AUDIO_PER_SEC);
  try {
    return { ...(await measure(sample, frames)), idleMsPerSec };
  } finally {
    await bots.call('stop');
    await sfu.closeMeeting(m);
    await bots.call('closeAll');
  }
}

/** A bare forward loop in its own process: the old werift one, or the native one. */
async function runLoop(n: number, entry: string): Promise<Result> {
  const base = new ChildRpc(here(entry));
  try {
    const ids = subscriberIds(n);
    const answer = await base.call<string>('publishOffer', await bots.call<string>('publisher', 'pub'));
    await bots.call('publishAnswer', 'pub', answer);
    for (const id of ids) {
      await bots.call('subscriber', id);
      const offer = await base.call<{ sdp: string; streams: StreamInfo[] }>('subscribe', id);
      await base.call(
        'subscribeAnswer',
        id,
        await bots.call<string>('subscribeOffer', id, offer.sdp, offer.streams),
      );
    }
    await bots.call('waitSubscribed', ids);
    await bots.call('start', 'pub', FPS, FRAME_BYTES, AUDIO_PER_SEC);
    return await measure(() => base.call<Sample>('stats'), frames);
  } finally {
    await bots.call('stop');
    await bots.call('closeAll');
    await base.call('close').catch(() => undefined);
    await base.close();
  }
}

/** A floor (sfu-floor.ts): `node` (dgram), `c` (one sendmmsg per packet) or `c-srtp`. */
async function runFloor(n: number, mode: 'node' | 'c' | 'c-srtp'): Promise<Result> {
  const floor = new ChildRpc(here('./sfu-floor.ts'));
  try {
    const ports = await bots.call<number[]>('sinks', n);
    await floor.call('start', ports, FPS, FRAME_BYTES, AUDIO_PER_SEC, mode);
    return await measure(
      () => floor.call<Sample>('stats'),
      (c) => c.sinkPackets,
    );
  } finally {
    await floor.call('close').catch(() => undefined);
    await floor.close();
    await bots.call('closeSinks');
  }
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const spread = (r: Result): string => r.windows.map((w) => fmt(w.usPerPacket)).join('/');

async function main(): Promise<void> {
  console.log(
    `SFU forwarding cost — ${cpus().length} cores, node ${process.version}; per path ${WARMUP_S} s warm-up, then the median of ${WINDOWS} windows of ${SECONDS} s`,
  );
  console.log(
    `publisher: ${FRAME_BYTES}-byte VP8 frames at ${FPS} fps + ${AUDIO_PER_SEC} Opus frames/s; bots in a separate process`,
  );
  console.log('');
  const sfu = await Sfu.start({
    workers: 1,
    announcedAddress: '127.0.0.1',
    portRange: [44000, 44999],
    loopbackOnly: true,
  });
  sfu.on('subscribeOffer', (m, p, sdp, streams) => {
    bots
      .call<string>('subscribeOffer', p, sdp, streams)
      .then((answer) => sfu.call('subscribeAnswer', { meetingId: m, participantId: p, sdp: answer }))
      .catch((err: unknown) => console.error(`subscribe negotiation of ${p} failed:`, err));
  });
  const header = [
    'N',
    'fwd pkt/s',
    'SFU µs/pkt',
    'windows',
    'SFU/floor',
    'vs 10 µs',
    'old µs/pkt',
    'old/floor',
    'native loop µs/pkt',
    ...(NATIVE_SRTP ? ['native SRTP spike µs/pkt'] : []),
    'floor µs/pkt',
    'C floor',
    'C+SRTP floor',
    'SFU idle ms/s',
    'SFU RSS MB',
    'frames rx/s',
    'bots CPU %',
  ];
  const rows: string[][] = [];
  try {
    for (const n of NS) {
      const ours = PATHS.has('sfu') ? await runSfu(sfu, n) : skipped;
      const old = PATHS.has('old') ? await runLoop(n, './sfu-baseline.ts') : skipped;
      const native = PATHS.has('native') ? await runLoop(n, './sfu-native-loop.ts') : skipped;
      const spike = NATIVE_SRTP ? await runLoop(n, './sfu-native-srtp.ts') : undefined;
      const floor = PATHS.has('floor') ? await runFloor(n, 'node') : skipped;
      const cFloor = PATHS.has('cfloor') ? await runFloor(n, 'c') : skipped;
      const cSrtpFloor = PATHS.has('cfloor') ? await runFloor(n, 'c-srtp') : skipped;
      const f = floor.median.usPerPacket;
      const row = [
        String(n),
        fmt(ours.median.pps, 0),
        fmt(ours.median.usPerPacket),
        spread(ours),
        `${fmt(ours.median.usPerPacket / f, 2)}x`,
        `${fmt(ours.median.usPerPacket / TARGET_US, 2)}x`,
        fmt(old.median.usPerPacket),
        `${fmt(old.median.usPerPacket / f, 2)}x`,
        fmt(native.median.usPerPacket),
        ...(spike
          ? [`${fmt(spike.median.usPerPacket)} (${spike.median.deliveredPerSec.toFixed(0)} frames/s)`]
          : []),
        `${fmt(f)} (${spread(floor)})`,
        fmt(cFloor.median.usPerPacket),
        fmt(cSrtpFloor.median.usPerPacket),
        fmt(ours.idleMsPerSec ?? NaN),
        fmt(ours.median.rssMb, 0),
        fmt(ours.median.deliveredPerSec, 0),
        fmt(ours.median.botCpuPct, 0),
      ];
      rows.push(row);
      console.log(
        `N=${n}: ${row
          .slice(1)
          .map((v, i) => `${header[i + 1]} ${v}`)
          .join(', ')}`,
      );
    }
  } finally {
    await sfu.close();
    await bots.close();
  }
  console.log('');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log(
    'µs/pkt: CPU time (user+system) of the forwarding process per forwarded packet (median window; windows: all three).',
  );
  console.log(
    'SFU: the SFU worker as built (werift publish, node-datachannel egress). old: bare werift forward loop (sfu-baseline.ts).',
  );
  console.log(
    'native loop: bare werift-in, node-datachannel-out forward loop without the SFU logic (sfu-native-loop.ts).',
  );
  if (NATIVE_SRTP)
    console.log(
      'native SRTP spike: the bare werift loop with SRTP and sendto of each copy in C (sfu-native-srtp.ts); frames/s the bots decoded.',
    );
  console.log(
    'floor: bare Node dgram send of same-size packets to N UDP sinks (sfu-floor.ts). vs 10 µs: ratio to the target (<1 meets it).',
  );
  console.log(
    'C floor: the same copies in one sendmmsg per packet from C (the kernel alone); C+SRTP floor: each copy SRTP-protected first (the least a native SFU spends per copy).',
  );
}

await main();
