import type { Participant } from '@conclave/protocol';

/**
 * The server's view of the meeting, as its signaling messages keep it: the participants (role,
 * mute flags, the signature key of their key package), the waiting room, and since when each
 * participant has been sending (for the "connecting" grace of `people()`).
 */
export class ServerRoster {
  private participants = new Map<string, Participant>();
  private waitingRoom = new Map<string, Participant>();
  private readonly sendingSince = new Map<string, number>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** A join's full list replaces everything known. */
  reset(list: Participant[]): void {
    this.participants.clear();
    this.sendingSince.clear();
    for (const p of list) this.upsert(p);
  }

  /** `participant_joined` / `participant_updated`. */
  upsert(p: Participant): void {
    const was = this.participants.get(p.id);
    if (!(p.audio || p.video)) this.sendingSince.delete(p.id);
    else if (!was || !(was.audio || was.video) || !this.sendingSince.has(p.id))
      this.sendingSince.set(p.id, this.now());
    this.participants.set(p.id, p);
  }

  remove(id: string): void {
    this.participants.delete(id);
    this.sendingSince.delete(id);
  }

  setWaiting(list: Participant[]): void {
    this.waitingRoom = new Map(list.map((p) => [p.id, p]));
  }

  list(): Participant[] {
    return [...this.participants.values()];
  }

  get(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  waiting(id: string): Participant | undefined {
    return this.waitingRoom.get(id);
  }

  /** When the participant last started sending audio or video (ms); undefined while it sends nothing. */
  sendingSinceOf(id: string): number | undefined {
    return this.sendingSince.get(id);
  }
}
