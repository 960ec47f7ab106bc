import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessageOf,
  type Participant,
  type Role,
  type ServerMessage,
} from '@conclave/protocol';
import type { AdmissionStore, RemovalMark } from './admission-store.js';
import type { MeetingDirectory } from './deps.js';
import { identityMarks, outranks, type Member } from './room-member.js';

type HostAction = ClientMessageOf<
  'admit' | 'deny' | 'remove' | 'mute' | 'mute_all' | 'set_role' | 'lock' | 'end'
>;

/** What host controls do to their room. */
export interface HostRoom {
  readonly id: string;
  target(id: string): Member;
  joined(): Member[];
  admit(m: Member): Promise<void>;
  depart(m: Member, reason: 'left' | 'dropped' | 'removed' | 'replaced', notify: boolean): Promise<void>;
  end(): Promise<void>;
  sendWaitingRoom(): void;
  broadcast(msg: ServerMessage, exceptId?: string): void;
  describe(m: Member): Participant;
  /** A role changed: the MLS group's roles follow (E2EE). */
  roleChanged(id: string, role: Role): void;
  /** The SFU stops forwarding the participant's `kind` (room-media.ts). */
  stopForwarding(m: Member, kind: 'audio' | 'video'): Promise<void>;
}

/**
 * Host and co-host actions: admit, deny, remove (and ban), mute, mute all, roles, lock, end.
 * Role policy (docs/architecture.md, "Roles"): the host acts on everyone; a co-host acts on
 * participants only; only the host changes roles and ends the meeting.
 */
export class HostControls {
  constructor(
    private readonly room: HostRoom,
    private readonly deps: {
      store: MeetingDirectory;
      admission: AdmissionStore;
    },
  ) {}

  async handle(m: Member, msg: HostAction): Promise<void> {
    if (m.role === 'participant')
      throw new ProtocolError('forbidden', 'only the host or a co-host can do this');
    if ((msg.type === 'end' || msg.type === 'set_role') && m.role !== 'host') {
      throw new ProtocolError('forbidden', 'only the host can do this');
    }
    switch (msg.type) {
      case 'admit': {
        const t = this.room.target(msg.participantId);
        if (t.state !== 'waiting')
          throw new ProtocolError('bad_request', 'that participant is not in the waiting room');
        await this.room.admit(t);
        this.room.sendWaitingRoom();
        return;
      }
      case 'deny': {
        const t = this.room.target(msg.participantId);
        if (t.state !== 'waiting')
          throw new ProtocolError('bad_request', 'that participant is not in the waiting room');
        t.peer.send({ v, type: 'denied', reason: 'the host did not let you in' });
        // A denied joiner who asks again waits for a fresh decision, marked for the host.
        await this.deps.admission.recordRemoval(this.room.id, this.marksOf(t, false), false);
        await this.room.depart(t, 'removed', false);
        t.peer.close(4003, 'denied');
        return;
      }
      case 'remove': {
        const t = this.room.target(msg.participantId);
        if (t.role === 'host') throw new ProtocolError('forbidden', 'the host cannot be removed');
        this.requireOutranks(m, t);
        // Recorded before the socket closes: the removed participant's next join finds it.
        await this.deps.admission.recordRemoval(this.room.id, this.marksOf(t, msg.ban), msg.ban);
        t.peer.send({ v, type: 'removed', reason: 'the host removed you from the meeting' });
        await this.room.depart(t, 'removed', true);
        t.peer.close(4003, 'removed');
        return;
      }
      case 'mute': {
        const t = this.room.target(msg.participantId);
        if (t !== m) this.requireOutranks(m, t);
        await this.mute(t, msg.kind, m);
        return;
      }
      case 'mute_all':
        for (const t of this.room.joined())
          if (t !== m && outranks(m.role, t.role)) await this.mute(t, msg.kind, m);
        return;
      case 'set_role': {
        const t = this.room.target(msg.participantId);
        if (t.role === 'host') throw new ProtocolError('forbidden', 'the host keeps the host role');
        t.role = msg.role;
        await this.deps.admission.update(this.room.id, t.id, { role: t.role });
        if (t.state === 'joined') this.room.roleChanged(t.id, t.role);
        this.room.broadcast({ v, type: 'participant_updated', participant: this.room.describe(t) });
        return;
      }
      case 'lock': {
        // The store tells the hub, which calls applySettings: everyone hears of the lock.
        await this.deps.store.update(this.room.id, { v, locked: msg.locked });
        return;
      }
      case 'end':
        await this.room.end();
        return;
    }
  }

  /**
   * Role policy (docs/architecture.md, "Roles"): the host acts on everyone; a co-host acts on
   * participants only (it cannot mute or remove the host or another co-host).
   */
  private requireOutranks(actor: Member, t: Member): void {
    if (!outranks(actor.role, t.role))
      throw new ProtocolError(
        'forbidden',
        'a co-host can only act on participants, not on the host or other co-hosts',
      );
  }

  /** The SFU stops forwarding `kind` from `t`; `t` and everyone else are told. */
  private async mute(t: Member, kind: 'audio' | 'video', by: Member): Promise<void> {
    await this.room.stopForwarding(t, kind);
    if (kind === 'audio') t.audio = false;
    else t.video = false;
    t.peer.send({ v, type: 'muted', kind, by: by.id });
    this.room.broadcast({ v, type: 'participant_updated', participant: this.room.describe(t) });
  }

  /** A removal records account, device and signature key; a ban also the network (as a mark for the host). */
  private marksOf(t: Member, withNetwork: boolean): RemovalMark[] {
    return identityMarks(t, t.signatureKey, t.network).filter((mk) => withNetwork || mk.kind !== 'network');
  }
}
