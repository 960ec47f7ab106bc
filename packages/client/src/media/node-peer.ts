import type { IceCandidate, MediaSource, StreamInfo } from '@conclave/protocol';
import {
  RTCPeerConnection,
  RTP_EXTENSION_URI,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  RtpPacket,
  type MediaStreamTrack,
  type RTCIceCandidate,
  type RTCRtpTransceiver,
} from 'werift';
import {
  audioLevelByte,
  checkKeyFrameFlag,
  InboundStreams,
  listen,
  type BotMediaPeer,
  type BotSource,
  type NodeMediaPeerOptions,
  type PcKind,
  type ReceivedFrame,
  type SendFrameOptions,
  type Unsubscribe,
} from './peer-common.js';
import { RtpFramer } from './packetizer.js';
import { dropEmptyReceiverReports, filterSdpCandidates, keepCandidate, OPUS_PT, VP8_PT } from '@conclave/rtc';
import { botPeerConfig } from './peer-config.js';
import { IceStallWatch, type IceAgentView } from './ice-stall.js';

export type { BotSource, NodeMediaPeerOptions, PcKind, ReceivedFrame, SendFrameOptions };

interface OutTrack {
  transceiver: RTCRtpTransceiver;
  framer: RtpFramer;
  payloadType: number;
}

interface InTrack {
  transceiver: RTCRtpTransceiver;
  lastSsrc: number | undefined;
}

/** RTCP payload-specific feedback message type of a Full Intra Request (RFC 5104). */
const FIR_FMT = 4;

/**
 * The participant side of the media plane for Node bots, over werift: a publish connection that
 * offers one Opus and one VP8 track (sendonly), and a subscribe connection that answers the SFU's
 * offers. It deals in opaque encoded frames: E2EE (SFrame) wraps sendFrame/onFrame one level up.
 *
 * ICE: candidates gathered while a description is being set are in that description's SDP, so
 * onIce only reports later ones (none with host-only gathering).
 */
export class NodeMediaPeer implements BotMediaPeer {
  private readonly loopbackOnly: boolean;
  private readonly pcs: Record<PcKind, RTCPeerConnection>;
  private readonly out: Record<BotSource, OutTrack>;
  private readonly inTracks = new Map<string, InTrack>();
  private readonly inbound = new InboundStreams();
  private readonly settingLocal: Record<PcKind, boolean> = { publish: false, subscribe: false };
  private readonly iceListeners = new Set<(pc: PcKind, c: IceCandidate) => void>();
  private readonly keyFrameListeners = new Set<(source: BotSource) => void>();
  /** The audio-level extension's payload (RFC 6464) put on every audio packet; undefined: none. */
  private audioLevel: Buffer | undefined;
  private closed = false;

