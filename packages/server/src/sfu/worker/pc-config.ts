import { networkInterfaces } from 'node:os';
import { conclaveCodecs, LOOPBACK_ICE } from '@conclave/rtc';
import {
  useAbsSendTime,
  useAudioLevelIndication,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  type RTCPeerConnectionConfig,
} from 'werift';
import type { WorkerConfig } from '../ipc.js';

function isLocalAddress(address: string): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.address === address) return true;
  }
  return false;
}

function iceConfig(config: WorkerConfig, range: [number, number]): RTCPeerConnectionConfig {
  const base: RTCPeerConnectionConfig = {
    iceServers: [],
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

/** Publish connection: receives the participant's tracks, simulcast included (mid + rid extensions). */
export function publishPcConfig(config: WorkerConfig, range: [number, number]): RTCPeerConnectionConfig {
  return {
    ...iceConfig(config, range),
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()],
    },
  };
}

/** Subscribe connection: the SFU offers, so these extension ids are the ones the participant sees. */
export function subscribePcConfig(config: WorkerConfig, range: [number, number]): RTCPeerConnectionConfig {
  return {
    ...iceConfig(config, range),
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useAbsSendTime()],
    },
  };
}

/** The address every kept candidate must have. */
export function advertisedAddress(config: WorkerConfig): string {
  return config.loopbackOnly ? '127.0.0.1' : config.announcedAddress;
}

/**
 * This worker's share of the port range: werift probes a port and binds it later, so two
 * processes scanning the same range could race for one port. Slices are disjoint.
 */
export function workerPortRange(config: WorkerConfig): [number, number] {
  const [lo, hi] = config.portRange;
  const size = Math.floor((hi - lo + 1) / config.workers);
  if (size < 2) return [lo, hi];
  const start = lo + config.worker * size;
  return [start, start + size - 1];
}
