import type { MediaContext } from '@conclave/crypto';
import type { IceCandidate, StreamInfo } from '@conclave/protocol';
import type { MediaTransport } from '../media-transport.js';
import type { BrowserE2ee } from './browser-e2ee.js';
import type { TransformCodec } from './worker-protocol.js';

/** The local tracks to send (the app's camera, microphone and screen state); undefined = off. */
export interface LocalTracks {
  readonly mic: MediaStreamTrack | undefined;
  readonly camera: MediaStreamTrack | undefined;
  readonly screen: MediaStreamTrack | undefined;
  /** Called whenever one of the tracks changes; returns the unsubscribe function. */
  on(event: 'change', cb: () => void): () => void;
}

type PcKind = 'publish' | 'subscribe';

/** One received stream: a receiver of the subscribe connection and what the SFU says it carries. */
export interface RemoteTrack {
  mid: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
  /** The E2EE worker's id of this receiver's transform (E2EE meetings). */
  transformId: number | undefined;
  /** Undefined while the m-line carries nothing (the SFU recycles m-lines). */
  info: StreamInfo | undefined;
  /** When `info` last changed (ms since the epoch). */
  infoSince: number;
}

export interface BrowserMediaTransportOptions {
  local: LocalTracks;
  /** E2EE meetings: every sender and receiver gets an SFrame transform. Standard meetings: none. */
  crypto: BrowserE2ee | undefined;
  /** Extra RTCConfiguration (TURN servers, for instance). */
  rtcConfig?: RTCConfiguration;
  /** The meeting allows screen sharing: a third sender is negotiated for it. */
  screenShare: boolean;
  onRemoteTracks: (tracks: RemoteTrack[]) => void;
  onConnectionState?: (pc: PcKind, state: RTCPeerConnectionState) => void;
}

/** Longest wait for host candidates before an SDP goes out (later ones trickle). */
const GATHER_TIMEOUT_MS = 1500;

/**
 * The camera's simulcast encodings, lowest first: quarter, half and full resolution (rids `q`,
 * `h`, `f`), each with a bitrate cap that suits its size (a 960×540 camera gives 240×135,
 * 480×270 and 960×540; Chromium sends three layers only from 960×540 up, two below). The SFU
 * forwards one of them to each subscriber by tile size and downlink. Every encoding passes the
 * sender's one E2EE transform.
 */
const CAMERA_ENCODINGS: readonly RTCRtpEncodingParameters[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 400_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_000_000 },
];

/**
 * Where Chromium's send-side bandwidth estimate starts (kbit/s): every camera layer and the
 * audio. The SFU's publish connection sends receiver reports but no congestion feedback
 * (transport-cc or REMB), so the estimate only grows with the reports, about 8 % a second,
 * from Chromium's default of 300 kbit/s: the full layer took about 17 s to start. Loss in the
 * reports still brings it down.
 */
const START_BITRATE_KBPS = Math.ceil(
  CAMERA_ENCODINGS.reduce((sum, e) => sum + (e.maxBitrate ?? 0), 64_000) / 1000,
);

/**
 * The SFU's answer with `x-google-start-bitrate` on every VP8 payload type (Chromium reads it
 * from the remote description; other browsers ignore it). A remote description may be changed
 * by the page; the SFU's own answer is untouched.
 */
export function withStartBitrate(sdp: string, kbps: number): string {
  const lines = sdp.split('\r\n');
  const vp8 = new Set<string>();
  for (const l of lines) {
    const m = /^a=rtpmap:(\d+) VP8\/90000/i.exec(l);
    if (m?.[1]) vp8.add(m[1]);
  }
  if (vp8.size === 0) return sdp;
  const param = `x-google-start-bitrate=${Math.round(kbps)}`;
  const withFmtp = new Set<string>();
  const out = lines.map((l) => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(l);
    if (!m?.[1] || !vp8.has(m[1])) return l;
    withFmtp.add(m[1]);
    return /x-google-start-bitrate=/.test(l) ? l : `a=fmtp:${m[1]} ${m[2]};${param}`;
  });
  return out
    .flatMap((l) => {
      const m = /^a=rtpmap:(\d+) VP8\/90000/i.exec(l);
      return m?.[1] && !withFmtp.has(m[1]) ? [l, `a=fmtp:${m[1]} ${param}`] : [l];
    })
    .join('\r\n');
}

