// npm run -s bench:policy
//
// The SFU's forwarding-policy tick (every POLICY_TICK_MS, for every subscriber of a meeting: who
// is forwarded, at which layer, what it is told) over stand-in forwarders: N members, each
// publishing a three-layer camera and a microphone, each subscriber showing 9 videos (the web
// app's default last-N), three speakers changing every tick. Figures: CPU per meeting tick and
// its ratio to the tick period (the share of one core the policy takes), at 50, 100, 150 members.
//
// Environment: BENCH_POLICY_N="50,100,150"  BENCH_POLICY_TICKS=200
import type { MediaSource } from '@conclave/protocol';
import type { MediaKind } from '../packages/server/src/sfu/ipc.js';
import { POLICY_TICK_MS } from '../packages/server/src/sfu/worker/context.js';
import type { LayerView } from '../packages/server/src/sfu/worker/layer-policy.js';
import {
  ViewPolicy,
  tickSpeakers,
  type PolicyForwarder,
} from '../packages/server/src/sfu/worker/view-policy.js';

const NS = (process.env.BENCH_POLICY_N ?? '50,100,150').split(',').map(Number);
const TICKS = Number(process.env.BENCH_POLICY_TICKS ?? 200);

const SIMULCAST: LayerView[] = [
  { rid: 'q', rate: 20_000, active: true, width: 320, height: 180 },
  { rid: 'h', rate: 60_000, active: true, width: 640, height: 360 },
  { rid: 'f', rate: 190_000, active: true, width: 1280, height: 720 },
];
const MIC: LayerView[] = [{ rid: '', rate: 4_000, active: true }];

/** A forwarder as the policy drives it: the layer it is asked for flows at once. */
class StandInForwarder implements PolicyForwarder {
  currentRid: string | undefined;
  readonly sent = { packets: 0, bytes: 0 };
  readonly stream: PolicyForwarder['stream'];
  constructor(
    publisher: { id: string; muted: Record<MediaKind, boolean> },
    source: MediaSource,
    layers: LayerView[],
  ) {
    const kind: MediaKind = source === 'camera' ? 'video' : 'audio';
    this.stream = { publisher, kind, source, layerViews: () => layers.map((l) => ({ ...l })) };
  }
  setEnabled(): void {}
  setPreferredLayer(rid: string | null): void {
    if (rid !== null) this.currentRid = rid;
  }
}

function meeting(n: number): (k: number) => void {
  const ids = Array.from({ length: n }, (_, i) => `p${i + 1}`);
  const streams = ids.map((id) => {
    const publisher = { id, muted: { audio: false, video: false } };
    return {
      camera: new StandInForwarder(publisher, 'camera', SIMULCAST),
      mic: new StandInForwarder(publisher, 'audio', MIC),
    };
  });
  const policies = ids.map((id, i) => {
    const forwarders = new Map<string, PolicyForwarder>();
    streams.forEach((s, j) => {
      if (j === i) return;
      forwarders.set(`${j}/camera`, s.camera);
      forwarders.set(`${j}/audio`, s.mic);
    });
    const downlink = { lossFraction: 0, rttMs: 20, reportedAt: 1 };
    const policy = new ViewPolicy({ id, receiving: true, downlink, forwarders }, () => undefined);
    policy.setView({ lastN: 9, pinned: [], tiles: [], defaultHeight: 360 });
    return policy;
  });
  let now = 0;
  return (k) => {
    const speakers = [ids[k % n]!, ids[(k + 7) % n]!, ids[(k + 13) % n]!];
    const s = tickSpeakers({ speakers, audioOrder: speakers, levelless: () => false, publishers: ids });
    now += POLICY_TICK_MS;
    for (const p of policies) p.tick(s, now);
  };
}

console.log(`SFU forwarding-policy tick — stand-in forwarders, ${TICKS} ticks after as many warm-up ticks`);
console.log('');
console.log('  N  forwarders  CPU ms/tick  share of a core (ticks every 200 ms)');
for (const n of NS) {
  const tick = meeting(n);
  for (let k = 0; k < TICKS; k++) tick(k);
  const c0 = process.cpuUsage();
  for (let k = 0; k < TICKS; k++) tick(k);
  const c = process.cpuUsage(c0);
  const ms = (c.user + c.system) / 1000 / TICKS;
  console.log(
    `${String(n).padStart(3)}  ${String(2 * n * (n - 1)).padStart(10)}  ${ms.toFixed(2).padStart(11)}  ${((ms / POLICY_TICK_MS) * 100).toFixed(1)} %`,
  );
}
