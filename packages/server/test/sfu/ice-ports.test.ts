/**
 * How many UDP ports one SFU connection binds when it gathers, on this machine's real
 * interfaces (this test runs outside the loopback-only namespace): exactly one, which is what
 * the port pool reserves. werift (publish) opens a socket per host address it enumerates, so
 * without `iceUseIpv4: false` a machine with a LAN address bound two or more (pc-config.ts);
 * libdatachannel (subscribe) binds one socket, on the announced address or on all interfaces.
 * The two take their ports from disjoint halves of the worker's slice.
 */
import { readFileSync } from 'node:fs';
import { RTCPeerConnection } from 'werift';
import { describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../src/sfu/ipc.js';
import { NativeSubscribeConnection } from '../../src/sfu/worker/native-subscribe.js';
import { publishPcConfig, subscribeIceConfig } from '../../src/sfu/worker/pc-config.js';

const RANGE: [number, number] = [20400, 20419];

/** IPv4 and IPv6 UDP sockets (libjuice bound to every interface uses one dual-stack socket). */
function procUdp(): string | undefined {
  try {
    const v4 = readFileSync('/proc/net/udp', 'utf8');
    let v6 = '';
    try {
      v6 = readFileSync('/proc/net/udp6', 'utf8').split('\n').slice(1).join('\n');
    } catch {
      /* no IPv6 */
    }
    return `${v4}\n${v6}`;
  } catch {
    return undefined;
  }
}

function boundPorts(range: [number, number] = RANGE): number {
  let n = 0;
  for (const line of (procUdp() ?? '').split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const port = local ? parseInt(local.split(':').at(-1) ?? '', 16) : NaN;
    if (port >= range[0] && port <= range[1]) n++;
  }
  return n;
}

const hostCandidates = (lines: readonly string[]): string[] =>
  lines.filter((l) => l.startsWith('candidate:')).map((l) => l.split(' ').slice(4, 6).join(':'));
const sdpCandidates = (sdp: string): string[] =>
  sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.slice(2));

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
    const ice = subscribeIceConfig(config, RANGE);
    const noEvents = {
      stateChange: () => undefined,
      keyFrameRequest: () => undefined,
      open: () => undefined,
      report: () => undefined,
    };
    const subscribe = new NativeSubscribeConnection('ports', ice, noEvents);
    try {
      expect(boundPorts()).toBe(0);
      await publish.setRemoteDescription(offerer.localDescription ?? { type: 'offer', sdp: '' });
      await publish.setLocalDescription(await publish.createAnswer());
      expect(boundPorts()).toBe(1);
      subscribe.addTrack('audio');
      subscribe.addTrack('video');
      const offer = await subscribe.createOffer();
      expect(boundPorts()).toBe(2);
      // One port of each half of the slice.
      expect(boundPorts(ice.portRange)).toBe(1);
      // Every candidate we advertise has the announced address, on that one port (the first
      // subscribe offer holds its candidates back until the answer: native-subscribe.ts).
      expect(sdpCandidates(offer)).toEqual([]);
      for (const lines of [sdpCandidates(publish.localDescription?.sdp ?? ''), subscribe.heldCandidates]) {
        const hosts = hostCandidates(lines);
        expect(new Set(hosts).size).toBe(1);
        expect(hosts[0]?.startsWith(`${mode.announcedAddress}:`)).toBe(true);
      }
    } finally {
      subscribe.close();
      await Promise.allSettled([publish.close(), offerer.close()]);
    }
  });
});
