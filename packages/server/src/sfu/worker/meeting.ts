import type { MediaKind, PcKind } from '../ipc.js';
import type { IceCandidate } from '@conclave/protocol';
import type { WorkerContext } from './context.js';
import { Participant } from './participant.js';
import type { ViewSettings } from './selection.js';
import { resetLevelWindow, SpeakerRanking } from './speakers.js';
import { tickSpeakers, ViewPolicy, type MeetingSpeakers } from './view-policy.js';

/**
 * One meeting in a worker: who is in it, and who receives whose streams. Every participant has
 * a forwarder for every stream of the others; the forwarding policy (view-policy.ts, one per
 * subscriber) turns them on and off and picks their layers on each policy tick, from the
 * meeting's speaker ranking (speakers.ts) and the subscriber's view. A forwarder gets an m-line
 * of its subscriber's connection when first turned on (participant.ts): a join renegotiates
 * the connections of those who are shown the newcomer, not everybody's.
 */
export class Meeting {
  readonly participants = new Map<string, Participant>();
  private readonly ranking = new SpeakerRanking();
  private readonly policies = new Map<string, ViewPolicy>();

  constructor(
    readonly id: string,
    private readonly ctx: WorkerContext,
  ) {}

  /**
   * A new participant, with forwarders for the others' streams; with its view (when the hub
   * knows it) its policy applies at once, so its first offer carries what it shows.
   */
  join(participantId: string, view?: ViewSettings): void {
    if (this.participants.has(participantId)) throw new Error(`participant ${participantId} already joined`);
    const p = new Participant(this.id, participantId, this.ctx);
    this.participants.set(participantId, p);
    const policy = new ViewPolicy(p, (status) =>
      this.ctx.send({ type: 'mediaStatus', meetingId: this.id, participantId, status }),
    );
    this.policies.set(participantId, policy);
    for (const other of this.participants.values()) {
      if (other === p) continue;
      for (const stream of other.published.values()) p.addForwarder(stream);
    }
    if (view) {
      policy.setView(view);
      policy.tick(this.speakers(), performance.now());
    }
  }

  async publishOffer(participantId: string, sdp: string): Promise<string> {
    const p = this.get(participantId);
    const answer = await p.answerPublish(sdp);
    // It may have left while its offer was being answered: its streams must not be attached.
    if (this.participants.get(participantId) !== p) throw new Error(`participant ${participantId} left`);
    const { added, removed } = p.syncPublished();
    for (const stream of removed) {
      for (const other of this.participants.values()) other.removeForwarder(stream);
      stream.close();
    }
    for (const stream of added) {
      for (const other of this.participants.values()) if (other !== p) other.addForwarder(stream);
    }
    // The new streams go (on m-lines of their own) to whoever is shown them now, not a tick later.
    if (added.length > 0) {
      const speakers = this.speakers();
      const now = performance.now();
      for (const [id, policy] of this.policies) if (id !== participantId) policy.tick(speakers, now);
    }
    return answer;
  }

  subscribeAnswer(participantId: string, sdp: string): Promise<void> {
    return this.get(participantId).applySubscribeAnswer(sdp);
  }

  addIce(participantId: string, pc: PcKind, candidate: IceCandidate): Promise<void> {
    return this.get(participantId).addIce(pc, candidate);
  }

  setReceiving(participantId: string, allowed: boolean): void {
    this.get(participantId).setReceiving(allowed);
  }

  setMuted(participantId: string, kind: MediaKind, muted: boolean): void {
    this.get(participantId).setMuted(kind, muted);
  }

  /** Fixes the layer of one publisher's video for this subscriber (null: the policy chooses). */
  setPreferredLayer(participantId: string, publisherId: string, rid: string | null): void {
    this.policy(participantId).setOverride(publisherId, rid);
    this.policy(participantId).tick(this.speakers(), performance.now());
  }

  /** The subscriber's view (its `media_view`), applied at once. */
  setView(participantId: string, view: ViewSettings): void {
    this.policy(participantId).setView(view);
    this.policy(participantId).tick(this.speakers(), performance.now());
  }

  /** The participant's streams disappear from everybody's subscribe connection (renegotiated). */
  async leave(participantId: string): Promise<void> {
    const p = this.participants.get(participantId);
    if (!p) return;
    this.participants.delete(participantId);
    this.policies.delete(participantId);
    this.ranking.forget(participantId);
    for (const stream of p.published.values()) {
      for (const other of this.participants.values()) other.removeForwarder(stream);
    }
    await p.close();
  }

  async close(): Promise<void> {
    const all = [...this.participants.values()];
    this.participants.clear();
    this.policies.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }

  get empty(): boolean {
    return this.participants.size === 0;
  }

  tick(windowMs: number): void {
    for (const p of this.participants.values()) for (const s of p.published.values()) s.tick(windowMs);
  }

  /**
   * The policy tick: the microphones' levels of the last `windowMs` update the speaker ranking,
   * then every subscriber's policy applies (and says what changed).
   */
  policyTick(windowMs: number, now: number): void {
    for (const p of this.participants.values()) {
      const mic = p.microphone;
      this.ranking.observe(p.id, mic?.levels, windowMs);
      if (mic) resetLevelWindow(mic.levels);
    }
    this.ranking.rank(now);
    const speakers = this.speakers();
    for (const policy of this.policies.values()) policy.tick(speakers, now);
  }

  private speakers(): MeetingSpeakers {
    const ranking = this.ranking;
    // Only once its packets are seen to lack levels (a microphone that sent nothing yet is a
    // silent one, so a join does not put it on everybody's connection); one whose packets
    // carried a level is ranked. Worked out once for all subscribers of the tick.
    const levelless = new Set<string>();
    for (const p of this.participants.values())
      if (p.microphone?.levelless === true && !ranking.hasLevels(p.id)) levelless.add(p.id);
    return tickSpeakers({
      speakers: ranking.speakers(),
      audioOrder: ranking.audioOrder(),
      levelless: (id) => levelless.has(id),
      publishers: [...this.participants.keys()],
    });
  }

  private policy(participantId: string): ViewPolicy {
    const policy = this.policies.get(participantId);
    if (!policy) throw new Error(`participant ${participantId} is not in meeting ${this.id}`);
    return policy;
  }

  private get(participantId: string): Participant {
    const p = this.participants.get(participantId);
    if (!p) throw new Error(`participant ${participantId} is not in meeting ${this.id}`);
    return p;
  }
}
