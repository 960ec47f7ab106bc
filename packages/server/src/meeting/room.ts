import { randomBytes } from 'node:crypto';
import {
  credentialMismatch,
  fromBase64,
  readKeyPackage,
  toBase64,
  type ExternalSender,
  type KeyPackageInfo,
} from '@conclave/crypto';
import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessage,
  type ClientMessageOf,
  type MeetingInfo,
  type Participant,
  type Role,
  type ServerMessage,
} from '@conclave/protocol';
import { GroupCoordinator } from './group-coordinator.js';
import { networkKeyForIp } from '../meeting-store/client-key.js';
import type { AdmissionStore, RemovalMark } from './admission-store.js';
import type { HubLogger, MediaRouter, MeetingDirectory, Peer } from './deps.js';

export interface RoomTimings {
  /** Periodic rekey: an empty commit requested every this many ms (0 disables). */
  rekeyMs: number;
  /** A chosen committer that has not committed within this many ms is passed over. */
  commitTimeoutMs: number;
  /** How long members have to confirm a commit (group-coordinator.ts). */
  confirmTimeoutMs: number;
}

/** Per-meeting admission limits (settings in config.ts). */
export interface RoomLimits {
  /** Waiting-room entries of one meeting (apart from `maxParticipants`). */
  maxWaiting: number;
  /** Waiting-room entries of one meeting from one network. */
  maxWaitingPerNetwork: number;
  /** How long a dropped participant's resume token still works. */
  resumeMs: number;
}

interface Member {
  id: string;
  peer: Peer;
  displayName: string;
  role: Role;
  kind: 'user' | 'guest';
  userId: string | undefined;
  deviceId: string;
  /** base64 of the MLS signature key of the join's key package (bound into the resume token). */
  signatureKey: string | undefined;
  /** IPv4 /24 or IPv6 /64 of the connection. */
  network: string;
  /** Shown to hosts in the waiting room (see Participant.previouslyRemoved). */
  previouslyRemoved: 'identity' | 'network' | undefined;
  state: 'waiting' | 'joined';
  /** The key package it joined with (E2EE), handed to the group coordinator on admission. */
  keyPackage: string | undefined;
  joinedAt: number;
  audio: boolean;
  video: boolean;
  /** In the SFU session (false until joined, or while the SFU has no free media port). */
  media: boolean;
  /** A join to the SFU in flight. */
  mediaJoin?: Promise<boolean> | undefined;
}

type JoinMessage = ClientMessageOf<'join'>;

/** Whether a participant in role `a` may mute or remove one in role `b`. */
function outranks(a: Role, b: Role): boolean {
  return a === 'host' ? b !== 'host' : a === 'cohost' && b === 'participant';
}

/** The marks a removal records and a join is compared with. */
function identityMarks(
  who: { userId?: string | undefined; deviceId: string },
  signatureKey: string | undefined,
  network: string,
): RemovalMark[] {
  return [
    ...(who.userId ? [{ kind: 'user' as const, value: who.userId }] : []),
    { kind: 'device', value: who.deviceId },
    ...(signatureKey ? [{ kind: 'key' as const, value: signatureKey }] : []),
    { kind: 'network', value: network },
  ];
}

/**
 * One running meeting: who is connected, their roles, the waiting room, the MLS delivery
 * service and the SFU session. Every message of a room is handled in order through `enqueue`,
 * so the delivery service sees one handshake message at a time.
 */
