// SFU bench helper process: the old path, a bare werift forward loop with the SFU's publish
// settings and the subscribe settings the SFU used before its native egress (werift senders,
// SRTP and UDP in JavaScript) — one publisher connection, every packet cloned and handed to each
// subscriber's sender. No key-frame gating, layer choice, extension mapping or PLI throttling:
// measured against the old SFU in the same runs, it cost the same (docs/architecture.md, SFU).
import {
  RTCPeerConnection,
  useAbsSendTime,
  useAudioLevelIndication,
  useSdesMid,
  type RTCPeerConnectionConfig,
  type RTCRtpTransceiver,
} from 'werift';
import type { WorkerConfig } from '../packages/server/src/sfu/ipc.js';
import { LOOPBACK_ICE, conclaveCodecs, filterSdpCandidates } from '@conclave/rtc';
import { publishPcConfig } from '../packages/server/src/sfu/worker/pc-config.js';
import { serve, str } from './sfu-rpc.js';

const config: WorkerConfig = {
  worker: 0,
  workers: 1,
  announcedAddress: '127.0.0.1',
  portRange: [47000, 47999],
  loopbackOnly: true,
  tap: false,
};
const range: [number, number] = config.portRange;

/** The old SFU's werift subscribe connection (the SFU offers; these extension ids are sent). */
function subscribePcConfig(): RTCPeerConnectionConfig {
  return {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    icePortRange: [47500, 47999],
    ...LOOPBACK_ICE,
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useAbsSendTime()],
    },
  };
}
const counters = { packetsIn: 0, packetsForwarded: 0 };

interface Sub {
  pc: RTCPeerConnection;
  audio: RTCRtpTransceiver;
  video: RTCRtpTransceiver;
}
const subs = new Map<string, Sub>();
let publisher: RTCPeerConnection | undefined;
let publisherVideo: RTCRtpTransceiver | undefined;

function sub(id: unknown): Sub {
  const s = subs.get(str(id));
  if (!s) throw new Error(`no subscriber ${String(id)}`);
  return s;
}

serve({
  async publishOffer(sdp) {
    const pc = new RTCPeerConnection(publishPcConfig(config, range));
    publisher = pc;
    pc.onRemoteTransceiverAdded.subscribe((t) => {
      if (t.kind === 'video') publisherVideo = t;
      t.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          counters.packetsIn++;
          for (const s of subs.values()) {
            // sendRtp rewrites the header in place: one clone per subscriber.
            void s[t.kind === 'audio' ? 'audio' : 'video'].sender.sendRtp(rtp.clone());
            counters.packetsForwarded++;
          }
        });
      });
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: str(sdp) });
    await pc.setLocalDescription(await pc.createAnswer());
    return filterSdpCandidates(pc.localDescription?.sdp ?? '', '127.0.0.1');
  },
  async subscribe(id) {
    const pc = new RTCPeerConnection(subscribePcConfig());
    const audio = pc.addTransceiver('audio', { direction: 'sendonly' });
    const video = pc.addTransceiver('video', { direction: 'sendonly' });
    video.sender.onPictureLossIndication.subscribe(() => {
      const ssrc = publisherVideo?.receiver.tracks[0]?.ssrc;
      if (publisherVideo && ssrc !== undefined) void publisherVideo.receiver.sendRtcpPLI(ssrc);
    });
    subs.set(str(id), { pc, audio, video });
    await pc.setLocalDescription(await pc.createOffer());
    const streams = [
      { mid: audio.mid ?? '0', participantId: 'pub', source: 'audio' },
      { mid: video.mid ?? '1', participantId: 'pub', source: 'camera' },
    ];
    return { sdp: filterSdpCandidates(pc.localDescription?.sdp ?? '', '127.0.0.1'), streams };
  },
  async subscribeAnswer(id, sdp) {
    await sub(id).pc.setRemoteDescription({ type: 'answer', sdp: str(sdp) });
  },
  stats() {
    const cpu = process.cpuUsage();
    return { cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss(), ...counters };
  },
  async close() {
    await Promise.allSettled([publisher?.close(), ...[...subs.values()].map((s) => s.pc.close())]);
  },
});
