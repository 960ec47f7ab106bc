// SFU bench helper process: a bare native forward loop — the SFU's werift publish connection and,
// per subscriber, a node-datachannel connection with one audio and one video track; every packet
// re-serialized once and sent to each subscriber's track with only its SSRC patched. No key-frame
// gating, layer choice, sequence rewriting, NACK history or SRs: what node-datachannel's send
// costs at this load, so the SFU's own overhead on top of it shows.
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import type { RTCPeerConnection } from 'werift';
import { OPUS_PT, VP8_PT } from '@conclave/rtc';
import { serve, str } from './sfu-rpc.js';
import { answerPublish, counters, loopStats } from './sfu-loop.js';

interface Sub {
  pc: PeerConnection;
  tracks: Record<'audio' | 'video', { track: Track; ssrc: number }>;
}
const subs = new Map<string, Sub>();
let publisher: RTCPeerConnection | undefined;
let nextSsrc = 1000;

function sub(id: unknown): Sub {
  const s = subs.get(str(id));
  if (!s) throw new Error(`no subscriber ${String(id)}`);
  return s;
}

serve({
  async publishOffer(sdp) {
    const { pc, answer } = await answerPublish([48000, 48999], str(sdp), (kind, rtp) => {
      rtp.header.payloadType = kind === 'audio' ? OPUS_PT : VP8_PT;
      rtp.header.extensions = [];
      const packet = rtp.serialize();
      for (const s of subs.values()) {
        const out = s.tracks[kind];
        packet.writeUInt32BE(out.ssrc, 8);
        if (out.track.sendMessageBinary(packet)) counters.packetsForwarded++;
      }
    });
    publisher = pc;
    return answer;
  },
  async subscribe(id) {
    const pc = new nodeDataChannel.PeerConnection(str(id), {
      iceServers: [],
      bindAddress: '127.0.0.1',
      portRangeBegin: 48500,
      portRangeEnd: 48999,
      disableAutoNegotiation: true,
    });
    const a = new nodeDataChannel.Audio('0', 'SendOnly');
    a.addOpusCodec(OPUS_PT);
    const audioSsrc = nextSsrc++;
    a.addSSRC(audioSsrc, 'bench', 'bench', 'a');
    const v = new nodeDataChannel.Video('1', 'SendOnly');
    v.addVP8Codec(VP8_PT);
    const videoSsrc = nextSsrc++;
    v.addSSRC(videoSsrc, 'bench', 'bench', 'v');
    const tracks = {
      audio: { track: pc.addTrack(a), ssrc: audioSsrc },
      video: { track: pc.addTrack(v), ssrc: videoSsrc },
    };
    subs.set(str(id), { pc, tracks });
    const gathered = new Promise<void>((r) => pc.onGatheringStateChange((s) => s === 'complete' && r()));
    pc.setLocalDescription('offer');
    await gathered;
    const streams = [
      { mid: '0', participantId: 'pub', source: 'audio' },
      { mid: '1', participantId: 'pub', source: 'camera' },
    ];
    return { sdp: pc.localDescription()?.sdp ?? '', streams };
  },
  subscribeAnswer(id, sdp) {
    sub(id).pc.setRemoteDescription(str(sdp), 'answer');
  },
  stats: loopStats,
  async close() {
    for (const s of subs.values()) s.pc.close();
    await publisher?.close();
  },
});
