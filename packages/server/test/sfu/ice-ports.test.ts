/**
 * How many UDP ports one SFU connection binds when it gathers, on this machine's real
 * interfaces (this test runs outside the loopback-only namespace): exactly one, which is what
 * the port pool reserves. werift opens a socket per host address it enumerates, so without
 * `iceUseIpv4: false` a machine with a LAN address bound two or more (pc-config.ts).
 */
import { readFileSync } from 'node:fs';
import { RTCPeerConnection } from 'werift';
import { describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../src/sfu/ipc.js';
import { publishPcConfig, subscribePcConfig } from '../../src/sfu/worker/pc-config.js';

const RANGE: [number, number] = [20400, 20419];

function procUdp(): string | undefined {
  try {
    return readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return undefined;
  }
}

function boundPorts(): number {
  let n = 0;
  for (const line of (procUdp() ?? '').split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const port = local ? parseInt(local.split(':')[1] ?? '', 16) : NaN;
    if (port >= RANGE[0] && port <= RANGE[1]) n++;
  }
  return n;
}

const modes: [string, Pick<WorkerConfig, 'announcedAddress' | 'loopbackOnly'>][] = [
  ['loopback only (tests)', { announcedAddress: '127.0.0.1', loopbackOnly: true }],
  ['announced 127.0.0.1 (the default)', { announcedAddress: '127.0.0.1', loopbackOnly: false }],
  [
    'announced address not on this machine (1:1 NAT)',
    { announcedAddress: '203.0.113.7', loopbackOnly: false },
  ],
];

describe.skipIf(procUdp() === undefined)('SFU connections bind one port each', () => {
  it.each(modes)('%s', async (_name, mode) => {
    const config: WorkerConfig = { worker: 0, workers: 1, portRange: RANGE, tap: false, ...mode };
    const offerer = new RTCPeerConnection({ iceUseIpv6: false });
    offerer.addTransceiver('audio', { direction: 'sendonly' });
    offerer.addTransceiver('video', { direction: 'sendonly' });
    await offerer.setLocalDescription(await offerer.createOffer());
    const publish = new RTCPeerConnection(publishPcConfig(config, RANGE));
    const subscribe = new RTCPeerConnection(subscribePcConfig(config, RANGE));
    try {
      expect(boundPorts()).toBe(0);
      await publish.setRemoteDescription(offerer.localDescription ?? { type: 'offer', sdp: '' });
      await publish.setLocalDescription(await publish.createAnswer());
      expect(boundPorts()).toBe(1);
      subscribe.addTransceiver('audio', { direction: 'sendonly' });
      subscribe.addTransceiver('video', { direction: 'sendonly' });
      await subscribe.setLocalDescription(await subscribe.createOffer());
      expect(boundPorts()).toBe(2);
      // Every candidate we advertise has the announced address, on that one port.
      const hosts = (publish.localDescription?.sdp ?? '')
        .split('\r\n')
        .filter((l) => l.startsWith('a=candidate:'))
        .map((l) => l.split(' ').slice(4, 6).join(':'));
      expect(new Set(hosts).size).toBe(1);
      expect(hosts[0]?.startsWith(`${mode.announcedAddress}:`)).toBe(true);
    } finally {
      await Promise.allSettled([publish.close(), subscribe.close(), offerer.close()]);
    }
  });
});
