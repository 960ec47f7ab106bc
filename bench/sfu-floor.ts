// SFU bench helper process: the floor — a bare Node `dgram` send of packets of the same sizes,
// at the same rates, to the same number of subscribers (plain UDP sinks in the bot process):
// no SRTP, no RTP header rewriting, no WebRTC. What sending costs this machine's Node at all.
import { createSocket } from 'node:dgram';
import { num, serve } from './sfu-rpc.js';

const socket = createSocket('udp4');
const counters = { packetsIn: 0, packetsForwarded: 0 };
const timers: NodeJS.Timeout[] = [];
let ports: number[] = [];

function fanOut(packet: Buffer): void {
  counters.packetsIn++;
  for (const port of ports) {
    socket.send(packet, port, '127.0.0.1');
    counters.packetsForwarded++;
  }
}

serve({
  async start(sinkPorts, fps, frameBytes, audioPerSec) {
    if (!Array.isArray(sinkPorts)) throw new TypeError('ports');
    ports = sinkPorts.map(num);
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    // The SFU's packets: a VP8 frame of frameBytes (+ 12 header + 1 descriptor bytes), an Opus one of 100.
    const video = Buffer.alloc(num(frameBytes) + 13, 0x5a);
    const audio = Buffer.alloc(100 + 12 + 4, 0xa5);
    timers.push(
      setInterval(() => fanOut(video), 1000 / num(fps)),
      setInterval(() => fanOut(audio), 1000 / num(audioPerSec)),
    );
  },
  stats() {
    const cpu = process.cpuUsage();
    return { cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss(), ...counters };
  },
  close() {
    for (const t of timers.splice(0)) clearInterval(t);
    socket.close();
  },
});
