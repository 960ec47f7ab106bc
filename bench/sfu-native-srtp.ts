// SFU bench helper process (issue 14's spike for a native egress): the bare werift forward loop
// of sfu-baseline.ts, with each copy protected (SRTP) and sent by a small C addon
// (bench/native-srtp, native-addon.ts) instead of werift's JavaScript SRTP and
// UDP: the session keys werift's DTLS derived, on the socket werift's ICE nominated. What a
// native egress under werift's ICE/DTLS would cost; the SFU does not use it.
import type { RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { OPUS_PT, VP8_PT, writeRtp } from '@conclave/rtc';
import { loadNativeAddon } from './native-addon.js';
import { serve, str } from './sfu-rpc.js';
import { answerPublish, counters, loopStats, weriftSubscriber, type WeriftSubscriber } from './sfu-loop.js';

const addon = loadNativeAddon();

/** What the C send needs of one subscriber's connection, read once it is up. */
interface Egress {
  ctx: object;
  fd: number;
  ip: number;
  port: number;
}
interface Leg {
  ssrc: number;
  seq: number;
  roc: number;
}
interface Sub extends WeriftSubscriber {
  legs: Record<'audio' | 'video', Leg>;
  egress?: Egress;
}
const subs = new Map<string, Sub>();
let publisher: RTCPeerConnection | undefined;
const scratch = Buffer.allocUnsafe(2048);

// werift's internals this reads (werift 0.24): the DTLS transport's SRTP session keys and the
// nominated pair's socket and remote address.
interface WeriftInternals {
  srtp: {
    localContext: {
      srtpSessionKey: Buffer;
      srtpSessionSalt: Buffer;
      profile: number;
    };
  };
  iceTransport: {
    connection: {
      nominated?: {
        remoteAddr: [string, number];
        protocol: { transport: { socket: { _handle?: { fd?: number } } } };
      };
    };
  };
}

function egressOf(t: RTCRtpTransceiver): Egress {
  const dtls = t.dtlsTransport as unknown as WeriftInternals;
  const pair = dtls.iceTransport.connection.nominated;
  // `_handle` is deprecated (DEP0112, a warning once): the only way to the socket's descriptor.
  const fd = pair?.protocol.transport.socket._handle?.fd;
  if (!pair || fd === undefined) throw new Error('no nominated pair');
  const c = dtls.srtp.localContext;
  // werift's id of AEAD_AES_128_GCM, the profile it prefers (the C side does only this one).
  if (c.profile !== 7)
    throw new Error(`SRTP profile ${c.profile} negotiated; the spike does AEAD_AES_128_GCM only`);
  const ip = pair.remoteAddr[0].split('.').reduce((a, b) => (a << 8) + Number(b), 0) >>> 0;
  return {
    ctx: addon.context(c.srtpSessionKey, c.srtpSessionSalt),
    fd,
    ip,
    port: pair.remoteAddr[1],
  };
}

serve({
  async publishOffer(sdp) {
    const { pc, answer } = await answerPublish([49000, 49999], str(sdp), (kind, rtp) => {
      const h = rtp.header;
      for (const s of subs.values()) {
        const e = s.egress;
        if (!e) continue;
        const leg = s.legs[kind];
        leg.seq = (leg.seq + 1) & 0xffff;
        if (leg.seq === 0) leg.roc++;
        const packet = writeRtp(
          {
            payloadType: kind === 'audio' ? OPUS_PT : VP8_PT,
            marker: h.marker,
            sequenceNumber: leg.seq,
            timestamp: h.timestamp,
            ssrc: leg.ssrc,
          },
          rtp.payload,
          scratch,
        );
        if (addon.send(e.ctx, e.fd, e.ip, e.port, packet, leg.roc) > 0) counters.packetsForwarded++;
      }
    });
    publisher = pc;
    return answer;
  },
  async subscribe(id) {
    const w = await weriftSubscriber([49500, 49999]);
    const s: Sub = {
      ...w,
      legs: {
        audio: { ssrc: w.audio.sender.ssrc, seq: 0, roc: 0 },
        video: { ssrc: w.video.sender.ssrc, seq: 0, roc: 0 },
      },
    };
    subs.set(str(id), s);
    w.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') s.egress = egressOf(w.audio);
    });
    return w.offer;
  },
  async subscribeAnswer(id, sdp) {
    await sub(id).pc.setRemoteDescription({ type: 'answer', sdp: str(sdp) });
  },
  stats: loopStats,
  async close() {
    await Promise.allSettled([publisher?.close(), ...[...subs.values()].map((s) => s.pc.close())]);
  },
});

function sub(id: unknown): Sub {
  const s = subs.get(str(id));
  if (!s) throw new Error(`no subscriber ${String(id)}`);
  return s;
}
