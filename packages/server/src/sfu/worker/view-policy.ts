/**
 * The forwarding policy of one subscriber, applied on every policy tick of its meeting:
 * which of the others' streams it receives (selection.ts: last-N speakers, pinned, screens,
 * audio of the top speakers), at which simulcast layer (layer-policy.ts: tile height, then the
 * downlink budget from downlink.ts), and what it is told about it (`media_status`, only when
 * something changed and at most twice a second).
 *
 * It drives the subscriber's forwarders through three calls only (`setEnabled`,
 * `setPreferredLayer`, and the `sent` and `currentRid` they report), so it is tested with
 * stand-ins (test/sfu/view-policy.test.ts) and runs over forwarder.ts in the worker.
 */
import type { MediaSource, MediaStatusMessage } from '@conclave/protocol';
import type { MediaKind } from '../ipc.js';
import { DownlinkEstimator } from './downlink.js';
import {
  allocateLayers,
  layerForTile,
  layerHeights,
  rankLayers,
  type AllocationRequest,
  type LayerView,
} from './layer-policy.js';
import { DEFAULT_VIEW, selectStreams, type StreamDecision, type ViewSettings } from './selection.js';

/** The `media_status` the subscriber is sent (the IPC's `mediaStatus`, ipc.ts). */
export type MediaStatus = Omit<MediaStatusMessage, 'v' | 'type'>;

/** What the policy reads of a published stream (published-stream.ts). */
export interface PolicyStream {
  readonly publisher: { readonly id: string; readonly muted: Readonly<Record<MediaKind, boolean>> };
  readonly kind: MediaKind;
  readonly source: MediaSource;
  layerViews(): LayerView[];
}

/** What the policy drives of a forwarder (forwarder.ts). */
export interface PolicyForwarder {
  readonly stream: PolicyStream;
  /** Cumulative packets and bytes sent to the subscriber. */
  readonly sent: { readonly packets: number; readonly bytes: number };
  /** The simulcast layer flowing to the subscriber now. */
  readonly currentRid: string | undefined;
  /** Off: nothing of the stream reaches the subscriber; on: video restarts at a key frame. */
  setEnabled(on: boolean): void;
  /** The layer to switch to at its next key frame (null: the forwarder's own choice). */
  setPreferredLayer(rid: string | null): void;
}

/** The subscriber's own receiver reports (participant.ts); null fields until the first one. */
export interface DownlinkReport {
  readonly lossFraction: number | null;
  readonly rttMs: number | null;
  /** performance.now() of the newest report. */
  readonly reportedAt: number | null;
}

export interface PolicySubscriber {
  readonly id: string;
  /**
   * Whether the hub lets media reach it (E2EE: it is in the MLS group). Until then it is told
   * nothing either: who speaks is not for a joiner the members refused.
   */
  readonly receiving: boolean;
  readonly downlink: DownlinkReport;
  readonly forwarders: ReadonlyMap<unknown, PolicyForwarder>;
}

/** What the meeting knows of its speakers on this tick (speakers.ts). */
export interface MeetingSpeakers {
  readonly speakers: readonly string[];
  readonly audioOrder: readonly string[];
  /** Its microphone's packets come without levels (selection.ts). */
  levelless(publisherId: string): boolean;
  /** Every publisher, in the meeting's order. */
  readonly publishers: readonly string[];
  /** A stream's active layers, lowest first (`rankLayers`); the meeting ranks each once a tick. */
  rankedLayers?(stream: PolicyStream): LayerView[];
}

/** A meeting's speakers for one tick, ranking each stream's layers once for all subscribers. */
export function tickSpeakers(s: Omit<MeetingSpeakers, 'rankedLayers'>): MeetingSpeakers {
  const memo = new Map<PolicyStream, LayerView[]>();
  return {
    ...s,
    rankedLayers: (stream) => {
      let ranked = memo.get(stream);
      if (!ranked) {
        ranked = rankLayers(stream.layerViews());
        memo.set(stream, ranked);
      }
      return ranked;
    },
  };
}

/** At most one `media_status` per this interval. */
export const STATUS_INTERVAL_MS = 500;
/** `media_status` list bounds (the wire schema's). */
const MAX_SPEAKERS = 256;
const MAX_VIDEO = 512;

const isVideoSource = (s: MediaSource): boolean => s === 'camera' || s === 'screen';

interface VideoPlan {
  forwarder: PolicyForwarder;
  decision: StreamDecision;
  ranked: LayerView[];
  /** Index into `ranked` of the layer to forward. */
  layer: number;
  limit: 'tile' | 'bandwidth' | null;
}