  constructor(opts: NodeMediaPeerOptions = {}) {
    this.loopbackOnly = opts.loopbackOnly ?? false;
    this.pcs = {
      publish: new RTCPeerConnection(botPeerConfig(this.loopbackOnly)),
      subscribe: new RTCPeerConnection(botPeerConfig(this.loopbackOnly)),
    };
    for (const kind of ['publish', 'subscribe'] as const) {
      this.pcs[kind].onIceCandidate.subscribe((c) => this.onLocalCandidate(kind, c));
    }
    // m-line order is the source convention the SFU reads: first audio = 'audio', first video = 'camera'.
    const audio = this.pcs.publish.addTransceiver('audio', { direction: 'sendonly' });
    const video = this.pcs.publish.addTransceiver('video', { direction: 'sendonly' });
    this.out = {
      audio: { transceiver: audio, framer: new RtpFramer('opus', 48_000), payloadType: OPUS_PT },
      camera: { transceiver: video, framer: new RtpFramer('vp8', 90_000), payloadType: VP8_PT },
    };
    video.sender.onPictureLossIndication.subscribe(() => this.emitKeyFrameRequest('camera'));
    video.sender.onRtcp.subscribe((packet) => {
      // werift routes FIR to the sender but only raises an event for PLI (FIR is PSFB FMT 4).
      if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback.count === FIR_FMT) {
        this.emitKeyFrameRequest('camera');
      }
    });
    this.pcs.subscribe.onRemoteTransceiverAdded.subscribe((t) => this.watchRemoteTransceiver(t));
  }

  async createPublishOffer(): Promise<string> {
    const pc = this.pcs.publish;
    const offer = await pc.createOffer();
    await this.setLocal('publish', offer);
    return this.localSdp('publish');
  }

  async applyPublishAnswer(sdp: string): Promise<void> {
    await this.pcs.publish.setRemoteDescription({ type: 'answer', sdp });
  }

  /** Applies the SFU's subscribe offer; `streams` maps its mids to participants and sources. Returns the answer SDP. */
  async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    const pc = this.pcs.subscribe;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const t of pc.dtlsTransports) dropEmptyReceiverReports(t);
    for (const t of pc.getTransceivers()) this.watchRemoteTransceiver(t);
    this.inbound.update(streams);
    const answer = await pc.createAnswer();
    await this.setLocal('subscribe', answer);
    return this.localSdp('subscribe');
  }

  async addIce(pc: PcKind, candidate: IceCandidate): Promise<void> {
    await this.pcs[pc].addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    });
  }

  onIce(cb: (pc: PcKind, candidate: IceCandidate) => void): Unsubscribe {
    return listen(this.iceListeners, cb);
  }

  onFrame(cb: (info: ReceivedFrame) => void): Unsubscribe {
    return listen(this.inbound.frameListeners, cb);
  }

  /** Called when the SFU relays a PLI or FIR for our camera: the next camera frame should be a key frame. */
  onKeyFrameRequest(cb: (source: BotSource) => void): Unsubscribe {
    return listen(this.keyFrameListeners, cb);
  }

  /**
   * From now on every audio packet carries the audio-level header extension (RFC 6464, the one
   * the SFU ranks speakers by): `dBov` from 0 (loudest) to -127 (silence), `voice` the
   * voice-activity flag (default: on unless silent). null: no extension (the SFU then cannot
   * rank this bot and forwards its audio to everybody). The extension goes out once the publish
   * connection negotiated it (`audioLevelExtensionId`).
   */
  setAudioLevel(dBov: number | null, voice = dBov !== null && dBov > -127): void {
    if (dBov === null) {
      this.audioLevel = undefined;
      return;
    }
    this.audioLevel = Buffer.from([audioLevelByte(dBov, voice)]);
  }

  /** The id the publish connection negotiated for the audio-level extension (undefined: none). */
  get audioLevelExtensionId(): number | undefined {
    return this.out.audio.transceiver.headerExtensions.find(
      (e) => e.uri === RTP_EXTENSION_URI.audioLevelIndication,
    )?.id;
  }

  /** Packetizes one encoded frame onto the published track. Packets are dropped while the connection is not up. */
  async sendFrame(source: BotSource, frame: Uint8Array, opts: SendFrameOptions = {}): Promise<void> {
    if (this.closed) return;
    const out = this.out[source];
    checkKeyFrameFlag(source, frame, opts.keyFrame);
    const timestamp = out.framer.nextTimestamp(opts.timestamp);
    const levelId = source === 'audio' && this.audioLevel ? this.audioLevelExtensionId : undefined;
    const extensions =
      levelId !== undefined && this.audioLevel ? [{ id: levelId, payload: this.audioLevel }] : [];
    for (const plan of out.framer.packetize(frame, timestamp)) {
      const header = new RtpHeader({
        sequenceNumber: plan.sequenceNumber,
        timestamp: plan.timestamp,
        marker: plan.marker,
        payloadType: out.payloadType,
        extensions,
      });
      await out.transceiver.sender.sendRtp(new RtpPacket(header, plan.payload));
    }
  }

  /** Sends a PLI to the SFU for a received video stream (as a browser does after loss). */
  async requestKeyFrame(participantId: string, source: MediaSource): Promise<boolean> {
    const mid = this.inbound.midOf(participantId, source);
    const t = mid === undefined ? undefined : this.inTracks.get(mid);
    if (!t || t.lastSsrc === undefined) return false;
    await t.transceiver.receiver.sendRtcpPLI(t.lastSsrc);
    return true;
  }

  /**
   * The peer connection's state, except that a subscribe connection whose ICE waits in vain for
   * the SFU's nomination (ice-stall.ts) says `failed`: the SDK then asks for a new media session
   * at once instead of at its connect deadline.
   */
  connectionState(pc: PcKind): string {
    const state = this.pcs[pc].connectionState;
    if (pc === 'subscribe' && state !== 'connected' && this.subscribeStall.stalled(performance.now()))
      return 'failed';
    return state;
  }

  private readonly subscribeStall = new IceStallWatch(() => {
    // werift keeps the agent on the transport (`connection`), outside its typings: read only.
    const t = this.pcs.subscribe.iceTransports[0] as unknown as { connection?: IceAgentView } | undefined;
    return t?.connection;
  });

  /** Resolves when the connection is up; rejects on failure or timeout. */
  waitConnected(pc: PcKind, timeoutMs = 15_000): Promise<void> {
    const conn = this.pcs[pc];
    if (conn.connectionState === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unSubscribe();
        reject(new Error(`${pc} connection not up after ${timeoutMs} ms (${conn.connectionState})`));
      }, timeoutMs);
      const sub = conn.connectionStateChange.subscribe((s) => {
        if (s === 'connected' || s === 'failed' || s === 'closed') {
          clearTimeout(timer);
          sub.unSubscribe();
          if (s === 'connected') resolve();
          else reject(new Error(`${pc} connection ${s}`));
        }
      });
    });
  }

  /** The StreamInfo of the current subscribe offer. */
  currentStreams(): StreamInfo[] {
    return this.inbound.current();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.iceListeners.clear();
    this.inbound.frameListeners.clear();
    this.keyFrameListeners.clear();
    await Promise.allSettled([this.pcs.publish.close(), this.pcs.subscribe.close()]);
  }

  private async setLocal(
    kind: PcKind,
    desc: { type: 'offer' | 'answer' | 'pranswer'; sdp: string },
  ): Promise<void> {
    this.settingLocal[kind] = true;
    try {
      await this.pcs[kind].setLocalDescription(desc);
    } finally {
      this.settingLocal[kind] = false;
    }
  }

  private localSdp(kind: PcKind): string {
    const sdp = this.pcs[kind].localDescription?.sdp;
    if (!sdp) throw new Error(`${kind}: no local description`);
    return filterSdpCandidates(sdp, this.loopbackOnly ? '127.0.0.1' : undefined);
  }

  private onLocalCandidate(kind: PcKind, c: RTCIceCandidate | undefined): void {
    // Candidates found while setLocalDescription runs are already in the returned SDP.
    if (!c || this.settingLocal[kind] || this.closed) return;
    if (!keepCandidate(c.candidate, this.loopbackOnly ? '127.0.0.1' : undefined)) return;
    const init: IceCandidate = {
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? null,
      sdpMLineIndex: c.sdpMLineIndex ?? null,
    };
    for (const cb of this.iceListeners) cb(kind, init);
  }

  private watchRemoteTransceiver(t: RTCRtpTransceiver): void {
    const mid = t.mid;
    if (mid === null || !this.inbound.addTrack(mid, t.kind === 'audio' ? 'audio' : 'video')) return;
    const entry: InTrack = { transceiver: t, lastSsrc: undefined };
    this.inTracks.set(mid, entry);
    const seen = new Set<string>();
    const watchTrack = (track: MediaStreamTrack): void => {
      // onTrack fires again on every renegotiation that keeps the m-line sending.
      if (seen.has(track.uuid)) return;
      seen.add(track.uuid);
      track.onReceiveRtp.subscribe((rtp) => this.onRtp(mid, entry, rtp));
    };
    t.onTrack.subscribe(watchTrack);
    for (const track of t.receiver.tracks) watchTrack(track);
  }

  private onRtp(mid: string, entry: InTrack, rtp: RtpPacket): void {
    entry.lastSsrc = rtp.header.ssrc;
    const { header } = rtp;
    this.inbound.push(mid, header.sequenceNumber, header.timestamp, header.marker, rtp.payload);
  }

  private emitKeyFrameRequest(source: BotSource): void {
    for (const cb of this.keyFrameListeners) cb(source);
  }
}
