import { RTCPeerConnection, type RTCIceCandidate, type RTCRtpTransceiver } from 'werift';
import type { IceCandidate } from '@conclave/protocol';
import type { MediaKind, PcKind } from '../ipc.js';
import type { WorkerContext } from './context.js';
import { Forwarder, type SubscriberView } from './forwarder.js';
import { filterSdpCandidates, keepCandidate } from '@conclave/rtc';
import { publishPcConfig, subscribePcConfig } from './pc-config.js';
import { keepInactiveMlines } from './sdp.js';
import { PublishedStream, type PublisherView } from './published-stream.js';
import type { MediaSource } from '@conclave/protocol';

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

interface PendingOffer {
  /** Forwarders the offer carried: they start once the answer is applied. */
  forwarders: Forwarder[];
}

/**
 * One participant of a meeting in the SFU: its publish connection (it offers, we answer) with
 * the streams it publishes, and its subscribe connection (we offer, it answers) with one
 * forwarder per stream of the others.
 */
export class Participant implements PublisherView, SubscriberView {
  readonly muted: Record<MediaKind, boolean> = { audio: false, video: false };
  receiving = false;
  readonly published = new Map<string, PublishedStream>();
  readonly forwarders = new Map<PublishedStream, Forwarder>();
  private readonly pcs: Record<PcKind, RTCPeerConnection>;
  private readonly free: Record<MediaKind, RTCRtpTransceiver[]> = { audio: [], video: [] };
  private readonly settingLocal: Record<PcKind, boolean> = { publish: false, subscribe: false };
  private offerScheduled = false;
  private negotiating = false;
  private dirty = false;
  private pendingOffer: PendingOffer | undefined;
  private offered = false;
  private closed = false;

  constructor(
    readonly meetingId: string,
    readonly id: string,
    private readonly ctx: WorkerContext,
  ) {
    this.pcs = {
      publish: new RTCPeerConnection(publishPcConfig(ctx.config, ctx.portRange)),
      subscribe: new RTCPeerConnection(subscribePcConfig(ctx.config, ctx.portRange)),
    };
    for (const kind of ['publish', 'subscribe'] as const) {
      this.pcs[kind].onIceCandidate.subscribe((c) => this.onLocalCandidate(kind, c));
    }
    this.pcs.subscribe.connectionStateChange.subscribe((state) => {
      // Video forwarders waited for the connection: ask for key frames now.
      if (state === 'connected') for (const f of this.forwarders.values()) f.restartVideo();
    });
  }

  /** Applies the participant's publish offer and returns our answer. */
  async answerPublish(sdp: string): Promise<string> {
    const pc = this.pcs.publish;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await this.setLocal('publish', answer);
    const local = pc.localDescription?.sdp;
    if (!local) throw new Error('publish: no local description');
    return filterSdpCandidates(local, this.ctx.address);
  }