/**
 * Keeps only VP8 (with its retransmission codec) or Opus in a transceiver's codec list, so the
 * SFrame clear-prefix layouts (VP8 10/3 bytes, Opus 1) always apply.
 */
function preferCodec(t: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
  const want = kind === 'audio' ? 'audio/opus' : 'video/vp8';
  const caps = RTCRtpReceiver.getCapabilities(kind)?.codecs ?? [];
  const chosen = caps.filter((c) => c.mimeType.toLowerCase() === want);
  const rtx = caps.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  if (chosen.length === 0) return; // cannot happen in WebRTC browsers (both codecs are mandatory)
  try {
    t.setCodecPreferences([...chosen, ...(kind === 'video' ? rtx : [])]);
  } catch {
    // Engines without setCodecPreferences: the SFU offers and answers only VP8 and Opus anyway.
  }
}

function codecOf(kind: 'audio' | 'video'): TransformCodec {
  return kind === 'audio' ? 'opus' : 'vp8';
}

/** Resolves when the connection has its host candidates (or after a timeout). */
function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * The browser's media side of a meeting, with two peer connections to the SFU:
 *
 * - publish (we offer): microphone (Opus), camera (VP8) and — when the meeting allows it — a
 *   screen-share sender (VP8), in that m-line order, which is how the SFU tells the sources
 *   apart (first audio = microphone, first video = camera, second video = screen).
 *   Decision: the screen sender is negotiated up front without a track and screen sharing is
 *   `replaceTrack` — no renegotiation, because the SDK's MediaTransport has no way to send a
 *   second publish offer yet (proposed hook in the report). Receivers show a screen tile while
 *   its frames arrive.
 * - subscribe (the SFU offers): one receiver per stream of the others, described by StreamInfo.
 *   We add no tracks to it, so every transform sits on the transceiver that really receives.
 *
 * In E2EE meetings every sender and receiver gets an SFrame transform from the E2EE worker
 * before any frame flows. Camera and microphone changes swap tracks on the senders.
 * ICE: we wait (briefly) for host candidates so they travel inside the SDP; later ones trickle.
 */
export class BrowserMediaTransport implements MediaTransport {
  readonly pcs: Record<PcKind, RTCPeerConnection>;
  private readonly senders: Partial<Record<MediaContext, RTCRtpSender>> = {};
  private readonly remote = new Map<RTCRtpReceiver, RemoteTrack>();
  private streams = new Map<string, StreamInfo>();
  private readonly sdpSent: Record<PcKind, boolean> = { publish: false, subscribe: false };
  private iceCallback: ((pc: PcKind, c: IceCandidate) => void) | undefined;
  private readonly offLocal: () => void;
  private closed = false;

  constructor(private readonly opts: BrowserMediaTransportOptions) {
    const config: RTCConfiguration = {
      iceServers: [],
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      ...opts.rtcConfig,
      ...opts.crypto?.peerConnectionConfig(),
    };
    this.pcs = { publish: new RTCPeerConnection(config), subscribe: new RTCPeerConnection(config) };
    for (const kind of ['publish', 'subscribe'] as const) {
      const pc = this.pcs[kind];
      pc.addEventListener('icecandidate', (ev) => this.onCandidate(kind, ev.candidate));
      pc.addEventListener('connectionstatechange', () => opts.onConnectionState?.(kind, pc.connectionState));
    }
    this.addSender('audio', 'audio', opts.local.mic);
    this.addSender('camera', 'video', opts.local.camera, CAMERA_ENCODINGS);
    // Screen share: one layer (text must stay sharp; the SFU forwards it whenever it is shown).
    if (opts.screenShare) this.addSender('screen', 'video', opts.local.screen);
    this.offLocal = opts.local.on('change', () => void this.syncTracks());
  }

  async createPublishOffer(): Promise<string> {
    const pc = this.pcs.publish;
    await pc.setLocalDescription(await pc.createOffer());
    return this.localSdp('publish');
  }

  async applyPublishAnswer(sdp: string): Promise<void> {
    if (this.closed) return;
    await this.pcs.publish.setRemoteDescription({
      type: 'answer',
      sdp: withStartBitrate(sdp, START_BITRATE_KBPS),
    });
  }

