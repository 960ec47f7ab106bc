import {
  RTCRtpCodecParameters,
  useAbsSendTime,
  useAudioLevelIndication,
  useFIR,
  useNACK,
  useOPUS,
  usePLI,
  useSdesMid,
  useVP8,
  type RTCPeerConnectionConfig,
} from 'werift';

export const OPUS_PT = 111;
export const VP8_PT = 96;
export const VP8_RTX_PT = 97;

/**
 * werift configuration of a bot's peer connections. Codecs match what the SFU and browsers
 * negotiate (Opus, VP8 with NACK/PLI/FIR and RTX). No TWCC and no REMB: werift's TWCC makes
 * Chromium's estimate collapse, and werift never sends REMB.
 */
export function botPeerConfig(loopbackOnly: boolean): RTCPeerConnectionConfig {
  return {
    iceServers: [],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    ...(loopbackOnly
      ? { iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } }
      : {}),
    codecs: {
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
    },
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useAbsSendTime()],
    },
  };
}

const CANDIDATE_ADDRESS = /^(?:a=)?candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ /i;

/** The connection address of an SDP candidate line ("candidate:..." or "a=candidate:..."). */
export function candidateAddress(candidate: string): string | undefined {
  return CANDIDATE_ADDRESS.exec(candidate)?.[1];
}

/**
 * With loopbackOnly, werift still advertises the machine's other addresses although its socket
 * is bound to 127.0.0.1: those candidates can never work, so they are removed.
 */
export function keepCandidate(candidate: string, loopbackOnly: boolean): boolean {
  if (!loopbackOnly) return true;
  return candidateAddress(candidate) === '127.0.0.1';
}

export function filterSdpCandidates(sdp: string, loopbackOnly: boolean): string {
  if (!loopbackOnly) return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || keepCandidate(line, true))
    .join('\r\n');
}
