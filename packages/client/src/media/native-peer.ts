import { randomInt } from 'node:crypto';
import nodeDataChannel, { type Audio, type PeerConnection, type Track, type Video } from 'node-datachannel';
import type { IceCandidate, MediaSource, StreamInfo } from '@conclave/protocol';
import {
  filterSdpCandidates,
  isRtcp,
  OPUS_PT,
  parseRtcp,
  readRtp,
  senderReport,
  setLocalDescriptionChecked,
  VP8_PT,
  writeRtp,
} from '@conclave/rtc';
import { RtpFramer } from './packetizer.js';
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

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** The id we offer for the audio level on the publish connection. */
const OFFERED_AUDIO_LEVEL_ID = 1;
const SENDER_REPORT_MS = 1000;
/** A track that sent nothing for this long sends no sender report (RFC 3550 §6.4). */
const SENDER_IDLE_MS = 2_500;
/** libdatachannel gathers host candidates in a few ms; past this something is wrong. */
const GATHER_TIMEOUT_MS = 10_000;
/** libdatachannel's second delivery of one RTCP packet comes at once (see outTrack). */
const REPEAT_MS = 50;
const CLOCK_PER_MS: Record<BotSource, number> = { audio: 48, camera: 90 };

interface OutTrack {
  track: Track;
  framer: RtpFramer;
  payloadType: number;
  ssrc: number;
  packets: number;
  octets: number;
  lastTimestamp: number;
  lastSentAt: number | undefined;
}

interface Connection {
  pc: PeerConnection;
  state: string;
  gathered: Promise<void>;
}

/**
 * The participant side of the media plane for Node bots on node-datachannel (libdatachannel:
 * ICE, DTLS, SRTP and UDP in C++), with the same surface as the werift `NodeMediaPeer`: a
 * publish connection offering one Opus and one VP8 track (sendonly, our SSRCs, RTP written by
 * `writeRtp`), and a subscribe connection answering the SFU's offers (every m-line recvonly,
 * RTP read by `readRtp`, receiver reports and PLI from libdatachannel's RtcpReceivingSession).
 * It deals in opaque encoded frames: E2EE (SFrame) wraps sendFrame/onFrame one level up.
 *
 * Why a second peer: a bot process carries up to ~25 participants on one thread, and werift's
 * JavaScript SRTP, RTCP and DTLS made media most of its CPU (docs/architecture.md, Load).
 *
 * ICE: every candidate is in the description (gathering completes before it is returned), so
 * onIce reports none.
 */
export class NativeMediaPeer implements BotMediaPeer {
  private readonly loopbackOnly: boolean;
  private readonly conns: Record<PcKind, Connection>;
  private readonly out: Record<BotSource, OutTrack>;
  /** Every track wrapper is kept: node-datachannel closes the native track of a collected one. */
  private readonly inTracks = new Map<string, Track>();
  private readonly handlers: unknown[] = [];
  private readonly inbound = new InboundStreams();
  private readonly stateListeners = new Set<(pc: PcKind, state: string) => void>();
  private readonly keyFrameListeners = new Set<(source: BotSource) => void>();
  private readonly timer: NodeJS.Timeout;
  private audioLevelId: number | undefined;
  /** The audio-level byte (RFC 6464) put on every audio packet; undefined: none. */
  private audioLevel: number | undefined;
  private closed = false;

  constructor(opts: NodeMediaPeerOptions = {}) {
    this.loopbackOnly = opts.loopbackOnly ?? false;
    this.conns = { publish: this.connection('publish'), subscribe: this.connection('subscribe') };
    this.out = { audio: this.outTrack('audio'), camera: this.outTrack('camera') };
    this.conns.subscribe.pc.onTrack((track) => this.onRemoteTrack(track));
    this.timer = setInterval(() => this.sendSenderReports(), SENDER_REPORT_MS);
    this.timer.unref();
  }

  async createPublishOffer(): Promise<string> {
    setLocalDescriptionChecked(this.conns.publish.pc, 'offer');
    return this.localSdp('publish');
  }

  async applyPublishAnswer(sdp: string): Promise<void> {
    this.conns.publish.pc.setRemoteDescription(sdp, 'answer');
    this.audioLevelId = audioLevelIdIn(sdp);
  }

  /** Applies the SFU's subscribe offer; `streams` maps its mids to participants and sources. Returns the answer SDP. */
  async handleSubscribeOffer(sdp: string, streams: StreamInfo[]): Promise<string> {
    const { pc } = this.conns.subscribe;
    // libdatachannel ignores an offer to a connection it closed (its signaling stays stable).
    if (this.isDead('subscribe'))
      throw new Error(
        `the subscribe connection is ${this.conns.subscribe.state} for good (libdatachannel closes a connection whose ICE or DTLS failed): waiting for a new media session`,
      );
    this.inbound.update(streams);
    pc.setRemoteDescription(sdp, 'offer');
    // A JavaScript error (this offer goes unanswered) where libdatachannel would end the process.
    setLocalDescriptionChecked(pc, 'answer');
    return this.localSdp('subscribe');
  }