export class ViewPolicy {
  private view: ViewSettings = DEFAULT_VIEW;
  /** Layers fixed by the `setPreferredLayer` op (operators, tests): publisher id → rid. */
  private readonly overrides = new Map<string, string>();
  private readonly estimator = new DownlinkEstimator();
  private lastReportAt: number | null = null;
  private readonly enabled = new WeakMap<PolicyForwarder, boolean>();
  private readonly preferred = new WeakMap<PolicyForwarder, string | null>();
  /** The layer (rid) chosen for each forwarder on the previous tick: the hysteresis' reference. */
  private readonly target = new WeakMap<PolicyForwarder, string>();
  private lastStatus: MediaStatus | undefined;
  private lastSentAt = -Infinity;

  constructor(
    private readonly subscriber: PolicySubscriber,
    private readonly sendStatus: (status: MediaStatus) => void,
  ) {}

  setView(view: ViewSettings): void {
    this.view = {
      lastN: view.lastN,
      pinned: [...new Set(view.pinned)],
      tiles: view.tiles,
      defaultHeight: view.defaultHeight,
    };
  }

  /** A fixed layer of one publisher's video for this subscriber (null: back to the policy). */
  setOverride(publisherId: string, rid: string | null): void {
    if (rid === null) this.overrides.delete(publisherId);
    else this.overrides.set(publisherId, rid);
  }

  /** The downlink estimate, bits per second (null until the first receiver report). */
  get downlinkBps(): number | null {
    return this.estimator.bps;
  }

  /** Applies the policy to the subscriber's forwarders; sends `media_status` when it changed. */
  tick(speakers: MeetingSpeakers, now: number): void {
    const forwarders = [...this.subscriber.forwarders.values()];
    this.updateEstimate(forwarders, now);
    const decisions = selectStreams({
      view: this.view,
      speakers: speakers.speakers,
      audioOrder: speakers.audioOrder,
      levelless: (id) => speakers.levelless(id),
      publishers: speakers.publishers,
      streams: forwarders.map((f) => ({
        publisherId: f.stream.publisher.id,
        source: f.stream.source,
        muted: f.stream.publisher.muted[f.stream.kind],
      })),
    });
    const rank = (stream: PolicyStream) => speakers.rankedLayers?.(stream) ?? rankLayers(stream.layerViews());
    const plans = this.planLayers(forwarders, decisions, rank);
    forwarders.forEach((f, i) => {
      const on = decisions[i]!.forwarded;
      if (this.enabled.get(f) !== on) {
        this.enabled.set(f, on);
        f.setEnabled(on);
      }
    });
    for (const p of plans.values()) {
      const rid = p.ranked[p.layer]?.rid;
      if (rid !== undefined) this.target.set(p.forwarder, rid);
      // A single layer needs no choice: the forwarder takes what there is.
      const want = p.ranked.length > 1 && rid !== undefined ? rid : null;
      if (this.preferred.get(p.forwarder) !== want) {
        this.preferred.set(p.forwarder, want);
        p.forwarder.setPreferredLayer(want);
      }
    }
    // Within STATUS_INTERVAL_MS of the last one nothing is sent, so nothing is worked out: a
    // change waits for the first tick after it (the status covers every stream of the meeting).
    if (this.subscriber.receiving && now - this.lastSentAt >= STATUS_INTERVAL_MS)
      this.maybeSend(this.status(speakers, forwarders, decisions, plans, rank), now);
  }

  private updateEstimate(forwarders: readonly PolicyForwarder[], now: number): void {
    let bytes = 0;
    for (const f of forwarders) bytes += f.sent.bytes;
    this.estimator.sample(bytes, now);
    const d = this.subscriber.downlink;
    if (d.reportedAt !== null && d.reportedAt !== this.lastReportAt) {
      this.lastReportAt = d.reportedAt;
      this.estimator.report(d.lossFraction ?? 0, d.rttMs, now);
    }
  }

