import type { LogSink } from '../logger.js';
import { randomBytes } from 'node:crypto';
import { toBase64, type ExternalSender } from '@conclave/crypto';
import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessage,
  type ClientMessageOf,
  type MeetingInfo,
  type Participant,
  type ServerMessage,
  type StreamInfo,
} from '@conclave/protocol';
import { AdmissionGate } from './admission-gate.js';
import { GroupCoordinator } from './group-coordinator.js';
import { HostControls } from './host-controls.js';
import { RoomMedia } from './room-media.js';
import type { AdmissionStore } from './admission-store.js';
import type {
  ChatSeal,
  MediaRouter,
  MeetingDirectory,
  Peer,
  RoomLimits,
  RoomTimings,
  ServerBans,
} from './deps.js';
import type { Member } from './room-member.js';

/**
 * One running meeting: who is connected, their roles, the waiting room, the MLS delivery
 * service and the SFU session. Every message of a room is handled in order through `enqueue`,
 * so the delivery service sees one handshake message at a time.
 */
export class Room {
  private readonly members = new Map<string, Member>();
  /** The meeting's MLS group (E2EE): who commits what, each commit checked on public data. */
  private readonly group: GroupCoordinator;
  private readonly gate: AdmissionGate;
  private readonly hostControls: HostControls;
  /** The meeting's SFU session. */
  private readonly media: RoomMedia;
  private readonly timers = new Set<NodeJS.Timeout>();
  private queue: Promise<void> = Promise.resolve();
  private readonly mediaQueues = new Map<Peer, Promise<void>>();
  private closed = false;
  private ending = false;