  async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    const pc = this.pcs.subscribe;
    this.sdpSent.subscribe = false;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this.streams = new Map(streams.map((s) => [s.mid, s]));
    for (const t of pc.getTransceivers()) this.watchReceiver(t);
    for (const r of this.remote.values()) this.setInfo(r, this.streams.get(r.mid));
    await pc.setLocalDescription(await pc.createAnswer());
    // An m-line the SFU rejected stops its transceiver, which then leaves the connection; a
    // later offer may bring a new transceiver under the same mid. Forget the receivers gone.
    const live = new Set(
      pc
        .getTransceivers()
        .filter((t) => t.currentDirection !== 'stopped')
        .map((t) => t.receiver),
    );
    for (const r of [...this.remote.keys()]) if (!live.has(r)) this.remote.delete(r);
    this.opts.onRemoteTracks(this.remoteTracks());
    return this.localSdp('subscribe');
  }

  async addIce(pc: PcKind, candidate: IceCandidate): Promise<void> {
    if (this.closed) return;
    await this.pcs[pc].addIceCandidate(candidate);
  }
  connectionState(pc: PcKind): string {
    return this.pcs[pc].connectionState;
  }

  onIce(cb: (pc: PcKind, candidate: IceCandidate) => void): void {
    this.iceCallback = cb;
  }

  remoteTracks(): RemoteTrack[] {
    return [...this.remote.values()];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offLocal();
    this.pcs.publish.close();
    this.pcs.subscribe.close();
    this.opts.onRemoteTracks([]);
  }

  private addSender(
    context: MediaContext,
    kind: 'audio' | 'video',
    track: MediaStreamTrack | undefined,
    sendEncodings?: readonly RTCRtpEncodingParameters[],
  ): void {
    const t = this.pcs.publish.addTransceiver(track ?? kind, {
      direction: 'sendonly',
      ...(sendEncodings ? { sendEncodings: sendEncodings.map((e) => ({ ...e })) } : {}),
    });
    preferCodec(t, kind);
    // The transform goes on before the first frame: nothing is ever sent in clear.
    this.opts.crypto?.protectSender(t.sender, context, codecOf(kind));
    this.senders[context] = t.sender;
  }

  /** Puts the current local tracks on the senders (camera off → no track: nothing is sent). */
  private async syncTracks(): Promise<void> {
    const want: [MediaContext, MediaStreamTrack | undefined][] = [
      ['audio', this.opts.local.mic],
      ['camera', this.opts.local.camera],
      ['screen', this.opts.local.screen],
    ];
    for (const [context, track] of want) {
      const sender = this.senders[context];
      if (!sender || this.closed || sender.track === (track ?? null)) continue;
      await sender.replaceTrack(track ?? null).catch(() => undefined);
    }
  }

  private watchReceiver(t: RTCRtpTransceiver): void {
    const { receiver } = t;
    const kind = receiver.track.kind;
    if (t.mid === null || this.remote.has(receiver) || (kind !== 'audio' && kind !== 'video')) return;
    preferCodec(t, kind);
    const transformId = this.opts.crypto?.protectReceiver(receiver, codecOf(kind));
    this.remote.set(receiver, {
      mid: t.mid,
      kind,
      track: receiver.track,
      receiver,
      transformId,
      info: undefined,
      infoSince: Date.now(),
    });
  }

  /**
   * What the SFU says a receiver carries. When that changes, the E2EE worker forgets who sent
   * on it, so the tile label comes from the new stream's frames (their MLS sender), not the old.
   */
  private setInfo(r: RemoteTrack, info: StreamInfo | undefined): void {
    const same =
      r.info?.participantId === info?.participantId && r.info?.source === info?.source && !!r.info === !!info;
    r.info = info;
    if (same) return;
    r.infoSince = Date.now();
    if (r.transformId !== undefined) this.opts.crypto?.resetSender(r.transformId);
  }

  private async localSdp(kind: PcKind): Promise<string> {
    const pc = this.pcs[kind];
    await gathered(pc);
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new Error(`${kind}: no local description`);
    // Candidates found from now on trickle; the ones before are in this SDP.
    this.sdpSent[kind] = true;
    return sdp;
  }

  private onCandidate(kind: PcKind, c: RTCIceCandidate | null): void {
    if (!c || !c.candidate || this.closed || !this.sdpSent[kind]) return;
    this.iceCallback?.(kind, { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
  }
}
