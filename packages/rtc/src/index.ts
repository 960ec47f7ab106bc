import {
  RTCRtpCodecParameters,
  useFIR,
  useNACK,
  useOPUS,
  usePLI,
  useVP8,
  type RTCPeerConnectionConfig,
} from 'werift';

/**
 * werift settings that the SFU (server) and the Node media peer (client SDK, bots) must agree on,
 * and the RTP payload helpers both use (vp8.ts). Node only: browsers never import this package.
 */
export {
  isVp8KeyFrameStart,
  parseVp8Descriptor,
  vp8Descriptor,
  vp8KeyFrameSize,
  type Vp8Descriptor,
  type Vp8FrameSize,
} from './vp8.js';

export const OPUS_PT = 111;
export const VP8_PT = 96;
export const VP8_RTX_PT = 97;

/**
 * Codecs: Opus and VP8 only (the E2EE clear-prefix layouts are defined for those), VP8 with
 * NACK, PLI, FIR and RTX. No REMB and no TWCC feedback: werift sends no REMB, and Chromium's
 * bandwidth estimate collapses with werift's TWCC.
 *
 * When a browser offers, its offer decides the payload types (werift matches by MIME type);
 * when werift offers, these fixed ones are used. werift's sender rewrites the payload type of
 * every packet to its negotiated one, so the two legs through the SFU may differ.
 */
export function conclaveCodecs(): RTCPeerConnectionConfig['codecs'] {
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

/** ICE on loopback only: werift binds 127.0.0.1 and offers it as a host candidate. */
export const LOOPBACK_ICE: Pick<
  RTCPeerConnectionConfig,
  'iceAdditionalHostAddresses' | 'iceInterfaceAddresses'
> = {
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceInterfaceAddresses: { udp4: '127.0.0.1' },
};

const CANDIDATE_ADDRESS = /^(?:a=)?candidate:\S+ \d+ \S+ \d+ (\S+) \d+ typ /i;

/** The connection address of an SDP candidate line ("candidate:..." or "a=candidate:..."). */
export function candidateAddress(candidate: string): string | undefined {
  return CANDIDATE_ADDRESS.exec(candidate)?.[1];
}

/**
 * werift advertises every host address of the machine even when its socket is bound to one:
 * candidates with another address can never work. `address` undefined keeps everything.
 */
export function keepCandidate(candidate: string, address: string | undefined): boolean {
  return address === undefined || candidateAddress(candidate) === address;
}

/** An SDP without the candidate lines `keepCandidate` would drop. */
export function filterSdpCandidates(sdp: string, address: string | undefined): string {
  if (address === undefined) return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || keepCandidate(line, address))
    .join('\r\n');
}
export {
  ntpMiddle32,
  parseRtcp,
  roundTripMs,
  senderReport,
  type ReportBlock,
  type RtcpItem,
} from './rtcp.js';
export { writeRtp, type RtpFields } from './rtp-write.js';
export { isRtcp, readRtp, type RtpView } from './rtp-read.js';
export { tolerateRepeatedHelloVerifyRequest } from './werift-dtls.js';
export { dropEmptyReceiverReports } from './werift-rtcp.js';
export { setLocalDescriptionChecked, type NativeSignaling } from './native-description.js';
