// SFU bench helper process: the publisher and subscriber bots (NodeMediaPeer), so their CPU is
// not counted as the SFU's.
import { createSocket, type Socket } from 'node:dgram';
import type { StreamInfo } from '@conclave/protocol';
import { NodeMediaPeer, syntheticOpusFrame, syntheticVp8Frame } from '@conclave/client/media';
import { num, serve, str } from './sfu-rpc.js';

const peers = new Map<string, NodeMediaPeer>();
const counts = { frames: 0, bytes: 0, keyFramesSent: 0, keyFrameRequests: 0, sinkPackets: 0 };
const timers: NodeJS.Timeout[] = [];
const sinks: Socket[] = [];

function peer(id: unknown): NodeMediaPeer {
  const p = peers.get(str(id));
  if (!p) throw new Error(`no bot ${String(id)}`);
  return p;
}

serve({
  async publisher(id) {
    const p = new NodeMediaPeer({ loopbackOnly: true });
    peers.set(str(id), p);
    p.onKeyFrameRequest(() => counts.keyFrameRequests++);
    return p.createPublishOffer();
  },
  async publishAnswer(id, sdp) {
    await peer(id).applyPublishAnswer(str(sdp));
    await peer(id).waitConnected('publish');
  },
  subscriber(id) {
    const p = new NodeMediaPeer({ loopbackOnly: true });
    peers.set(str(id), p);
    p.onFrame((f) => {
      counts.frames++;
      counts.bytes += f.frame.length;
    });
  },
  subscribeOffer(id, sdp, streams) {
    // The parent relays the SFU's StreamInfo list unchanged.
    return peer(id).handleSubscribeOffer(str(sdp), streams as StreamInfo[]);
  },
  async waitSubscribed(ids) {
    if (!Array.isArray(ids)) throw new TypeError('ids');
    await Promise.all(ids.map((id) => peer(id).waitConnected('subscribe', 30_000)));
  },
  /** Video frames of `frameBytes` at `fps` (key frame every 2 s or when asked), Opus frames at `audioPerSec`. */
  start(id, fps, frameBytes, audioPerSec) {
    const p = peer(id);
    let i = 0;
    let wantKey = true;
    p.onKeyFrameRequest(() => (wantKey = true));
    timers.push(
      setInterval(
        () => {
          const key = wantKey || i % (num(fps) * 2) === 0;
          wantKey = false;
          if (key) counts.keyFramesSent++;
          void p.sendFrame('camera', syntheticVp8Frame(num(frameBytes), key, i++), { keyFrame: key });
        },
        1000 / num(fps),
      ),
      setInterval(() => void p.sendFrame('audio', syntheticOpusFrame(100, i)), 1000 / num(audioPerSec)),
    );
  },
  stop() {
    for (const t of timers.splice(0)) clearInterval(t);
  },
  /** Plain UDP sockets that swallow the floor's packets (one per subscriber); their ports. */
  async sinks(n) {
    const ports: number[] = [];
    for (let i = 0; i < num(n); i++) {
      const s = createSocket('udp4');
      s.on('message', () => counts.sinkPackets++);
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      sinks.push(s);
      ports.push(s.address().port);
    }
    return ports;
  },
  closeSinks() {
    for (const s of sinks.splice(0)) s.close();
  },
  counts() {
    const cpu = process.cpuUsage();
    return { ...counts, cpuMicros: cpu.user + cpu.system };
  },
  async closeAll() {
    for (const t of timers.splice(0)) clearInterval(t);
    await Promise.allSettled([...peers.values()].map((p) => p.close()));
    peers.clear();
  },
});
