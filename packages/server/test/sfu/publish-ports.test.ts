/**
 * Publish connections start werift's port search at a port no other publish connection of the
 * worker holds (publish-ports.ts): each binds that port, so its first probe succeeds; a port
 * taken by someone else only moves the search on by one.
 */
import { createSocket, type Socket } from 'node:dgram';
import { RTCPeerConnection } from 'werift';
import { describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../src/sfu/ipc.js';
import { publishPcConfig, publishPortRange } from '../../src/sfu/worker/pc-config.js';
import { PublishPorts } from '../../src/sfu/worker/publish-ports.js';

const SLICE: [number, number] = [20440, 20459];
const config: WorkerConfig = {
  worker: 0,
  workers: 1,
  portRange: SLICE,
  tap: false,
  announcedAddress: '127.0.0.1',
  loopbackOnly: true,
};

describe('PublishPorts', () => {
  it('hands out the lowest port nobody holds, and takes it back on release', () => {
    const ports = new PublishPorts([100, 103]);
    const [a, b, c] = [ports.take(), ports.take(), ports.take()];
    expect([a.start, b.start, c.start]).toEqual([100, 101, 102]);
    b.release();
    expect(ports.inUse).toBe(2);
    expect(ports.take().start).toBe(101);
    ports.take();
    // More connections than ports (the facade's pool prevents it): the last one is shared.
    const extra = ports.take();
    expect(extra.start).toBe(103);
    extra.release();
    expect(ports.inUse).toBe(4);
  });
});

/** Our publish connection's port once it answered an offer (that is when werift gathers). */
async function answerAndPort(pc: RTCPeerConnection): Promise<number> {
  const offerer = new RTCPeerConnection({ iceUseIpv6: false });
  try {
    offerer.addTransceiver('audio', { direction: 'sendonly' });
    await offerer.setLocalDescription(await offerer.createOffer());
    await pc.setRemoteDescription(offerer.localDescription ?? { type: 'offer', sdp: '' });
    await pc.setLocalDescription(await pc.createAnswer());
    const candidate = (pc.localDescription?.sdp ?? '')
      .split('\r\n')
      .find((l) => l.startsWith('a=candidate:'));
    return Number(candidate?.split(' ')[5]);
  } finally {
    await offerer.close();
  }
}

describe('publish connections on a worker', () => {
  it('each bind the port they were handed; a port held by an outsider costs one probe', async () => {
    const range = publishPortRange(SLICE);
    const ports = new PublishPorts(range);
    const pcs: RTCPeerConnection[] = [];
    const outsiders: Socket[] = [];
    try {
      const make = (): RTCPeerConnection => {
        const pc = new RTCPeerConnection(publishPcConfig(config, SLICE, ports.take().start));
        pcs.push(pc);
        return pc;
      };
      // The first connection has not gathered yet (its participant has not published): the
      // others do not probe its port, and it finds its port free when it does gather.
      const [first, second, third] = [make(), make(), make()];
      expect(await answerAndPort(second)).toBe(range[0] + 1);
      expect(await answerAndPort(third)).toBe(range[0] + 2);
      expect(await answerAndPort(first)).toBe(range[0]);
      // Someone else holds the next port: the search moves on to the one after.
      const sock = createSocket('udp4');
      outsiders.push(sock);
      await new Promise<void>((r) => sock.bind(range[0] + 3, '127.0.0.1', r));
      expect(await answerAndPort(make())).toBe(range[0] + 4);
      // The half's last port too (werift takes no range of one port: the search starts one
      // below, held here by another outsider).
      while (ports.inUse < range[1] - range[0]) ports.take();
      const below = createSocket('udp4');
      outsiders.push(below);
      await new Promise<void>((r) => below.bind(range[1] - 1, '127.0.0.1', r));
      expect(await answerAndPort(make())).toBe(range[1]);
    } finally {
      for (const o of outsiders) o.close();
      await Promise.allSettled(pcs.map((pc) => pc.close()));
    }
  });
});
