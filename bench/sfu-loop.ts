// What the SFU bench's bare forward loops (sfu-baseline.ts, sfu-native-loop.ts,
// sfu-native-srtp.ts) share: the publish connection with the SFU's own settings, the werift
// subscribe connection the SFU used before its native egress, and the counters they report.
import {
  RTCPeerConnection,
  useAbsSendTime,
  useAudioLevelIndication,
  useSdesMid,
  type RTCPeerConnectionConfig,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import type { StreamInfo } from '@conclave/protocol';
import { LOOPBACK_ICE, conclaveCodecs, filterSdpCandidates } from '@conclave/rtc';
import type { WorkerConfig } from '../packages/server/src/sfu/ipc.js';
import { publishPcConfig } from '../packages/server/src/sfu/worker/pc-config.js';

export const counters = { packetsIn: 0, packetsForwarded: 0 };

/** What a loop's `stats` call answers: its CPU, RSS and counters. */
export function loopStats(): {
  cpuMicros: number;
  rssBytes: number;
  packetsIn: number;
  packetsForwarded: number;
} {
  const cpu = process.cpuUsage();
  return { cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss(), ...counters };
}

/**
 * Answers the publisher's offer on a werift connection with the SFU's publish settings (ports
 * from the first half of `portRange`); every packet goes to `onRtp`, counted in.
 */
export async function answerPublish(
  portRange: [number, number],
  sdp: string,
  onRtp: (kind: 'audio' | 'video', rtp: RtpPacket, transceiver: RTCRtpTransceiver) => void,
): Promise<{ pc: RTCPeerConnection; answer: string }> {
  const config: WorkerConfig = {
    worker: 0,
    workers: 1,
    announcedAddress: '127.0.0.1',
    portRange,
    loopbackOnly: true,
    tap: false,
  };
  const pc = new RTCPeerConnection(publishPcConfig(config, portRange));
  pc.onRemoteTransceiverAdded.subscribe((t) => {
    const kind = t.kind === 'audio' ? 'audio' : 'video';
    t.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        counters.packetsIn++;
        onRtp(kind, rtp, t);
      });
    });
  });
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return { pc, answer: filterSdpCandidates(pc.localDescription?.sdp ?? '', '127.0.0.1') };
}

/** The old SFU's werift subscribe connection (the SFU offers; these extension ids are sent). */
function subscribePcConfig(icePortRange: [number, number]): RTCPeerConnectionConfig {
  return {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    icePortRange,
    ...LOOPBACK_ICE,
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useAbsSendTime()],
    },
  };
}

export interface WeriftSubscriber {
  pc: RTCPeerConnection;
  audio: RTCRtpTransceiver;
  video: RTCRtpTransceiver;
}

/** A werift subscribe connection with one sendonly audio and video transceiver, and its offer. */
export async function weriftSubscriber(
  icePortRange: [number, number],
): Promise<WeriftSubscriber & { offer: { sdp: string; streams: StreamInfo[] } }> {
  const pc = new RTCPeerConnection(subscribePcConfig(icePortRange));
  const audio = pc.addTransceiver('audio', { direction: 'sendonly' });
  const video = pc.addTransceiver('video', { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const streams: StreamInfo[] = [
    { mid: audio.mid ?? '0', participantId: 'pub', source: 'audio' },
    { mid: video.mid ?? '1', participantId: 'pub', source: 'camera' },
  ];
  return {
    pc,
    audio,
    video,
    offer: { sdp: filterSdpCandidates(pc.localDescription?.sdp ?? '', '127.0.0.1'), streams },
  };
}
