import type { MediaSource } from '@conclave/protocol';
import type { RemoteTrack } from '@conclave/client/browser';

export interface InboundSample {
  mid: string;
  kind: 'audio' | 'video';
  participantId: string | undefined;
  source: MediaSource | undefined;
  framesDecoded: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Negotiated codec, e.g. 'video/VP8' (the SFrame layouts need VP8 and Opus). */
  codec: string | undefined;
  /** 0..1, from the RTP audio-level header extension or the decoder; undefined when unknown. */
  audioLevel: number | undefined;
  /** Video: the size of the last decoded frame (the simulcast layer the SFU forwards). */
  frameWidth: number | undefined;
  frameHeight: number | undefined;
}

/** One encoding we send (a simulcast layer of the camera, or the one layer of another sender). */
export interface OutboundSample {
  /** The publish connection's m-line. */
  mid: string | undefined;
  kind: 'audio' | 'video';
  /** The simulcast rid (`q`, `h`, `f`), undefined for single-layer senders. */
  rid: string | undefined;
  bytesSent: number;
  framesEncoded: number;
  frameWidth: number | undefined;
  frameHeight: number | undefined;
  /** What holds the encoder back: 'none', 'bandwidth', 'cpu' or 'other' (Chromium). */
  qualityLimitationReason: string | undefined;
}

export interface StatsSample {
  inbound: InboundSample[];
  /** Our own microphone's level (0..1), from the publish connection's media-source stats. */
  ownAudioLevel: number | undefined;
  outbound: OutboundSample[];
  /** The browser's bandwidth estimate for what we send (bits per second), when it reports one. */
  availableOutgoingBitrate: number | undefined;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function opt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * One look at both peer connections: per received stream its decoded frames and packets
 * (getStats inbound-rtp) and audio levels. Levels come from `getSynchronizationSources()`
 * (the sender's RTP audio-level header extension, which stays in clear with SFrame) or, when
 * missing, from the decoder's `audioLevel` (needs audio playout; headless browsers have none).
 */
export async function sampleStats(
  publish: RTCPeerConnection,
  subscribe: RTCPeerConnection,
  remote: RemoteTrack[],
): Promise<StatsSample> {
  const byMid = new Map(remote.map((r) => [r.mid, r]));
  // One sample per mid: a receiver gets a new SSRC (a new inbound-rtp entry) whenever the SFU
  // reuses its m-line for another stream or a publisher reconnects, so counters are summed.
  const inbound = new Map<string, InboundSample>();
  const report = await subscribe.getStats().catch(() => undefined);
  report?.forEach((s: Record<string, unknown>) => {
    if (!report || s.type !== 'inbound-rtp' || typeof s.mid !== 'string') return;
    const r = byMid.get(s.mid);
    if (!r) return;
    let level = typeof s.audioLevel === 'number' ? s.audioLevel : undefined;
    if (r.kind === 'audio') {
      const src = r.receiver.getSynchronizationSources()[0];
      if (src?.audioLevel !== undefined && (level === undefined || src.audioLevel > level))
        level = src.audioLevel;
    }
    const codec =
      typeof s.codecId === 'string'
        ? (report.get(s.codecId) as { mimeType?: unknown } | undefined)
        : undefined;
    const prev = inbound.get(s.mid);
    inbound.set(s.mid, {
      mid: s.mid,
      codec: typeof codec?.mimeType === 'string' ? codec.mimeType : prev?.codec,
      kind: r.kind,
      participantId: r.info?.participantId,
      source: r.info?.source,
      framesDecoded: num(s.framesDecoded) + (prev?.framesDecoded ?? 0),
      packetsReceived: num(s.packetsReceived) + (prev?.packetsReceived ?? 0),
      bytesReceived: num(s.bytesReceived) + (prev?.bytesReceived ?? 0),
      audioLevel: Math.max(level ?? 0, prev?.audioLevel ?? 0) || level,
      // The current SSRC's entry has the latest frame size (an old one's stays at its last).
      frameWidth: opt(s.frameWidth) ?? prev?.frameWidth,
      frameHeight: opt(s.frameHeight) ?? prev?.frameHeight,
    });
  });
  let ownAudioLevel: number | undefined;
  let availableOutgoingBitrate: number | undefined;
  const outbound: OutboundSample[] = [];
  const own = await publish.getStats().catch(() => undefined);
  own?.forEach((s: Record<string, unknown>) => {
    if (s.type === 'media-source' && s.kind === 'audio' && typeof s.audioLevel === 'number')
      ownAudioLevel = s.audioLevel;
    if (s.type === 'candidate-pair' && s.nominated === true && typeof s.availableOutgoingBitrate === 'number')
      availableOutgoingBitrate = s.availableOutgoingBitrate;
    if (s.type === 'outbound-rtp' && (s.kind === 'audio' || s.kind === 'video'))
      outbound.push({
        mid: typeof s.mid === 'string' ? s.mid : undefined,
        kind: s.kind,
        rid: typeof s.rid === 'string' ? s.rid : undefined,
        bytesSent: num(s.bytesSent),
        framesEncoded: num(s.framesEncoded),
        frameWidth: opt(s.frameWidth),
        frameHeight: opt(s.frameHeight),
        qualityLimitationReason:
          typeof s.qualityLimitationReason === 'string' ? s.qualityLimitationReason : undefined,
      });
  });
  return { inbound: [...inbound.values()], ownAudioLevel, outbound, availableOutgoingBitrate };
}

/** Audio level above which somebody counts as speaking (0..1 linear; about -35 dBov). */
export const SPEAKING_LEVEL = 0.02;
/** How long the highlight stays on the last speaker after they stop. */
export const SPEAKER_HOLD_MS = 1500;
