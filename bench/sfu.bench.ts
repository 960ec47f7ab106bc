// npm run -s bench:sfu   (runs inside a loopback-only network namespace via scripts/netns.mjs)
//
// One publisher bot sends synthetic VP8 frames (~1000 bytes, 30 fps) and 50 Opus frames/s; N bots
// subscribe. Bots live in a helper process (sfu-bots.ts) so their CPU is not the SFU's. For each
// N the SFU worker's CPU time per forwarded packet is compared with the 50 µs target and with a
// bare werift forward loop (sfu-baseline.ts, same codecs and ICE settings) measured in this run.
//
// Environment: BENCH_SFU_N="1,8,32"  BENCH_SFU_SECONDS=10  BENCH_SFU_FRAME_BYTES=1000
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { StreamInfo } from '@conclave/protocol';
import { Sfu } from '@conclave/server/sfu';
import { ChildRpc } from './sfu-rpc.js';

const NS = (process.env.BENCH_SFU_N ?? '1,8,32').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SFU_SECONDS ?? 10);
const FRAME_BYTES = Number(process.env.BENCH_SFU_FRAME_BYTES ?? 1000);
const FPS = 30;
const AUDIO_PER_SEC = 50;
const WARMUP_MS = 1500;
const TARGET_US = 50;

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sample {
  cpuMicros: number;
  packetsForwarded: number;
  packetsIn: number;
  rssBytes: number;
}
interface BotCounts {
  frames: number;
  cpuMicros: number;
  keyFramesSent: number;
}
interface Result {
  pps: number;
  inPps: number;
  usPerPacket: number;
  rssMb: number;
  framesPerSec: number;
  botCpuPct: number;
  keyFrames: number;
}

const bots = new ChildRpc(here('./sfu-bots.ts'));

async function measure(sample: () => Promise<Sample>): Promise<Result> {
  await sleep(WARMUP_MS);
  const a = await sample();
  const ba = await bots.call<BotCounts>('counts');
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const b = await sample();
  const bb = await bots.call<BotCounts>('counts');
  const secs = (performance.now() - t0) / 1000;
  const fwd = b.packetsForwarded - a.packetsForwarded;
  return {
    pps: fwd / secs,
    inPps: (b.packetsIn - a.packetsIn) / secs,
    usPerPacket: fwd > 0 ? (b.cpuMicros - a.cpuMicros) / fwd : NaN,
    rssMb: b.rssBytes / 2 ** 20,
    framesPerSec: (bb.frames - ba.frames) / secs,
    botCpuPct: (bb.cpuMicros - ba.cpuMicros) / 1e4 / secs,
    keyFrames: bb.keyFramesSent - ba.keyFramesSent,
  };
}

const subscriberIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `sub${i + 1}`);

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
  await bots.call('start', 'pub', FPS, FRAME_BYTES, AUDIO_PER_SEC);
  const result = await measure(async () => {
    const s = (await sfu.stats())[0];
    if (!s) throw new Error('no SFU worker');
    return {
      cpuMicros: s.cpuUserMicros + s.cpuSystemMicros,
      packetsForwarded: s.packetsForwarded,
      packetsIn: s.packetsIn,
      rssBytes: s.rssBytes,
    };
  });
  await bots.call('stop');
  await sfu.closeMeeting(m);
  await bots.call('closeAll');
  return result;
}

async function runBaseline(n: number): Promise<Result> {
  const base = new ChildRpc(here('./sfu-baseline.ts'));
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
    const result = await measure(() => base.call<Sample>('stats'));
    await bots.call('stop');
    await bots.call('closeAll');
    await base.call('close');
    return result;
  } finally {
    await base.close();
  }
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  console.log(
    `SFU forwarding cost — ${cpus().length} cores, node ${process.version}, ${SECONDS} s per run after ${WARMUP_MS} ms warm-up`,
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
    'in pkt/s',
    'SFU µs/pkt',
    'vs 50 µs',
    'marginal µs/pkt',
    'worker RSS MB',
    'frames rx/s',
    'baseline µs/pkt',
    'baseline marginal',
    'SFU/baseline',
    'bots CPU %',
  ];
  const rows: string[][] = [];
  // Marginal cost between two loads: extra CPU per extra forwarded packet. It leaves out what
  // does not grow with N (receiving the publisher, RTCP timers), so it is the per-copy cost.
  const marginal = (a: Result | undefined, b: Result): number =>
    a ? (b.usPerPacket * b.pps - a.usPerPacket * a.pps) / (b.pps - a.pps) : NaN;
  let prev: { ours: Result; base: Result } | undefined;
  try {
    for (const n of NS) {
      const ours = await runSfu(sfu, n);
      const base = await runBaseline(n);
      const row = [
        String(n),
        fmt(ours.pps, 0),
        fmt(ours.inPps, 0),
        fmt(ours.usPerPacket),
        `${fmt(ours.usPerPacket / TARGET_US, 2)}x`,
        fmt(marginal(prev?.ours, ours)),
        fmt(ours.rssMb, 0),
        fmt(ours.framesPerSec, 0),
        fmt(base.usPerPacket),
        fmt(marginal(prev?.base, base)),
        `${fmt(ours.usPerPacket / base.usPerPacket, 2)}x`,
        fmt(ours.botCpuPct, 0),
      ];
      prev = { ours, base };
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
    'µs/pkt: CPU time (user+system) of the forwarding process per forwarded packet; vs 50 µs: ratio to the target (<1 is better).',
  );
  console.log(
    'marginal: extra CPU per extra forwarded packet against the previous N (fixed receive and RTCP costs left out).',
  );
  console.log('baseline: bare werift loop (clone + sendRtp per subscriber) in its own process, same run.');
}

await main();