  /** Reconciles `published` with the publish connection's receiving m-lines. */
  syncPublished(): StreamChanges {
    const changes: StreamChanges = { added: [], removed: [] };
    const seen = new Set<string>();
    const rank: Record<MediaKind, number> = { audio: 0, video: 0 };
    const transceivers = [...this.pcs.publish.getTransceivers()].sort(
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

  /** Starts forwarding `stream` to this participant (on a new or recycled transceiver). */
  addForwarder(stream: PublishedStream): void {
    if (this.closed || this.forwarders.has(stream)) return;
    const transceiver =
      this.free[stream.kind].pop() ??
      this.pcs.subscribe.addTransceiver(stream.kind, { direction: 'sendonly' });
    transceiver.setDirection('sendonly');
    this.forwarders.set(stream, new Forwarder(stream, this, transceiver, this.ctx));
    this.scheduleOffer();
  }

  /** Stops forwarding `stream`; its m-line goes inactive and is recycled for a later stream. */
  removeForwarder(stream: PublishedStream): void {
    const f = this.forwarders.get(stream);
    if (!f) return;
    f.detach();
    this.forwarders.delete(stream);
    if (this.closed) return;
    f.transceiver.setDirection('inactive');
    this.free[stream.kind].push(f.transceiver);
    this.scheduleOffer();
  }

  async applySubscribeAnswer(sdp: string): Promise<void> {
    const pending = this.pendingOffer;
    if (!pending) throw new Error('no subscribe offer is pending');
    try {
      await this.pcs.subscribe.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      // Drop our offer and make a fresh one: the participant gets another chance to answer.
      this.pendingOffer = undefined;
      await this.pcs.subscribe.setLocalDescription({ type: 'rollback' }).catch(() => undefined);
      this.dirty = false;
      this.scheduleOffer();
      throw err;
    }
    this.pendingOffer = undefined;
    for (const f of pending.forwarders) if (this.forwarders.get(f.stream) === f) f.activate();
    if (this.dirty) {
      this.dirty = false;
      this.scheduleOffer();
    }
  }

  async addIce(pc: PcKind, candidate: IceCandidate): Promise<void> {
    // An empty candidate is the end-of-candidates marker: nothing to add for werift.
    if (candidate.candidate === '') return;
    await this.pcs[pc].addIceCandidate({
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

  setPreferredLayer(publisherId: string, rid: string | null): void {
    for (const [stream, f] of this.forwarders)
      if (stream.publisher.id === publisherId && stream.kind === 'video') f.setPreferredLayer(rid);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.forwarders.values()) f.detach();
    this.forwarders.clear();
    for (const s of this.published.values()) s.close();
    await Promise.allSettled([this.pcs.publish.close(), this.pcs.subscribe.close()]);
  }

  private scheduleOffer(): void {
    if (this.offerScheduled || this.closed) return;
    this.offerScheduled = true;
    // Coalesce the changes of one event-loop turn (a publisher's audio and video) into one offer.
    setImmediate(() => {
      this.offerScheduled = false;
      this.negotiate().catch((err: unknown) =>
        this.ctx.log.error(
          { err: String(err), meetingId: this.meetingId, participantId: this.id },
          'subscribe offer failed',
        ),
      );
    });
  }

  private async negotiate(): Promise<void> {
    if (this.closed) return;
    if (this.pendingOffer || this.negotiating) {
      this.dirty = true;
      return;
    }
    // Nothing to receive yet: an offer without m-lines would only start an idle connection.
    if (this.forwarders.size === 0 && !this.offered) return;
    this.negotiating = true;
    try {
      const pc = this.pcs.subscribe;
      const offer = await pc.createOffer();
      await this.setLocal('subscribe', offer);
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('subscribe: no local description');
      const forwarders = [...this.forwarders.values()];
      const streams = forwarders.flatMap((f) =>
        f.mid === null ? [] : [{ mid: f.mid, participantId: f.stream.publisher.id, source: f.stream.source }],
      );
      this.pendingOffer = { forwarders };
      this.offered = true;
      this.ctx.send({
        type: 'subscribeOffer',
        meetingId: this.meetingId,
        participantId: this.id,
        sdp: keepInactiveMlines(filterSdpCandidates(sdp, this.ctx.address)),
        streams,
      });
    } finally {
      this.negotiating = false;
      // A change arrived while the offer was being made but no offer went out (failure): retry.
      if (!this.pendingOffer && this.dirty) {
        this.dirty = false;
        this.scheduleOffer();
      }
    }
  }

  private async setLocal(
    kind: PcKind,
    desc: { type: 'offer' | 'answer' | 'pranswer'; sdp: string },
  ): Promise<void> {
    await this.ctx.gatherLock.run(async () => {
      if (this.closed) throw new Error('participant left');
      // werift gathers (binds a UDP port) for every ICE transport of the connection here. There
      // is one unless its DTLS transport was closed (a DTLS alert) and a later m-line got a new
      // one: that would take a port the pool did not reserve (pc-config.ts). A closed DTLS
      // transport carries no media anyway; the participant has to join again.
      if (this.pcs[kind].iceTransports.length > 1)
        throw new Error(`${kind}: the connection's DTLS transport was closed; join again for media`);
      this.settingLocal[kind] = true;
      try {
        await this.pcs[kind].setLocalDescription(desc);
      } finally {
        this.settingLocal[kind] = false;
      }
    });
  }

  private onLocalCandidate(pc: PcKind, c: RTCIceCandidate | undefined): void {
    // Candidates found while a description is being set are in its SDP already.
    if (!c || this.closed || this.settingLocal[pc] || !keepCandidate(c.candidate, this.ctx.address)) return;
    this.ctx.send({
      type: 'ice',
      meetingId: this.meetingId,
      participantId: this.id,
      pc,
      candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null },
    });
  }
}
