// SFU bench helper process: the floors — a bare send of packets of the same sizes, at the same
// rates, to the same number of subscribers (plain UDP sinks in the bot process): no RTP header
// rewriting, no WebRTC, nothing received. Three kinds (`start`'s mode):
// - `node`: Node's `dgram`, one `send` per copy, no SRTP: what sending costs this machine's Node.
// - `c`: every copy of a packet in one call to the bench's C addon, one `sendmmsg`, no SRTP: what
//   the kernel alone costs per copy (a native SFU cannot go below it).
// - `c-srtp`: as `c`, each copy SRTP-protected (AEAD_AES_128_GCM) first: the least a native SFU
//   spends per copy, its control plane (ICE, DTLS, RTCP) and its room logic not counted.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync } from 'node:fs';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { num, serve, str } from './sfu-rpc.js';

const counters = { packetsIn: 0, packetsForwarded: 0 };
const timers: NodeJS.Timeout[] = [];
const socket = createSocket('udp4');
/** The addon's socket in the C modes (-1: none). */
let cFd = -1;

/** The packet's copies to every port, sent: a function per mode. */
function sender(mode: string, ports: number[]): (packet: Buffer) => void {
  if (mode === 'node')
    return (packet) => {
      for (const port of ports) {
        socket.send(packet, port, '127.0.0.1');
        counters.packetsForwarded++;
      }
    };
  if (mode !== 'c' && mode !== 'c-srtp') throw new Error(`no floor ${mode}`);
  const addon: NativeAddon = loadNativeAddon();
  const fd = addon.socket();
  if (fd < 0) throw new Error('no socket');
  cFd = fd;
  const to = Uint16Array.from(ports);
  const ctx = mode === 'c-srtp' ? addon.context(randomBytes(16), randomBytes(12)) : undefined;
  return (packet) => {
    const sent = ctx ? addon.fanout(fd, to, packet, ctx) : addon.fanout(fd, to, packet);
    if (sent > 0) counters.packetsForwarded += sent;
  };
}

/** An RTP packet of that many payload bytes (a fixed 12-byte header, SSRC 1). */
function rtpPacket(payloadBytes: number, fill: number): Buffer {
  const p = Buffer.alloc(12 + payloadBytes, fill);
  p.writeUInt16BE(0x8060, 0);
  p.writeUInt32BE(1, 8);
  return p;
}

serve({
  async start(sinkPorts, fps, frameBytes, audioPerSec, mode = 'node') {
    if (!Array.isArray(sinkPorts)) throw new TypeError('ports');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const send = sender(str(mode), sinkPorts.map(num));
    // The SFU's packets: a VP8 frame of frameBytes (+ 1 descriptor byte), an Opus one of 104.
    const video = rtpPacket(num(frameBytes) + 1, 0x5a);
    const audio = rtpPacket(104, 0xa5);
    const fanOut = (packet: Buffer): void => {
      counters.packetsIn++;
      send(packet);
    };
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
    if (cFd >= 0) closeSync(cFd); // the addon's descriptor: Node's fs closes any
  },
});