  constructor(
    public meeting: MeetingInfo,
    private readonly deps: {
      store: MeetingDirectory;
      sfu: MediaRouter | undefined;
      logger: LogSink;
      externalSender: ExternalSender;
      admission: AdmissionStore;
      timings: RoomTimings;
      limits: RoomLimits;
      serverBans?: ServerBans | undefined;
      chatSeal?: ChatSeal | undefined;
      onEmpty: (room: Room) => void;
    },
  ) {
    this.group = new GroupCoordinator(
      {
        send: (id, msg) => this.members.get(id)?.peer.send(msg),
        broadcast: (msg, exceptId) => this.broadcast(msg, exceptId),
        mediaAccess: (id, allowed) => this.media.setReceiving(this.members.get(id), allowed),
        expel: (id, reason) =>
          void this.enqueue(undefined, 'expel', async () => {
            const m = this.members.get(id);
            if (!m) return;
            m.peer.send({ v, type: 'error', code: 'group_violation', message: reason });
            await this.depart(m, 'removed', true);
            m.peer.close(4003, 'group violation');
          }),
        timer: (ms, fn) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            void this.enqueue(undefined, 'group_timer', fn);
          }, ms);
          t.unref();
          this.timers.add(t);
          return {
            cancel: () => {
              clearTimeout(t);
              this.timers.delete(t);
            },
          };
        },
        logger: deps.logger,
      },
      deps.externalSender,
      deps.timings,
      meeting.id,
    );
    this.media = new RoomMedia({
      meetingId: meeting.id,
      sfu: deps.sfu,
      logger: deps.logger,
      mayReceive: (m) => !this.e2ee || this.group.inGroup(m.id),
      current: (m) => !this.closed && this.members.get(m.id) === m,
    });
    this.gate = new AdmissionGate(
      {
        id: meeting.id,
        meeting: () => this.meeting,
        members: () => [...this.members.values()],
        member: (id) => this.members.get(id),
      },
      deps,
    );
    this.hostControls = new HostControls(
      {
        id: meeting.id,
        target: (id) => this.target(id),
        joined: () => this.joined(),
        admit: (m) => this.admit(m),
        depart: (m, reason, notify) => this.depart(m, reason, notify),
        end: () => this.end(),
        sendWaitingRoom: () => this.sendWaitingRoom(),
        broadcast: (msg, except) => this.broadcast(msg, except),
        describe: (m) => this.describe(m),
        roleChanged: (id, role) => {
          if (this.e2ee) this.group.roleChanged(id, role);
        },
        stopForwarding: (t, kind) =>
          this.media.setMuted(t, kind === 'audio' ? false : t.audio, kind === 'video' ? false : t.video),
      },
      deps,
    );
  }

  get id(): string {
    return this.meeting.id;
  }

  get e2ee(): boolean {
    return this.meeting.mode === 'e2ee';
  }

  get size(): number {
    return this.members.size;
  }

  /**
   * Runs `fn` after every earlier task of this room; errors go to the peer that caused them,
   * with `ref` = the cause's type and the request id of the client message that caused them.
   * With `lane: 'media'` the task is ordered only with the same peer's other media tasks:
   * SDP and ICE round trips to the SFU workers must not hold up the delivery service.
   */
  enqueue(
    peer: Peer | undefined,
    cause: string | { type: string; rid?: string },
    fn: () => Promise<void> | void,
    lane: 'control' | 'media' = 'control',
  ): Promise<void> {
    const { type: ref, rid } = typeof cause === 'string' ? { type: cause, rid: undefined } : cause;
    const run = async () => {
      if (this.closed) return;
      try {
        await fn();
      } catch (e) {
        if (e instanceof ProtocolError) {
          peer?.send({ v, type: 'error', code: e.code, message: e.message, ref, rid });
        } else {
          this.deps.logger.error({ err: e, meetingId: this.id, ref }, 'room task failed');
          peer?.send({
            v,
            type: 'error',
            code: 'internal_error',
            message: 'the server could not process this message',
            ref,
            rid,
          });
        }
      }
    };
    if (lane === 'media' && peer) {
      const next = (this.mediaQueues.get(peer) ?? Promise.resolve()).then(run);
      this.mediaQueues.set(peer, next);
      void next.then(() => {
        if (this.mediaQueues.get(peer) === next) this.mediaQueues.delete(peer);
      });
      return next;
    }
    this.queue = this.queue.then(run);
    return this.queue;
  }

  // ------------------------------------------------------------------ joining

  /** Admits a join through every gate (admission-gate.ts); returns the participant id. */
  async join(peer: Peer, msg: ClientMessageOf<'join'>): Promise<string> {
    const decision = await this.gate.decide(peer, msg);
    const { role, state, previouslyRemoved, network } = decision;
    if (decision.replaces) await this.depart(decision.replaces, 'replaced', false); // the old connection is replaced
    const id = decision.id ?? randomBytes(9).toString('base64url');
    const member: Member = {
      id,
      peer,
      displayName: msg.displayName,
      role,
      kind: msg.userId ? 'user' : 'guest',
      userId: msg.userId,
      deviceId: msg.deviceId,
      signatureKey: decision.signatureKey,
      network,
      previouslyRemoved,
      state: 'waiting',
      keyPackage: msg.keyPackage,
      joinedAt: Date.now(),
      audio: !this.meeting.settings.muteOnEntry,
      video: true,
      media: false,
    };
    this.members.set(id, member);
    if (msg.view) this.media.initialView(member, msg.view);
    if (state === 'waiting') {
      peer.send({
        v,
        type: 'waiting',
        rid: msg.rid,
        participantId: id,
        resumeToken: await this.issueToken(member),
        meeting: this.meeting,
      });
      this.sendWaitingRoom();
    } else {
      await this.admit(member, msg.rid);
    }
    return id;
  }

  private issueToken(m: Member): Promise<string> {
    return this.deps.admission.issue(this.id, {
      participantId: m.id,
      state: m.state,
      role: m.role,
      deviceId: m.deviceId,
      userId: m.userId,
      signatureKey: m.signatureKey,
      displayName: m.displayName,
    });
  }

  /** `rid`: the join's request id, when `joined` answers the join itself (not a host's admit). */
  async admit(m: Member, rid?: string): Promise<void> {
    m.state = 'joined';
    m.previouslyRemoved = undefined;
    const createGroup =
      this.e2ee &&
      this.group.admitted(
        {
          id: m.id,
          role: m.role,
          displayName: m.displayName,
          deviceId: m.deviceId,
          userId: m.userId,
          signatureKey: m.signatureKey!,
          joinedAt: m.joinedAt,
        },
        m.keyPackage!,
      );
    // A new token for the new state: the waiting-room token stops working.
    const resumeToken = await this.issueToken(m);
    m.peer.send({
      v,
      type: 'joined',
      rid,
      participantId: m.id,
      resumeToken,
      role: m.role,
      meeting: this.meeting,
      participants: this.joined().map((p) => this.describe(p)),
      serverKey: this.e2ee ? toBase64(this.deps.externalSender.publicKey) : undefined,
      group: this.group.info,
      createGroup,
    });
    this.broadcast({ v, type: 'participant_joined', participant: this.describe(m) }, m.id);
    // Beside the room's queue, not in it: a busy SFU worker must not hold up the meeting's MLS
    // group (the next joiner's add, every confirmation). Its first media_offer waits for it.
    void this.media
      .join(m)
      .catch((e: unknown) =>
        this.deps.logger.error({ err: e, meetingId: this.id, participantId: m.id }, 'media join failed'),
      );
  }

  /** One participant's connection with the SFU failed: its media restarts (room-media.ts). */
  /** The SFU's subscribe offer for a participant (room-media.ts tags it with its session). */
  subscribeOffer(participantId: string, sdp: string, streams: StreamInfo[]): void {
    const m = this.members.get(participantId);
    if (m && !this.closed) this.media.subscribeOffer(m, sdp, streams);
  }

  mediaFailed(participantId: string): void {
    const m = this.members.get(participantId);
    if (m?.state === 'joined' && !this.closed) this.media.connectionFailed(m);
  }

  /** The meeting's SFU worker died: media restarts for everyone (room-media.ts). */
  mediaLost(): void {
    if (!this.closed) this.media.lost(this.joined());
  }

  // ------------------------------------------------------------------ messages

  async handle(m: Member | undefined, peer: Peer, msg: ClientMessage): Promise<void> {
    if (!m || m.peer !== peer) throw new ProtocolError('not_joined', 'join the meeting first');
    if (msg.type === 'leave') {
      await this.depart(m, 'left', true);
      m.peer.close(1000, 'left');
      return;
    }
    if (m.state !== 'joined') throw new ProtocolError('forbidden', 'you are in the waiting room');
    switch (msg.type) {
      case 'group_create':
        this.requireE2ee();
        return this.group.groupCreate(m.id, msg);
      case 'commit':
        this.requireE2ee();
        return this.group.commit(m.id, msg);
      case 'commit_result':
        this.requireE2ee();
        return this.group.commitResult(m.id, msg);
      case 'key_package': {
        const { signatureKey } = await this.gate.checkCredential(m, msg.keyPackage);
        if (m.signatureKey !== undefined && signatureKey !== m.signatureKey)
          throw new ProtocolError(
            'credential_mismatch',
            'a new key package must carry the signature key this participant joined with',
          );
        this.requireE2ee();
        this.group.keyPackage(m.id, msg.keyPackage);
        return;
      }
      case 'app':
        this.requireE2ee();
        this.group.relayApplication(m.id, msg);
        return;
      case 'chat':
        if (this.e2ee)
          throw new ProtocolError('forbidden', 'chat in an E2EE meeting must be an MLS application message');
        return this.relayChat(m, msg.text);
      case 'media_offer':
      case 'media_answer':
      case 'ice':
        return this.media.handle(m, msg);
      case 'media_view':
        return this.media.setView(m, msg);
      case 'media_failed':
        // The client's word only moves its own session: the same limit as the SFU's reports.
        return this.media.connectionFailed(m);
      case 'media_state':
        await this.media.setMuted(m, msg.audio, msg.video);
        m.audio = msg.audio;
        m.video = msg.video;
        this.broadcast({ v, type: 'participant_updated', participant: this.describe(m) });
        return;
      case 'admit':
      case 'deny':
      case 'remove':
      case 'mute':
      case 'mute_all':
      case 'set_role':
      case 'lock':
      case 'end':
        return this.hostControls.handle(m, msg);
      case 'join':
        throw new ProtocolError('bad_request', 'already joined');
      case 'ping':
        return;
    }
  }

  // ------------------------------------------------------------------ leaving

  /**
   * Takes a participant out of the meeting; its leaf is proposed for removal from the group.
   * Its resume token: revoked when it left or was removed (deny, remove); kept for
   * `resumeMs` when its connection dropped; untouched when a resume replaces the connection.
   */
  async depart(
    m: Member,
    reason: 'left' | 'dropped' | 'removed' | 'replaced',
    notify: boolean,
  ): Promise<void> {
    if (this.members.get(m.id) !== m) return;
    this.members.delete(m.id);
    this.media.leave(m);
    if (m.state === 'waiting') {
      this.sendWaitingRoom();
    } else if (notify && reason !== 'replaced') {
      this.broadcast({ v, type: 'participant_left', participantId: m.id, reason });
    }
    // Its leaf (if any) is proposed for removal; with nobody left in the group, a new one is made.
    if (this.e2ee) this.group.departed(m.id);
    if (reason === 'dropped') await this.deps.admission.expireAfter(this.id, m.id, this.deps.limits.resumeMs);
    else if (reason !== 'replaced') await this.deps.admission.revoke(this.id, m.id);
    if (this.members.size === 0) this.deps.onEmpty(this);
  }

  /** Called by the hub when a socket closes. */
  async disconnected(peer: Peer): Promise<void> {
    for (const m of this.members.values()) {
      if (m.peer === peer) {
        await this.depart(m, 'dropped', true);
        return;
      }
    }
  }

  /** A standard meeting's chat, to everyone else, with the time and the server's seal (report evidence: reports/chat-seal.ts). */
  private relayChat(m: Member, text: string): void {
    const sentAt = Date.now();
    const seal = this.deps.chatSeal?.seal({ meetingId: this.id, from: m.id, text, sentAt });
    this.broadcast(
      { v, type: 'chat', text, from: m.id, sentAt, ...(seal === undefined ? {} : { seal }) },
      m.id,
    );
  }

  memberFor(peer: Peer): Member | undefined {
    for (const m of this.members.values()) if (m.peer === peer) return m;
    return undefined;
  }

  /** Every participant, waiting or joined (the server's moderation checks them: hub.ts `participants`). */
  everyone(): readonly Member[] {
    return [...this.members.values()];
  }

  /**
   * The server's moderators took this participant out (its account suspended or banned, its key
   * banned): it is told why, leaves like a removed participant (resume token revoked) and its
   * connection closes. Nothing when it has gone already.
   */
  expel(participantId: string, reason: string): Promise<void> {
    return this.enqueue(undefined, 'moderation', async () => {
      const m = this.members.get(participantId);
      if (!m) return;
      m.peer.send({ v, type: 'removed', reason });
      await this.depart(m, 'removed', true);
      m.peer.close(4003, 'removed by the moderators');
    });
  }

  /** New settings from the store: every participant hears about them. */
  applySettings(meeting: MeetingInfo): void {
    this.meeting = meeting;
    this.broadcast({ v, type: 'meeting_updated', meeting });
  }

  async end(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    await this.deps.store.end(this.id);
    this.meeting = { ...this.meeting, ended: true };
    for (const p of [...this.members.values()]) {
      p.peer.send({ v, type: 'meeting_ended' });
      p.peer.close(1000, 'meeting ended');
    }
    this.members.clear();
    await this.deps.admission.forgetMeeting(this.id);
    await this.close();
    this.deps.onEmpty(this);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.group.close();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.media.close();
  }

  // ------------------------------------------------------------------ helpers

  /** Delivers an SFU event to a participant. */
  sendTo(participantId: string, msg: ServerMessage): void {
    this.members.get(participantId)?.peer.send(msg);
  }

  target(id: string): Member {
    const t = this.members.get(id);
    if (!t) throw new ProtocolError('unknown_participant', 'no such participant in this meeting');
    return t;
  }

  private requireE2ee(): void {
    if (!this.e2ee)
      throw new ProtocolError('not_e2ee', 'this is a standard-mode meeting: there is no MLS group');
  }

  joined(): Member[] {
    return [...this.members.values()].filter((p) => p.state === 'joined');
  }

  broadcast(msg: ServerMessage, exceptId?: string): void {
    for (const p of this.joined()) if (p.id !== exceptId) p.peer.send(msg);
  }

  sendWaitingRoom(): void {
    const waiting = [...this.members.values()]
      .filter((p) => p.state === 'waiting')
      .map((p) => this.describe(p));
    for (const p of this.joined())
      if (p.role !== 'participant') p.peer.send({ v, type: 'waiting_room', waiting });
  }

  describe(p: Member): Participant {
    return {
      id: p.id,
      displayName: p.displayName,
      role: p.role,
      kind: p.kind,
      userId: p.userId,
      deviceId: p.deviceId,
      state: p.state,
      inGroup: this.group.inGroup(p.id),
      signatureKey: p.signatureKey,
      audio: p.audio,
      video: p.video,
      previouslyRemoved: p.previouslyRemoved,
    };
  }
}
