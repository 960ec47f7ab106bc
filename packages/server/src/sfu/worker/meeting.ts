import type { MediaKind, PcKind } from '../ipc.js';
import type { IceCandidate } from '@conclave/protocol';
import type { WorkerContext } from './context.js';
import { Participant } from './participant.js';

/** One meeting in a worker: who is in it, and who receives whose streams (everyone, everybody else's). */
export class Meeting {
  readonly participants = new Map<string, Participant>();

  constructor(
    readonly id: string,
    private readonly ctx: WorkerContext,
  ) {}

  join(participantId: string): void {
    if (this.participants.has(participantId)) throw new Error(`participant ${participantId} already joined`);
    const p = new Participant(this.id, participantId, this.ctx);
    this.participants.set(participantId, p);
    for (const other of this.participants.values()) {
      if (other === p) continue;
      for (const stream of other.published.values()) p.addForwarder(stream);
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

  setPreferredLayer(participantId: string, publisherId: string, rid: string | null): void {
    this.get(participantId).setPreferredLayer(publisherId, rid);
  }

  /** The participant's streams disappear from everybody's subscribe connection (renegotiated). */
  async leave(participantId: string): Promise<void> {
    const p = this.participants.get(participantId);
    if (!p) return;
    this.participants.delete(participantId);
    for (const stream of p.published.values()) {
      for (const other of this.participants.values()) other.removeForwarder(stream);
    }
    await p.close();
  }

  async close(): Promise<void> {
    const all = [...this.participants.values()];
    this.participants.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }

  get empty(): boolean {
    return this.participants.size === 0;
  }

  tick(windowMs: number): void {
    for (const p of this.participants.values()) for (const s of p.published.values()) s.tick(windowMs);
  }

  private get(participantId: string): Participant {
    const p = this.participants.get(participantId);
    if (!p) throw new Error(`participant ${participantId} is not in meeting ${this.id}`);
    return p;
  }
}