  /** The layer of each forwarded video stream: its tile's, capped by the downlink budget. */
  private planLayers(
    forwarders: readonly PolicyForwarder[],
    decisions: readonly StreamDecision[],
    rank: (stream: PolicyStream) => LayerView[],
  ): Map<PolicyForwarder, VideoPlan> {
    const plans = new Map<PolicyForwarder, VideoPlan>();
    let budget = this.estimator.bps;
    const competing: VideoPlan[] = [];
    const requests = new Map<VideoPlan, AllocationRequest>();
    forwarders.forEach((f, i) => {
      const d = decisions[i]!;
      if (!d.forwarded) return;
      if (!isVideoSource(f.stream.source)) {
        // Forwarded audio comes off the budget first.
        if (budget !== null) for (const l of f.stream.layerViews()) budget -= l.rate * 8;
        return;
      }
      const ranked = rank(f.stream);
      const plan: VideoPlan = { forwarder: f, decision: d, ranked, layer: 0, limit: null };
      plans.set(f, plan);
      if (ranked.length === 0) return;
      const fixed = this.overrides.get(f.stream.publisher.id);
      const fixedAt = fixed === undefined ? -1 : ranked.findIndex((l) => l.rid === fixed);
      if (fixedAt >= 0) {
        plan.layer = fixedAt;
        if (budget !== null) budget -= (ranked[fixedAt]?.rate ?? 0) * 8;
        return;
      }
      const previous = this.target.get(f);
      const previousAt = previous === undefined ? -1 : ranked.findIndex((l) => l.rid === previous);
      const currentAt = ranked.findIndex((l) => l.rid === f.currentRid);
      const current = previousAt >= 0 ? previousAt : currentAt >= 0 ? currentAt : undefined;
      requests.set(plan, {
        rates: ranked.map((l) => l.rate * 8),
        desired: layerForTile(layerHeights(ranked), d.height, current),
        current: currentAt >= 0 ? currentAt : undefined,
      });
      competing.push(plan);
    });
    // Most important first: pinned and screens, then the biggest tiles, then the speaker order.
    competing.sort(
      (a, b) =>
        Number(b.decision.reason === 'pinned') - Number(a.decision.reason === 'pinned') ||
        b.decision.height - a.decision.height ||
        a.decision.speakerRank - b.decision.speakerRank,
    );
    const allocations = allocateLayers(
      competing.map((p) => requests.get(p)!),
      budget === null ? null : Math.max(0, budget),
    );
    competing.forEach((p, i) => {
      const a = allocations[i]!;
      p.layer = a.layer;
      p.limit = a.limit;
    });
    return plans;
  }

  private status(
    speakers: MeetingSpeakers,
    forwarders: readonly PolicyForwarder[],
    decisions: readonly StreamDecision[],
    plans: ReadonlyMap<PolicyForwarder, VideoPlan>,
    rank: (stream: PolicyStream) => LayerView[],
  ): MediaStatus {
    const audio: string[] = [];
    const video: MediaStatus['video'] = [];
    forwarders.forEach((f, i) => {
      const d = decisions[i]!;
      const { id } = f.stream.publisher;
      if (f.stream.source === 'audio') {
        if (d.forwarded) audio.push(id);
        return;
      }
      const plan = plans.get(f);
      if (!isVideoSource(f.stream.source) || d.reason === undefined) return;
      const ranked = plan?.ranked ?? rank(f.stream);
      const at = ranked.findIndex((l) => l.rid === f.currentRid);
      video.push({
        participantId: id,
        source: f.stream.source === 'screen' ? 'screen' : 'camera',
        forwarded: d.forwarded,
        reason: d.reason,
        layer: d.forwarded && at >= 0 ? Math.min(at, 7) : null,
        layers: Math.min(ranked.length, 8),
        limit: d.forwarded ? (plan?.limit ?? null) : null,
      });
    });
    const report = this.subscriber.downlink;
    const bps = this.estimator.bps;
    return {
      speakers: speakers.speakers.slice(0, MAX_SPEAKERS),
      audio: audio.slice(0, MAX_SPEAKERS),
      video: video.slice(0, MAX_VIDEO),
      downlinkBps: bps === null ? null : Math.round(bps),
      lossFraction: report.lossFraction === null ? null : Math.min(1, Math.max(0, report.lossFraction)),
      rttMs: report.rttMs === null ? null : Math.max(0, Math.round(report.rttMs)),
    };
  }

  private maybeSend(status: MediaStatus, now: number): void {
    if (this.lastStatus && !changed(this.lastStatus, status)) return;
    this.lastStatus = status;
    this.lastSentAt = now;
    this.sendStatus(status);
  }
}

/**
 * Whether a status says something new: any change of who is forwarded, why, at which layer or
 * limit; the downlink figures only when they moved noticeably (they move on every report).
 */
function changed(a: MediaStatus, b: MediaStatus): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((v, i) => v === y[i]);
  if (!same(a.speakers, b.speakers) || !same(a.audio, b.audio) || a.video.length !== b.video.length)
    return true;
  for (let i = 0; i < a.video.length; i++) {
    const x = a.video[i]!;
    const y = b.video[i]!;
    if (
      x.participantId !== y.participantId ||
      x.source !== y.source ||
      x.forwarded !== y.forwarded ||
      x.reason !== y.reason ||
      x.layer !== y.layer ||
      x.layers !== y.layers ||
      x.limit !== y.limit
    )
      return true;
  }
  return (
    moved(a.downlinkBps, b.downlinkBps, (p, q) => Math.abs(p - q) > 0.1 * Math.max(p, q)) ||
    moved(a.lossFraction, b.lossFraction, (p, q) => Math.abs(p - q) > 0.02) ||
    moved(a.rttMs, b.rttMs, (p, q) => Math.abs(p - q) > Math.max(20, 0.2 * Math.max(p, q)))
  );
}

function moved(a: number | null, b: number | null, far: (a: number, b: number) => boolean): boolean {
  if (a === null || b === null) return a !== b;
  return far(a, b);
}