export class Room {
  private readonly members = new Map<string, Member>();
  /** The meeting's MLS group (E2EE): who commits what, each commit checked on public data. */
  private readonly group: GroupCoordinator;
  private lockoutAnnounced: { until: number; at: number } | undefined;
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
      logger: HubLogger;
      externalSender: ExternalSender;
      admission: AdmissionStore;
      timings: RoomTimings;
      limits: RoomLimits;
      onEmpty: (room: Room) => void;
    },
  ) {
    this.group = new GroupCoordinator(
      {
        send: (id, msg) => this.members.get(id)?.peer.send(msg),
        broadcast: (msg, exceptId) => this.broadcast(msg, exceptId),
        mediaAccess: (id, allowed) => {
          const m = this.members.get(id);
          if (m?.media && deps.sfu) void deps.sfu.setReceiving(this.id, id, allowed).catch(() => undefined);
        },
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
   * Runs `fn` after every earlier task of this room; errors go to the peer that caused them.
   * With `lane: 'media'` the task is ordered only with the same peer's other media tasks:
   * SDP and ICE round trips to the SFU workers must not hold up the delivery service.
   */
  enqueue(
    peer: Peer | undefined,
    ref: string,
    fn: () => Promise<void> | void,
    lane: 'control' | 'media' = 'control',
  ): Promise<void> {
    const run = async () => {
      if (this.closed) return;
      try {
        await fn();
      } catch (e) {
        if (e instanceof ProtocolError) {
          peer?.send({ v, type: 'error', code: e.code, message: e.message, ref });
        } else {
          this.deps.logger.error({ err: e, meetingId: this.id, ref }, 'room task failed');
          peer?.send({
            v,
            type: 'error',
            code: 'internal_error',
            message: 'the server could not process this message',
            ref,
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

  /**
   * Every way in passes the same gates, in this order (docs/architecture.md, "Admission"):
   * the key package's credential must be the joiner's own; a banned account, device or MLS
   * signature key is refused; a resume token puts the participant back where the host's last
   * decision left it (waiting room or meeting), never further; a host link makes the host;
   * everyone else passes lock, passcode and the waiting room. A participant removed earlier
   * (same account, device or signature key) or on the network of a banned one waits for a
   * fresh host decision, with a mark the host sees.
   */
  async join(peer: Peer, msg: JoinMessage): Promise<string> {
    if (this.meeting.ended) throw new ProtocolError('meeting_ended', 'this meeting has ended');
    if (this.e2ee && !msg.keyPackage)
      throw new ProtocolError('bad_request', 'an E2EE meeting needs an MLS key package to join');
    const credential = msg.keyPackage ? await this.checkCredential(msg, msg.keyPackage) : undefined;
    const network = networkKeyForIp(peer.ip);
    const removals = await this.deps.admission.matchRemovals(
      this.id,
      identityMarks(msg, credential?.signatureKey, network),
    );
    const bannedIdentity = removals.some((r) => r.banned && r.kind !== 'network');
    const removedIdentity = removals.some((r) => r.kind !== 'network');
    const bannedNetwork = removals.some((r) => r.banned && r.kind === 'network');
    const refuseBanned = () => {
      if (bannedIdentity) throw new ProtocolError('denied', 'you were removed from this meeting by the host');
    };

    let role: Role = 'participant';
    let id: string | undefined;
    let state: Member['state'];
    let previouslyRemoved: Member['previouslyRemoved'];
    if (msg.resume) {
      id = msg.resume.participantId;
      const grant = await this.deps.admission.lookup(this.id, id, msg.resume.token);
      if (!grant)
        throw new ProtocolError(
          'resume_rejected',
          'the resume token expired or was revoked (left, denied, removed or meeting ended): join again',
        );
      if (
        grant.deviceId !== msg.deviceId ||
        grant.userId !== msg.userId ||
        (grant.signatureKey !== undefined && grant.signatureKey !== credential?.signatureKey)
      ) {
        throw new ProtocolError('resume_rejected', 'the resume token belongs to another device');
      }
      refuseBanned();
      role = grant.role;
      state = grant.state;
      if (removedIdentity) {
        state = 'waiting';
        previouslyRemoved = 'identity';
      } else if (state === 'joined' && role === 'participant' && this.meeting.settings.locked) {
        // A lock is checked on every resume: a participant back after the host locked the
        // meeting waits for the host instead of walking in.
        state = 'waiting';
      }
    } else if (msg.hostSecret !== undefined) {
      if (!(await this.deps.store.checkHostSecret(this.id, msg.hostSecret))) {
        throw new ProtocolError('forbidden', 'the host link is not valid for this meeting');
      }
      role = 'host';
      state = 'joined';
    } else {
      refuseBanned();
      if (this.meeting.settings.locked)
        throw new ProtocolError('meeting_locked', 'the host has locked this meeting');
      if (this.meeting.settings.passcodeRequired) await this.checkPasscode(msg.passcode, peer.ip);
      state = this.meeting.settings.waitingRoom ? 'waiting' : 'joined';
      if (removedIdentity) {
        state = 'waiting';
        previouslyRemoved = 'identity';
      } else if (bannedNetwork) {
        state = 'waiting';
        previouslyRemoved = 'network';
      }
    }
    const old = id === undefined ? undefined : this.members.get(id);
    if (
      credential &&
      [...this.members.values()].some((o) => o !== old && o.signatureKey === credential.signatureKey)
    )
      throw new ProtocolError(
        'duplicate_device',
        'this device is already in the meeting (another tab or window?): leave there first',
      );
    this.checkRoom(state, network, old);
    if (old) await this.depart(old, 'replaced', false); // the old connection is replaced
    id ??= randomBytes(9).toString('base64url');
    const member: Member = {
      id,
      peer,
      displayName: msg.displayName,
      role,
      kind: msg.userId ? 'user' : 'guest',
      userId: msg.userId,
      deviceId: msg.deviceId,
      signatureKey: credential?.signatureKey,
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
    if (state === 'waiting') {
      peer.send({
        v,
        type: 'waiting',
        participantId: id,
        resumeToken: await this.issueToken(member),
        meeting: this.meeting,
      });
      this.sendWaitingRoom();
    } else {
      await this.admit(member);
    }
    return id;
  }

  /**
   * The name, device and account of the join must be the ones in its key package's credential
   * (what every member will see in the MLS roster), and the credential must not be the server's.
   */
  private async checkCredential(
    claim: { displayName: string; deviceId: string; userId?: string | undefined },
    keyPackage: string,
  ): Promise<{ signatureKey: string }> {
    let info: KeyPackageInfo;
    try {
      info = await readKeyPackage(fromBase64(keyPackage));
    } catch (e) {
      throw new ProtocolError('bad_request', `the MLS key package is not valid: ${(e as Error).message}`);
    }
    const mismatch = credentialMismatch(info.identity, claim);
    if (mismatch)
      throw new ProtocolError(
        'credential_mismatch',
        `the key package ${mismatch}: join with the name, device and account of your key package`,
      );
    return { signatureKey: toBase64(info.signaturePublicKey) };
  }

  private async checkPasscode(passcode: string | undefined, ip: string): Promise<void> {
    const r = await this.deps.store.checkPasscode(this.id, passcode ?? '', ip);
    if (r === 'locked_out') {
      await this.announceLockout();
      throw new ProtocolError(
        'passcode_locked',
        'too many wrong passcodes were tried for this meeting: joining with the passcode is paused; ask the host',
      );
    }
    if (r === 'rate_limited')
      throw new ProtocolError(
        'rate_limited',
        'too many wrong passcodes from your network: wait a few minutes and try again',
      );
    if (r === 'wrong') {
      // This failure may be the one that locked the meeting: the hosts hear of it now.
      if (passcode) await this.announceLockout();
      throw new ProtocolError(
        'wrong_passcode',
        passcode ? 'the passcode is wrong' : 'this meeting needs a passcode',
      );
    }
  }

  /** Tells the hosts once per lockout (and again every 30 s while it holds and joins keep failing). */
  private async announceLockout(): Promise<void> {
    const lockout = await this.deps.store.passcodeLockout(this.id);
    if (!lockout) return;
    const now = Date.now();
    if (
      this.lockoutAnnounced &&
      this.lockoutAnnounced.until === lockout.until &&
      now - this.lockoutAnnounced.at < 30_000
    )
      return;
    this.lockoutAnnounced = { until: lockout.until, at: now };
    this.deps.logger.warn({ meetingId: this.id, failures: lockout.failures }, 'passcode entry locked out');
    for (const p of this.joined())
      if (p.role !== 'participant')
        p.peer.send({ v, type: 'passcode_lockout', until: lockout.until, failures: lockout.failures });
  }

  /** Capacity counts admitted participants; the waiting room has its own caps, per meeting and per network. */
  private checkRoom(state: Member['state'], network: string, replaced: Member | undefined): void {
    const others = [...this.members.values()].filter((p) => p !== replaced);
    if (state === 'joined') {
      if (others.filter((p) => p.state === 'joined').length >= this.meeting.settings.maxParticipants)
        throw new ProtocolError(
          'meeting_full',
          `this meeting is full (${this.meeting.settings.maxParticipants} participants)`,
        );
      return;
    }
    const waiting = others.filter((p) => p.state === 'waiting');
    if (waiting.length >= this.deps.limits.maxWaiting)
      throw new ProtocolError(
        'waiting_room_full',
        'the waiting room of this meeting is full: try again later',
      );
    if (waiting.filter((p) => p.network === network).length >= this.deps.limits.maxWaitingPerNetwork)
      throw new ProtocolError(
        'waiting_room_full',
        'too many people from your network are in this waiting room: try again later',
      );
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

  private async admit(m: Member): Promise<void> {
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
    await this.joinMedia(m);
  }

  /**
   * Puts the participant in the meeting's SFU session. With no free media port the
   * participant stays in the meeting (signaling, chat, MLS) and is told why it has no media;
   * its next offer tries again.
   */
  private joinMedia(m: Member): Promise<boolean> {
    // Admission (control lane) and a first offer (media lane) may ask at the same time: one join.
    m.mediaJoin ??= this.joinMediaOnce(m).finally(() => (m.mediaJoin = undefined));
    return m.mediaJoin;
  }

  private async joinMediaOnce(m: Member): Promise<boolean> {
    const sfu = this.deps.sfu;
    if (!sfu || m.media) return m.media;
    try {
      await sfu.join(this.id, m.id);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'media_capacity') {
        m.peer.send({
          v,
          type: 'error',
          code: 'media_capacity',
          message: (e as Error).message,
          ref: 'media',
        });
        return false;
      }
      throw e;
    }
    m.media = true;
    // Media reaches only admitted participants, and in E2EE meetings only members of the
    // MLS group (the coordinator opens it when the member confirms its Welcome).
    await sfu.setReceiving(this.id, m.id, !this.e2ee || this.group.inGroup(m.id));
    if (!m.audio) await sfu.setMuted(this.id, m.id, 'audio', true);
    return true;
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
        const { signatureKey } = await this.checkCredential(m, msg.keyPackage);
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
        this.broadcast({ v, type: 'chat', text: msg.text, from: m.id }, m.id);
        return;
      case 'media_offer': {
        const sfu = this.requireSfu();
        if (!(await this.joinMedia(m))) return;
        const sdp = await sfu.publishOffer(this.id, m.id, msg.sdp).catch((e: Error) => {
          throw new ProtocolError('media_error', `the SFU refused the offer: ${e.message}`);
        });
        m.peer.send({ v, type: 'media_answer', pc: 'publish', sdp });
        return;
      }
      case 'media_answer':
        if (!m.media) throw new ProtocolError('media_capacity', 'you have no media session on this server');
        await this.requireSfu()
          .subscribeAnswer(this.id, m.id, msg.sdp)
          .catch((e: Error) => {
            throw new ProtocolError('media_error', `the SFU refused the answer: ${e.message}`);
          });
        return;
      case 'ice':
        if (!m.media) return; // no media session (media_capacity was sent): nothing to connect
        await this.requireSfu()
          .addIceCandidate(this.id, m.id, msg.pc, msg.candidate)
          .catch((e: Error) => {
            throw new ProtocolError('media_error', `bad ICE candidate: ${e.message}`);
          });
        return;
      case 'media_state':
        // Policy: a host mute stops forwarding at the SFU, and the participant may unmute
        // themselves afterwards (as in common meeting products); removal is the hard stop.
        // The SFU follows the participant's own state either way.
        if (this.deps.sfu && m.media) {
          if (msg.audio !== m.audio) await this.deps.sfu.setMuted(this.id, m.id, 'audio', !msg.audio);
          if (msg.video !== m.video) await this.deps.sfu.setMuted(this.id, m.id, 'video', !msg.video);
        }
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
        return this.onHostAction(m, msg);
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
    if (this.deps.sfu && m.media) void this.deps.sfu.leave(this.id, m.id).catch(() => undefined);
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

  memberFor(peer: Peer): Member | undefined {
    for (const m of this.members.values()) if (m.peer === peer) return m;
    return undefined;
  }

  // ------------------------------------------------------------------ host controls

  private async onHostAction(
    m: Member,
    msg: ClientMessageOf<'admit' | 'deny' | 'remove' | 'mute' | 'mute_all' | 'set_role' | 'lock' | 'end'>,
  ): Promise<void> {
    if (m.role === 'participant')
      throw new ProtocolError('forbidden', 'only the host or a co-host can do this');
    if ((msg.type === 'end' || msg.type === 'set_role') && m.role !== 'host') {
      throw new ProtocolError('forbidden', 'only the host can do this');
    }
    switch (msg.type) {
      case 'admit': {
        const t = this.target(msg.participantId);
        if (t.state !== 'waiting')
          throw new ProtocolError('bad_request', 'that participant is not in the waiting room');
        await this.admit(t);
        this.sendWaitingRoom();
        return;
      }
      case 'deny': {
        const t = this.target(msg.participantId);
        if (t.state !== 'waiting')
          throw new ProtocolError('bad_request', 'that participant is not in the waiting room');
        t.peer.send({ v, type: 'denied', reason: 'the host did not let you in' });
        // A denied joiner who asks again waits for a fresh decision, marked for the host.
        await this.deps.admission.recordRemoval(this.id, this.marksOf(t, false), false);
        await this.depart(t, 'removed', false);
        t.peer.close(4003, 'denied');
        return;
      }
      case 'remove': {
        const t = this.target(msg.participantId);
        if (t.role === 'host') throw new ProtocolError('forbidden', 'the host cannot be removed');
        this.requireOutranks(m, t);
        // Recorded before the socket closes: the removed participant's next join finds it.
        await this.deps.admission.recordRemoval(this.id, this.marksOf(t, msg.ban), msg.ban);
        t.peer.send({ v, type: 'removed', reason: 'the host removed you from the meeting' });
        await this.depart(t, 'removed', true);
        t.peer.close(4003, 'removed');
        return;
      }
      case 'mute': {
        const t = this.target(msg.participantId);
        if (t !== m) this.requireOutranks(m, t);
        await this.mute(t, msg.kind, m);
        return;
      }
      case 'mute_all':
        for (const t of this.joined())
          if (t !== m && outranks(m.role, t.role)) await this.mute(t, msg.kind, m);
        return;
      case 'set_role': {
        const t = this.target(msg.participantId);
        if (t.role === 'host') throw new ProtocolError('forbidden', 'the host keeps the host role');
        t.role = msg.role;
        await this.deps.admission.update(this.id, t.id, { role: t.role });
        if (this.e2ee && t.state === 'joined') this.group.roleChanged(t.id, t.role);
        this.broadcast({ v, type: 'participant_updated', participant: this.describe(t) });
        return;
      }
      case 'lock': {
        // The store tells the hub, which calls applySettings: everyone hears of the lock.
        await this.deps.store.update(this.id, { v, locked: msg.locked });
        return;
      }
      case 'end':
        await this.end();
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
    await this.deps.sfu?.setMuted(this.id, t.id, kind, true);
    if (kind === 'audio') t.audio = false;
    else t.video = false;
    t.peer.send({ v, type: 'muted', kind, by: by.id });
    this.broadcast({ v, type: 'participant_updated', participant: this.describe(t) });
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
    await this.deps.sfu?.closeMeeting(this.id).catch(() => undefined);
  }

  // ------------------------------------------------------------------ helpers

  /** Delivers an SFU event to a participant. */
  sendTo(participantId: string, msg: ServerMessage): void {
    this.members.get(participantId)?.peer.send(msg);
  }

  /** A removal records account, device and signature key; a ban also the network (as a mark for the host). */
  private marksOf(t: Member, withNetwork: boolean): RemovalMark[] {
    return identityMarks(t, t.signatureKey, t.network).filter((mk) => withNetwork || mk.kind !== 'network');
  }

  private target(id: string): Member {
    const t = this.members.get(id);
    if (!t) throw new ProtocolError('unknown_participant', 'no such participant in this meeting');
    return t;
  }

  private requireE2ee(): void {
    if (!this.e2ee)
      throw new ProtocolError('not_e2ee', 'this is a standard-mode meeting: there is no MLS group');
  }

  private requireSfu(): MediaRouter {
    if (!this.deps.sfu) throw new ProtocolError('media_error', 'this server runs without media');
    return this.deps.sfu;
  }

  private joined(): Member[] {
    return [...this.members.values()].filter((p) => p.state === 'joined');
  }

  private broadcast(msg: ServerMessage, exceptId?: string): void {
    for (const p of this.joined()) if (p.id !== exceptId) p.peer.send(msg);
  }

  private sendWaitingRoom(): void {
    const waiting = [...this.members.values()]
      .filter((p) => p.state === 'waiting')
      .map((p) => this.describe(p));
    for (const p of this.joined())
      if (p.role !== 'participant') p.peer.send({ v, type: 'waiting_room', waiting });
  }

  private describe(p: Member): Participant {
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
