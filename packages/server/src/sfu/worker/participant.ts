import { RTCPeerConnection, type RTCIceCandidate } from 'werift';
import type { IceCandidate, MediaSource } from '@conclave/protocol';
import { filterSdpCandidates, keepCandidate, type ReportBlock } from '@conclave/rtc';
import type { MediaKind, PcKind } from '../ipc.js';
import type { WorkerContext } from './context.js';
import type { EgressTrack } from './egress-track.js';
import { Forwarder, type SubscriberView } from './forwarder.js';
import { NativeSubscribeConnection } from './native-subscribe.js';
import { OfferScheduler } from './offer-scheduler.js';
import { publishPcConfig, subscribeIceConfig } from './pc-config.js';
import { PublishedStream, type PublisherView } from './published-stream.js';

/**
 * Which source an m-line of the publish connection carries, by its rank among the m-lines of
 * its kind: the first audio is the microphone, the first video the camera, the second ones the
 * screen share (and its audio). Browsers never remove m-lines, so ranks are stable.
 */
const SOURCES_BY_RANK: Record<MediaKind, readonly MediaSource[]> = {
  audio: ['audio', 'screenAudio'],
  video: ['camera', 'screen'],
};

export interface StreamChanges {
  added: PublishedStream[];
  removed: PublishedStream[];
}

/** How the subscriber receives what we send, from its RTCP receiver reports (null: no report yet). */
export interface DownlinkReport {
  /** The highest loss fraction (0..1) of the streams reported in the last 2 s. */
  lossFraction: number | null;
  rttMs: number | null;
  /** performance.now() of the newest report. */
  reportedAt: number | null;
}

/** Reports older than this no longer count towards the loss figure. */
const REPORT_FRESH_MS = 2000;
/**
 * An m-line whose stream the policy has had off for this long may carry another stream that is
 * turned on (one renegotiation); before that it stays with its stream, so a speaker who comes
 * back soon is forwarded again at its next key frame, without a renegotiation.
 */
export const RECLAIM_AFTER_MS = 5_000;

interface PendingOffer {
  /** Forwarders the offer carried, on the m-line it named: they start once the answer is applied. */
  forwarders: { forwarder: Forwarder; track: EgressTrack }[];
}

/**
 * One participant of a meeting in the SFU: its publish connection (werift; it offers, we answer)
 * with the streams it publishes, and its subscribe connection (node-datachannel; we offer, it
 * answers) with one forwarder per stream of the others. A forwarder gets an m-line of the
 * subscribe connection only when the forwarding policy first turns it on (a recycled one, one
 * whose stream has been off for RECLAIM_AFTER_MS, or a new one), so joins and leaves of people
 * the subscriber is not shown renegotiate nothing, and a big meeting's connections carry the
 * m-lines of the shown streams rather than two per participant.
 */
export class Participant implements PublisherView, SubscriberView {
  readonly muted: Record<MediaKind, boolean> = { audio: false, video: false };
  receiving = false;
  readonly published = new Map<string, PublishedStream>();
  readonly forwarders = new Map<PublishedStream, Forwarder>();
  readonly downlink: DownlinkReport = { lossFraction: null, rttMs: null, reportedAt: null };
  private readonly publish: RTCPeerConnection;
  private readonly publishPort: { start: number; release(): void };
  private readonly subscribe: NativeSubscribeConnection;
  private readonly byTrack = new Map<EgressTrack, Forwarder>();
  private readonly losses = new Map<EgressTrack, { fraction: number; at: number }>();
  private readonly free: Record<MediaKind, EgressTrack[]> = { audio: [], video: [] };
  private settingLocal = false;
  private readonly offers: OfferScheduler;
  private pendingOffer: PendingOffer | undefined;
  private offered = false;
  private closed = false;
  private failed = false;