  async addIce(pc: PcKind, candidate: IceCandidate): Promise<void> {
    this.conns[pc].pc.addRemoteCandidate(candidate.candidate, candidate.sdpMid ?? '0');
  }

  /** Never called: every candidate is in the descriptions (see the class comment). */
  onIce(_cb: (pc: PcKind, candidate: IceCandidate) => void): Unsubscribe {
    return () => undefined;
  }

  onFrame(cb: (info: ReceivedFrame) => void): Unsubscribe {
    return listen(this.inbound.frameListeners, cb);
  }

  /** Called when the SFU relays a PLI or FIR for our camera: the next camera frame should be a key frame. */
  onKeyFrameRequest(cb: (source: BotSource) => void): Unsubscribe {
    return listen(this.keyFrameListeners, cb);
  }

  /** As NodeMediaPeer.setAudioLevel: the RFC 6464 level on every audio packet from now on (null: none). */
  setAudioLevel(dBov: number | null, voice = dBov !== null && dBov > -127): void {
    this.audioLevel = dBov === null ? undefined : audioLevelByte(dBov, voice);
  }

  /** The id the publish connection negotiated for the audio-level extension (undefined: none). */
  get audioLevelExtensionId(): number | undefined {
    return this.audioLevelId;
  }

  /** Packetizes one encoded frame onto the published track. Packets are dropped while the connection is not up. */
  async sendFrame(source: BotSource, frame: Uint8Array, opts: SendFrameOptions = {}): Promise<void> {
    if (this.closed) return;
    checkKeyFrameFlag(source, frame, opts.keyFrame);
    const out = this.out[source];
    if (!out.track.isOpen()) return;
    const timestamp = out.framer.nextTimestamp(opts.timestamp);
    const levelId = this.audioLevelId;
    const audioLevel =
      source === 'audio' && levelId !== undefined && this.audioLevel !== undefined
        ? { id: levelId, value: this.audioLevel }
        : undefined;
    for (const plan of out.framer.packetize(frame, timestamp)) {
      const packet = writeRtp(
        {
          payloadType: out.payloadType,
          marker: plan.marker,
          sequenceNumber: plan.sequenceNumber,
          timestamp: plan.timestamp,
          ssrc: out.ssrc,
          audioLevel,
        },
        plan.payload,
      );
      try {
        if (!out.track.sendMessageBinary(packet)) return;
      } catch {
        return; // the track closed under us: the connection is going away
      }
      out.packets++;
      out.octets += plan.payload.byteLength;
    }
    out.lastTimestamp = timestamp;
    out.lastSentAt = performance.now();
  }

  /** Sends a PLI to the SFU for a received video stream (as a browser does after loss). */
  async requestKeyFrame(participantId: string, source: MediaSource): Promise<boolean> {
    const mid = this.inbound.midOf(participantId, source);
    const track = mid === undefined ? undefined : this.inTracks.get(mid);
    return track?.isOpen() === true && track.requestKeyframe();
  }

  /**
   * The peer connection's state (libdatachannel: new, connecting, connected, disconnected,
   * failed, closed). libdatachannel closes a connection for good when its ICE goes `failed` or
   * `disconnected` or its DTLS fails, so those, and a close we did not ask for, read `failed`:
   * the SDK then asks the server for a new media session.
   */
  connectionState(pc: PcKind): string {
    return this.isDead(pc) ? 'failed' : this.conns[pc].state;
  }

