import { networkInterfaces } from 'node:os';
import { conclaveCodecs, LOOPBACK_ICE, tolerateRepeatedHelloVerifyRequest } from '@conclave/rtc';
import {
  useAudioLevelIndication,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  type RTCPeerConnectionConfig,
} from 'werift';
import type { WorkerConfig } from '../ipc.js';
import { workerPortSlice } from '../port-pool.js';
import type { NativeIceConfig } from './native-subscribe.js';

function isLocalAddress(address: string): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.address === address) return true;
  }
  return false;
}

/**
 * One UDP port per connection, which the facade's port pool counts on (2 per participant,
 * port-pool.ts). What werift 0.24 does, read in its ICE code and measured (/proc/net/udp,
 * test/sfu/ice-ports.test.ts and media-capacity.browser.test.ts):
 * - it opens one socket per host address it gathers: the machine's non-loopback IPv4
 *   addresses (narrowed to `iceInterfaceAddresses` only when that is one of them) plus
 *   `iceAdditionalHostAddresses`. Loopback mode (interface 127.0.0.1 is not in that list), the
 *   default 127.0.0.1 and a 1:1 NAT address thus gathered [announced, eth0, ...]: on a host
 *   with one LAN address 2 ports per connection, 4 per participant, the extra ones never
 *   advertised (filterSdpCandidates drops them). `iceUseIpv4: false` turns off only that
 *   enumeration (each socket's family comes from its address), so the announced address is
 *   the one address gathered, in every mode; candidates and bound addresses are unchanged.
 * - with max-bundle every m-line shares one ICE transport. Repeated offers, new m-lines,
 *   offers without BUNDLE and ICE restarts (ours or the participant's: werift keeps its
 *   sockets and skips addresses it has one for) bind no new port.
 * - the exception: a DTLS alert record (werift takes even a plaintext one, as close) marks the
 *   DTLS transport closed; a new m-line of a later offer then gets a fresh transport, which
 *   binds another port when the offer is not bundled (bundled, it is dropped before
 *   gathering). Participant.setLocal refuses any description with a second transport.
 */
function iceConfig(config: WorkerConfig, range: [number, number]): RTCPeerConnectionConfig {
  const base: RTCPeerConnectionConfig = {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    icePortRange: range,
  };
  if (config.loopbackOnly) {
    return { ...base, ...LOOPBACK_ICE };
  }
  // The announced address is always a host candidate. When it is one of ours, sockets bind to
  // it; otherwise (1:1 NAT, e.g. a cloud VM's public address) they bind to all interfaces and
  // the NAT forwards the announced address to us. Other addresses are filtered out of the SDP.
  return {
    ...base,
    iceAdditionalHostAddresses: [config.announcedAddress],
    ...(isLocalAddress(config.announcedAddress)
      ? { iceInterfaceAddresses: { udp4: config.announcedAddress } }
      : {}),
  };
}

/**
 * A worker's slice is split in two halves: werift's publish connections take ports from the
 * first, libdatachannel's subscribe connections from the second. werift probes a port and binds
 * it later (under the worker's gather lock); libjuice binds at once and knows nothing of that
 * lock, so sharing one range could hand both the same port. The pool reserves 2 ports per
 * participant, one of each half: a slice of 2n ports holds n participants either way.
 */
function halves(slice: [number, number]): { publish: [number, number]; subscribe: [number, number] } {
  const [lo, hi] = slice;
  const half = Math.floor((hi - lo + 1) / 2);
  if (half < 1) return { publish: slice, subscribe: slice };
  return { publish: [lo, lo + half - 1], subscribe: [lo + half, hi] };
}

/** The ports of a worker slice that publish connections take (the first half). */
export function publishPortRange(slice: [number, number]): [number, number] {
  return halves(slice).publish;
}

/**
 * Publish connection: receives the participant's tracks, simulcast included (mid + rid
 * extensions). werift searches its port from `startAt` (publish-ports.ts) to the half's end.
 */
export function publishPcConfig(
  config: WorkerConfig,
  slice: [number, number],
  startAt?: number,
): RTCPeerConnectionConfig {
  // The SFU is the DTLS client of every publish connection (it answers a=setup:active).
  tolerateRepeatedHelloVerifyRequest();
  const [lo, hi] = halves(slice).publish;
  // werift refuses a range of one port (min === max): the last port's search starts one below.
  const from = startAt === undefined ? lo : Math.max(lo, Math.min(startAt, hi - 1));
  return {
    ...iceConfig(config, [from, hi]),
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()],
    },
  };
}

/**
 * Subscribe connection (node-datachannel): one socket on the announced address when it is one
 * of ours (loopback mode: 127.0.0.1); behind a 1:1 NAT on every interface, advertising the
 * announced address (native-subscribe.ts rewrites the host candidate).
 */
export function subscribeIceConfig(config: WorkerConfig, slice: [number, number]): NativeIceConfig {
  const address = advertisedAddress(config);
  const local = config.loopbackOnly || isLocalAddress(config.announcedAddress);
  return {
    bindAddress: local ? address : undefined,
    portRange: halves(slice).subscribe,
    advertised: address,
  };
}

/** The address every kept candidate must have. */
export function advertisedAddress(config: WorkerConfig): string {
  return config.loopbackOnly ? '127.0.0.1' : config.announcedAddress;
}

/**
 * This worker's share of the port range: werift probes a port and binds it later, so two
 * processes scanning the same range could race for one port. Slices are disjoint; the
 * facade's port pool computes the same slices (one function).
 */
export function workerPortRange(config: WorkerConfig): [number, number] {
  return workerPortSlice(config.portRange, config.workers, config.worker);
}
