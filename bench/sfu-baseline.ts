// SFU bench helper process: the old path, a bare werift forward loop with the SFU's publish
// settings and the subscribe settings the SFU used before its native egress (werift senders,
// SRTP and UDP in JavaScript) — one publisher connection, every packet cloned and handed to each
// subscriber's sender. No key-frame gating, layer choice, extension mapping or PLI throttling:
// measured against the old SFU in the same runs, it cost the same (docs/architecture.md, SFU).
import type { RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { serve, str } from './sfu-rpc.js';
import { answerPublish, counters, loopStats, weriftSubscriber, type WeriftSubscriber } from './sfu-loop.js';

const subs = new Map<string, WeriftSubscriber>();
let publisher: RTCPeerConnection | undefined;
let publisherVideo: RTCRtpTransceiver | undefined;

function sub(id: unknown): WeriftSubscriber {
  const s = subs.get(str(id));
  if (!s) throw new Error(`no subscriber ${String(id)}`);
  return s;
}

serve({
  async publishOffer(sdp) {
    const { pc, answer } = await answerPublish([47000, 47999], str(sdp), (kind, rtp, t) => {
      if (kind === 'video') publisherVideo = t;
      for (const s of subs.values()) {
        // sendRtp rewrites the header in place: one clone per subscriber.
        void s[kind].sender.sendRtp(rtp.clone());
        counters.packetsForwarded++;
      }
    });
    publisher = pc;
    return answer;
  },
  async subscribe(id) {
    const s = await weriftSubscriber([47500, 47999]);
    s.video.sender.onPictureLossIndication.subscribe(() => {
      const ssrc = publisherVideo?.receiver.tracks[0]?.ssrc;
      if (publisherVideo && ssrc !== undefined) void publisherVideo.receiver.sendRtcpPLI(ssrc);
    });
    subs.set(str(id), s);
    return s.offer;
  },
  async subscribeAnswer(id, sdp) {
    await sub(id).pc.setRemoteDescription({ type: 'answer', sdp: str(sdp) });
  },
  stats: loopStats,
  async close() {
    await Promise.allSettled([publisher?.close(), ...[...subs.values()].map((s) => s.pc.close())]);
  },
});