  /** Resolves when the connection is up; rejects on failure or timeout. */
  waitConnected(pc: PcKind, timeoutMs = 15_000): Promise<void> {
    if (this.conns[pc].state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stateListeners.delete(onState);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${pc} connection not up after ${timeoutMs} ms (${this.conns[pc].state})`));
      }, timeoutMs);
      const onState = (kind: PcKind, s: string): void => {
        if (kind !== pc || (s !== 'connected' && s !== 'failed' && s !== 'closed')) return;
        done();
        if (s === 'connected') resolve();
        else reject(new Error(`${pc} connection ${s}`));
      };
      this.stateListeners.add(onState);
    });
  }

  /** The StreamInfo of the current subscribe offer. */
  currentStreams(): StreamInfo[] {
    return this.inbound.current();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.inbound.frameListeners.clear();
    this.keyFrameListeners.clear();
    for (const { pc } of Object.values(this.conns)) pc.close();
  }

  private isDead(pc: PcKind): boolean {
    const { state } = this.conns[pc];
    return !this.closed && (state === 'failed' || state === 'disconnected' || state === 'closed');
  }

  private connection(kind: PcKind): Connection {
    const pc = new nodeDataChannel.PeerConnection(`bot-${kind}`, {
      iceServers: [],
      ...(this.loopbackOnly ? { bindAddress: '127.0.0.1' } : {}),
      disableAutoNegotiation: true,
      enableIceTcp: false,
    });
    const conn: Connection = {
      pc,
      state: 'new',
      gathered: new Promise((resolve) => {
        pc.onGatheringStateChange((s) => {
          if (s === 'complete') resolve();
        });
      }),
    };
    pc.onStateChange((s) => {
      conn.state = s;
      for (const cb of this.stateListeners) cb(kind, s);
    });
    return conn;
  }

  /** One sendonly m-line of the publish connection (mid 0: audio, mid 1: camera, the order the SFU reads sources by). */
  private outTrack(source: BotSource): OutTrack {
    const ssrc = randomInt(1, 0xffff_ffff);
    const msid = `conclave-bot-${source}`;
    let description: Audio | Video;
    if (source === 'audio') {
      const a = new nodeDataChannel.Audio('0', 'SendOnly');
      a.addOpusCodec(OPUS_PT);
      a.parseSdpLine(`a=extmap:${OFFERED_AUDIO_LEVEL_ID} ${AUDIO_LEVEL_URI}`);
      description = a;
    } else {
      const v = new nodeDataChannel.Video('1', 'SendOnly');
      v.addVP8Codec(VP8_PT);
      v.parseSdpLine(`a=rtcp-fb:${VP8_PT} ccm fir`);
      description = v;
    }
    description.addSSRC(ssrc, 'conclave-bot', msid, `${msid}-track`);
    const track = this.conns.publish.pc.addTrack(description);
    const out: OutTrack = {
      track,
      framer: source === 'audio' ? new RtpFramer('opus', 48_000) : new RtpFramer('vp8', 90_000),
      payloadType: source === 'audio' ? OPUS_PT : VP8_PT,
      ssrc,
      packets: 0,
      octets: 0,
      lastTimestamp: 0,
      lastSentAt: undefined,
    };
    // libdatachannel hands the track the RTCP about our SSRC: the SFU's PLI and FIR. It hands
    // each compound packet over once per SSRC of it that the track knows (ours and the SFU's
    // sender SSRC in its answer): the same bytes again within REPEAT_MS are that repeat (the SFU
    // sends at most one key-frame request per 500 ms, and a repeat of anything else is harmless).
    let last: { msg: Buffer; at: number } | undefined;
    track.onMessage((msg) => {
      if (source !== 'camera' || this.closed) return;
      const now = performance.now();
      if (last && now - last.at < REPEAT_MS && last.msg.equals(msg)) {
        last = undefined;
        return;
      }
      last = { msg, at: now };
      for (const item of parseRtcp(msg)) {
        const asked =
          (item.type === 'pli' && item.mediaSsrc === ssrc) ||
          (item.type === 'fir' && item.ssrcs.includes(ssrc));
        if (asked) {
          for (const cb of this.keyFrameListeners) cb('camera');
          return;
        }
      }
    });
    return out;
  }

  private onRemoteTrack(track: Track): void {
    const mid = track.mid();
    if (this.inTracks.has(mid)) return;
    this.inTracks.set(mid, track);
    this.inbound.addTrack(mid, track.type() === 'audio' ? 'audio' : 'video');
    // Receiver reports (the SFU's downlink estimate) and requestKeyframe's PLI.
    const session = new nodeDataChannel.RtcpReceivingSession();
    this.handlers.push(session);
    track.setMediaHandler(session);
    track.onMessage((msg) => {
      if (this.closed || isRtcp(msg)) return;
      const rtp = readRtp(msg);
      if (rtp) this.inbound.push(mid, rtp.sequenceNumber, rtp.timestamp, rtp.marker, rtp.payload);
    });
  }

  private sendSenderReports(): void {
    const now = performance.now();
    for (const source of ['audio', 'camera'] as const) {
      const out = this.out[source];
      if (out.lastSentAt === undefined || now - out.lastSentAt > SENDER_IDLE_MS || !out.track.isOpen())
        continue;
      const elapsed = Math.round((now - out.lastSentAt) * CLOCK_PER_MS[source]);
      try {
        out.track.sendMessageBinary(
          senderReport({
            ssrc: out.ssrc,
            unixMs: Date.now(),
            rtpTimestamp: (out.lastTimestamp + elapsed) >>> 0,
            packets: out.packets,
            octets: out.octets,
          }),
        );
      } catch {
        /* closing */
      }
    }
  }

  /** Our description once gathering is complete (it then holds every candidate). */
  private async localSdp(kind: PcKind): Promise<string> {
    const conn = this.conns[kind];
    if (conn.pc.gatheringState() !== 'complete') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${kind}: ICE gathering not complete after ${GATHER_TIMEOUT_MS} ms`)),
          GATHER_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([conn.gathered, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    const sdp = conn.pc.localDescription()?.sdp;
    if (!sdp) throw new Error(`${kind}: no local description`);
    return filterSdpCandidates(sdp, this.loopbackOnly ? '127.0.0.1' : undefined);
  }
}

/**
 * Ends libdatachannel's threads once every NativeMediaPeer of the process is closed: until then
 * they keep a process that should end on its own (a CLI command) alive.
 */
export function stopNativeMedia(): void {
  nodeDataChannel.cleanup();
}

/** The audio-level extension id an SDP negotiates (undefined: none). */
function audioLevelIdIn(sdp: string): number | undefined {
  const m = /^a=extmap:(\d+)(?:\/\w+)? urn:ietf:params:rtp-hdrext:ssrc-audio-level\s*$/m.exec(sdp);
  return m ? Number(m[1]) : undefined;
}
