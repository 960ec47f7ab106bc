import { networkInterfaces } from 'node:os';
import {
  RTCRtpCodecParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useFIR,
  useNACK,
  useOPUS,
  usePLI,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useVP8,
  type RTCPeerConnectionConfig,
} from 'werift';
import type { WorkerConfig } from '../ipc.js';

export const OPUS_PT = 111;
export const VP8_PT = 96;
export const VP8_RTX_PT = 97;

/**
 * Codecs: Opus and VP8 only (the E2EE clear-prefix layouts are defined for those), VP8 with
 * NACK, PLI, FIR and RTX. No REMB and no TWCC feedback: werift sends no REMB, and Chromium's
 * bandwidth estimate collapses with werift's TWCC, so TWCC stays off on publisher connections
 * (and on subscriber connections, where werift would only log it).
 *
 * On the publish side the browser's offer decides the payload types (werift matches by MIME
 * type); on the subscribe side the SFU offers these fixed ones. Payload types therefore may
 * differ between the two legs: werift's sender rewrites the payload type of every packet to its
 * negotiated one.
 */
function codecs(): RTCPeerConnectionConfig['codecs'] {
  return {
    audio: [useOPUS({ payloadType: OPUS_PT })],
    video: [
      useVP8({ payloadType: VP8_PT, rtcpFeedback: [useNACK(), usePLI(), useFIR()] }),
      new RTCRtpCodecParameters({
        mimeType: 'video/rtx',
        clockRate: 90000,
        payloadType: VP8_RTX_PT,
        parameters: `apt=${VP8_PT}`,
      }),
    ],
  };
}

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
    return {
      ...base,
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
    };
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
    codecs: codecs(),
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
    codecs: codecs(),
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

const CANDIDATE_ADDRESS = /^(?:a=)?candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ /i;

export function keepCandidate(candidate: string, address: string): boolean {
  return CANDIDATE_ADDRESS.exec(candidate)?.[1] === address;
}

/** werift advertises every host address even when bound to one: keep only the advertised one. */
export function filterSdpCandidates(sdp: string, address: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || keepCandidate(line, address))
    .join('\r\n');
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