  constructor(
    readonly meetingId: string,
    readonly id: string,
    private readonly ctx: WorkerContext,
  ) {
    this.publishPort = ctx.publishPorts.take();
    this.publish = new RTCPeerConnection(publishPcConfig(ctx.config, ctx.portRange, this.publishPort.start));
    this.publish.onIceCandidate.subscribe((c) => this.onLocalCandidate(c));
    // werift's 'disconnected' may recover (ICE consent comes back); these do not.
    this.publish.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') this.connectionFailed('publish', state);
    });
    this.subscribe = new NativeSubscribeConnection(
      `${meetingId}/${id}`,
      subscribeIceConfig(ctx.config, ctx.portRange),
      {
        stateChange: (state) => {
          // Video forwarders waited for the connection: ask for key frames now.
          if (state === 'connected') for (const f of this.forwarders.values()) f.restartVideo();
          // libdatachannel closes its transports for good on any of these (even 'disconnected').
          if (state === 'failed' || state === 'disconnected' || state === 'closed')
            this.connectionFailed('subscribe', state);
        },
        keyFrameRequest: (track) => this.byTrack.get(track)?.onKeyFrameRequest(),
        open: (track) => this.byTrack.get(track)?.restartVideo(),
        report: (track, block, rttMs) => this.onReport(track, block, rttMs),
      },
    );
    this.offers = new OfferScheduler(
      () => this.makeOffer(),
      (err, retryInMs) =>
        this.ctx.log.error(
          { err: String(err), meetingId: this.meetingId, participantId: this.id, retryInMs },
          'subscribe offer failed',
        ),
    );
  }

  /** Applies the participant's publish offer and returns our answer. */
  async answerPublish(sdp: string): Promise<string> {
    const pc = this.publish;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await this.setLocalPublish(answer);
    const local = pc.localDescription?.sdp;
    if (!local) throw new Error('publish: no local description');
    return filterSdpCandidates(local, this.ctx.address);
  }

  /** Reconciles `published` with the publish connection's receiving m-lines. */
  syncPublished(): StreamChanges {
    const changes: StreamChanges = { added: [], removed: [] };
    const seen = new Set<string>();
    const rank: Record<MediaKind, number> = { audio: 0, video: 0 };
    const transceivers = [...this.publish.getTransceivers()].sort(
      (a, b) => (a.mLineIndex ?? 0) - (b.mLineIndex ?? 0),
    );
    for (const t of transceivers) {
      const kind = t.kind;
      if (kind !== 'audio' && kind !== 'video') continue;
      const source = SOURCES_BY_RANK[kind][rank[kind]++];
      const receiving =
        !t.stopped && (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv');
      if (!t.mid || !source || !receiving) continue;
      seen.add(t.mid);
      const existing = this.published.get(t.mid);
      if (existing) {
        existing.refreshExtensions();
        continue;
      }
      const stream = new PublishedStream(this, t.mid, kind, source, t, this.ctx);
      this.published.set(t.mid, stream);
      changes.added.push(stream);
    }
    for (const [mid, stream] of this.published) {
      if (seen.has(mid)) continue;
      this.published.delete(mid);
      changes.removed.push(stream);
    }
    return changes;
  }

  /**
   * A forwarder of `stream` to this participant, off and without an m-line until the
   * forwarding policy turns it on (its next tick, `Meeting.policyTick`).
   */
  addForwarder(stream: PublishedStream): void {
    if (this.closed || this.forwarders.has(stream)) return;
    this.forwarders.set(stream, new Forwarder(stream, this, undefined, this.ctx, (f) => this.bind(f)));
  }

  /** Stops forwarding `stream`; its m-line, if it had one, falls silent and is recycled. */
  removeForwarder(stream: PublishedStream): void {
    const f = this.forwarders.get(stream);
    if (!f) return;
    f.detach();
    this.forwarders.delete(stream);
    const track = this.release(f);
    if (!track || this.closed) return;
    this.subscribe.setActive(track, false);
    this.free[stream.kind].push(track);
    this.offers.request();
  }

  /** The m-lines of the subscribe connection (offered or to be offered; never removed). */
  get mLines(): number {
    return this.subscribe.mLines;
  }

  /** The published microphone, if any. */
  get microphone(): PublishedStream | undefined {
    for (const s of this.published.values()) if (s.source === 'audio') return s;
    return undefined;
  }

  /** The policy turned `f` on and it has no m-line: a free one, a reclaimed one, or a new one. */
  private bind(f: Forwarder): void {
    if (this.closed || f.egress || this.forwarders.get(f.stream) !== f) return;
    const kind = f.stream.kind;
    let track = this.free[kind].pop();
    if (track) this.subscribe.setActive(track, true);
    else track = this.reclaim(kind) ?? this.subscribe.addTrack(kind);
    f.bind(track);
    this.byTrack.set(track, f);
    this.offers.request();
  }

  /** The m-line of the forwarder of this kind that has been off longest, past RECLAIM_AFTER_MS. */
  private reclaim(kind: MediaKind): EgressTrack | undefined {
    const now = performance.now();
    let oldest: Forwarder | undefined;
    for (const f of this.forwarders.values()) {
      if (f.stream.kind !== kind || !f.egress || f.offFor(now) < RECLAIM_AFTER_MS) continue;
      if (!oldest || f.offFor(now) > oldest.offFor(now)) oldest = f;
    }
    return oldest ? this.release(oldest) : undefined;
  }

  /** Takes a forwarder off its m-line; returns the m-line. */
  private release(f: Forwarder): EgressTrack | undefined {
    const track = f.unbind();
    if (!track) return undefined;
    this.byTrack.delete(track);
    this.losses.delete(track);
    return track;
  }

  async applySubscribeAnswer(sdp: string): Promise<void> {
    const pending = this.pendingOffer;
    if (!pending) throw new Error('no subscribe offer is pending');
    let trickle: { candidate: string; mid: string }[];
    try {
      trickle = this.subscribe.applyAnswer(sdp);
    } catch (err) {
      // Drop our offer and make a fresh one: the participant gets another chance to answer.
      this.pendingOffer = undefined;
      this.subscribe.rollback();
      this.offers.answered();
      this.offers.request();
      throw err;
    }
    this.pendingOffer = undefined;
    for (const { candidate, mid } of trickle) {
      this.ctx.send({
        type: 'ice',
        meetingId: this.meetingId,
        participantId: this.id,
        pc: 'subscribe',
        candidate: { candidate, sdpMid: mid, sdpMLineIndex: 0 },
      });
    }
    // A forwarder moved to another m-line since the offer waits for the offer that names it there.
    for (const { forwarder: f, track } of pending.forwarders)
      if (this.forwarders.get(f.stream) === f && f.egress === track) f.activate();
    this.offers.answered();
  }

  async addIce(pc: PcKind, candidate: IceCandidate): Promise<void> {
    // An empty candidate is the end-of-candidates marker: nothing to add.
    if (candidate.candidate === '') return;
    if (pc === 'subscribe') {
      this.subscribe.addRemoteCandidate(candidate.candidate, candidate.sdpMid ?? '0');
      return;
    }
    await this.publish.addIceCandidate({
      candidate: candidate.candidate,
      sdpMid: candidate.sdpMid ?? undefined,
      sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    });
  }

  setReceiving(allowed: boolean): void {
    const was = this.receiving;
    this.receiving = allowed;
    if (allowed && !was) for (const f of this.forwarders.values()) f.restartVideo();
  }

  setMuted(kind: MediaKind, muted: boolean): void {
    const was = this.muted[kind];
    this.muted[kind] = muted;
    if (kind !== 'video' || muted || !was) return;
    // Unmuted video restarts at a key frame everywhere.
    for (const s of this.published.values())
      if (s.kind === 'video') for (const f of s.forwarders) f.restartVideo();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.forwarders.values()) f.detach();
    this.forwarders.clear();
    for (const s of this.published.values()) s.close();
    this.offers.close();
    this.subscribe.close();
    await this.publish.close().catch(() => undefined);
    this.publishPort.release();
  }

  /** Makes and sends our next subscribe offer; false when there is nothing to offer yet. */
  private async makeOffer(): Promise<boolean> {
    if (this.closed) return false;
    // What the offer's m-lines carry, read as libdatachannel writes them (synchronously, at the
    // start of createOffer): an m-line bound later goes into the next offer.
    const forwarders: PendingOffer['forwarders'] = [];
    for (const forwarder of this.forwarders.values())
      if (forwarder.egress) forwarders.push({ forwarder, track: forwarder.egress });
    // Nothing to receive yet: an offer without m-lines would only start an idle connection.
    if (forwarders.length === 0 && !this.offered) return false;
    const sdp = await this.subscribe.createOffer();
    if (this.closed) return false;
    const streams = forwarders.map(({ forwarder: f, track }) => ({
      mid: track.mid,
      participantId: f.stream.publisher.id,
      source: f.stream.source,
    }));
    this.pendingOffer = { forwarders };
    this.offered = true;
    this.ctx.counters.subscribeOffers++;
    this.ctx.send({
      type: 'subscribeOffer',
      meetingId: this.meetingId,
      participantId: this.id,
      sdp,
      streams,
    });
    return true;
  }

  private async setLocalPublish(desc: { type: 'offer' | 'answer' | 'pranswer'; sdp: string }): Promise<void> {
    await this.ctx.gatherLock.run(async () => {
      if (this.closed) throw new Error('participant left');
      // werift gathers (binds a UDP port) for every ICE transport of the connection here. There
      // is one unless its DTLS transport was closed (a DTLS alert) and a later m-line got a new
      // one: that would take a port the pool did not reserve (pc-config.ts). A closed DTLS
      // transport carries no media anyway; the participant has to join again.
      if (this.publish.iceTransports.length > 1)
        throw new Error(`publish: the connection's DTLS transport was closed; join again for media`);
      this.settingLocal = true;
      try {
        await this.publish.setLocalDescription(desc);
      } finally {
        this.settingLocal = false;
      }
    });
  }

  /**
   * A connection of ours with the participant is dead: nothing more reaches it or comes from
   * it until the hub makes its media session anew (the hub hears of it once per session).
   */
  private connectionFailed(pc: PcKind, state: string): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.ctx.log.warn(
      { meetingId: this.meetingId, participantId: this.id, pc, state },
      'media connection failed',
    );
    this.ctx.send({ type: 'connectionFailed', meetingId: this.meetingId, participantId: this.id, pc, state });
  }

  private onReport(track: EgressTrack, block: ReportBlock, rttMs: number | undefined): void {
    const now = performance.now();
    this.losses.set(track, { fraction: block.fractionLost, at: now });
    let loss = 0;
    for (const [t, l] of this.losses) {
      if (now - l.at > REPORT_FRESH_MS) this.losses.delete(t);
      else loss = Math.max(loss, l.fraction);
    }
    this.downlink.lossFraction = loss;
    if (rttMs !== undefined) this.downlink.rttMs = rttMs;
    this.downlink.reportedAt = now;
  }

  private onLocalCandidate(c: RTCIceCandidate | undefined): void {
    // Candidates found while a description is being set are in its SDP already.
    if (!c || this.closed || this.settingLocal || !keepCandidate(c.candidate, this.ctx.address)) return;
    this.ctx.send({
      type: 'ice',
      meetingId: this.meetingId,
      participantId: this.id,
      pc: 'publish',
      candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null },
    });
  }
}
