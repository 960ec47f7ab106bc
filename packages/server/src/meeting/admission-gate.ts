import type { LogSink } from '../logger.js';
import {
  credentialMismatch,
  fromBase64,
  readKeyPackage,
  toBase64,
  type KeyPackageInfo,
} from '@conclave/crypto';
import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessageOf,
  type MeetingInfo,
  type Role,
} from '@conclave/protocol';
import { networkKeyForIp } from '../meeting-store/client-key.js';
import type { AdmissionStore } from './admission-store.js';
import type { MeetingDirectory, Peer, RoomLimits, ServerBans } from './deps.js';
import { identityMarks, type Member } from './room-member.js';

/** Where a join may go: the outcome of every admission gate. */
export interface AdmissionDecision {
  /** The participant id a resume keeps (a fresh join gets a new one). */
  id: string | undefined;
  role: Role;
  state: Member['state'];
  previouslyRemoved: Member['previouslyRemoved'];
  /** base64 MLS signature key of the join's key package. */
  signatureKey: string | undefined;
  network: string;
  /** The connection this join replaces (a resume of a participant still connected). */
  replaces: Member | undefined;
}

/** What the gates read of their room. */
export interface GateRoom {
  readonly id: string;
  /** The meeting as it is now (settings change while it runs). */
  meeting(): MeetingInfo;
  members(): Member[];
  member(id: string): Member | undefined;
}

/**
 * The admission gates of one meeting (docs/architecture.md, "Threat model and limits"): the
 * credential check, bans and removal marks, resume tokens, the host link, lock, passcode
 * (with its lockout), the waiting room, capacity and the waiting-room caps.
 */
export class AdmissionGate {
  private lockoutAnnounced: { until: number; at: number } | undefined;

  constructor(
    private readonly room: GateRoom,
    private readonly deps: {
      store: MeetingDirectory;
      admission: AdmissionStore;
      limits: RoomLimits;
      logger: LogSink;
      serverBans?: ServerBans | undefined;
    },
  ) {}

  /**
   * Every way in passes the same gates, in this order (docs/architecture.md, "Admission"):
   * the key package's credential must be the joiner's own; a banned account, device or MLS
   * signature key is refused (in this meeting by its host; on the whole server by its
   * moderators, `serverBans`); a resume token puts the participant back where the host's last
   * decision left it (waiting room or meeting), never further; a host link makes the host;
   * everyone else passes lock, passcode and the waiting room. A participant removed earlier
   * (same account, device or signature key) or on the network of a banned one waits for a
   * fresh host decision, with a mark the host sees.
   */
  async decide(peer: Peer, msg: ClientMessageOf<'join'>): Promise<AdmissionDecision> {
    if (this.room.meeting().ended) throw new ProtocolError('meeting_ended', 'this meeting has ended');
    if (this.room.meeting().mode === 'e2ee' && !msg.keyPackage)
      throw new ProtocolError('bad_request', 'an E2EE meeting needs an MLS key package to join');
    const credential = msg.keyPackage ? await this.checkCredential(msg, msg.keyPackage) : undefined;
    // The moderators' bans hold in every meeting and on every way in, host link and resume included.
    if (credential && (await this.deps.serverBans?.keyBanned(credential.signatureKey)))
      throw new ProtocolError('key_banned', 'this device key was banned from this server by its moderators');
    const network = networkKeyForIp(peer.ip);
    const removals = await this.deps.admission.matchRemovals(
      this.room.id,
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
      const grant = await this.deps.admission.lookup(this.room.id, id, msg.resume.token);
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
      } else if (state === 'joined' && role === 'participant' && this.room.meeting().settings.locked) {
        // A lock is checked on every resume: a participant back after the host locked the
        // meeting waits for the host instead of walking in.
        state = 'waiting';
      }
    } else if (msg.hostSecret !== undefined) {
      if (!(await this.deps.store.checkHostSecret(this.room.id, msg.hostSecret))) {
        throw new ProtocolError('forbidden', 'the host link is not valid for this meeting');
      }
      role = 'host';
      state = 'joined';
    } else {
      refuseBanned();
      if (this.room.meeting().settings.locked)
        throw new ProtocolError('meeting_locked', 'the host has locked this meeting');
      if (this.room.meeting().settings.passcodeRequired) await this.checkPasscode(msg.passcode, peer.ip);
      state = this.room.meeting().settings.waitingRoom ? 'waiting' : 'joined';
      if (removedIdentity) {
        state = 'waiting';
        previouslyRemoved = 'identity';
      } else if (bannedNetwork) {
        state = 'waiting';
        previouslyRemoved = 'network';
      }
    }
    const old = id === undefined ? undefined : this.room.member(id);
    if (
      credential &&
      this.room.members().some((o) => o !== old && o.signatureKey === credential.signatureKey)
    )
      throw new ProtocolError(
        'duplicate_device',
        'this device is already in the meeting (another tab or window?): leave there first',
      );
    this.checkRoom(state, network, old);
    return {
      id,
      role,
      state,
      previouslyRemoved,
      signatureKey: credential?.signatureKey,
      network,
      replaces: old,
    };
  }

  /**
   * The name, device and account of the join must be the ones in its key package's credential
   * (what every member will see in the MLS roster), and the credential must not be the server's.
   */
  async checkCredential(
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
    const r = await this.deps.store.checkPasscode(this.room.id, passcode ?? '', ip);
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
    const lockout = await this.deps.store.passcodeLockout(this.room.id);
    if (!lockout) return;
    const now = Date.now();
    if (
      this.lockoutAnnounced &&
      this.lockoutAnnounced.until === lockout.until &&
      now - this.lockoutAnnounced.at < 30_000
    )
      return;
    this.lockoutAnnounced = { until: lockout.until, at: now };
    this.deps.logger.warn(
      { meetingId: this.room.id, failures: lockout.failures },
      'passcode entry locked out',
    );
    for (const p of this.room.members())
      if (p.state === 'joined' && p.role !== 'participant')
        p.peer.send({ v, type: 'passcode_lockout', until: lockout.until, failures: lockout.failures });
  }

  /** Capacity counts admitted participants; the waiting room has its own caps, per meeting and per network. */
  private checkRoom(state: Member['state'], network: string, replaced: Member | undefined): void {
    const others = this.room.members().filter((p) => p !== replaced);
    if (state === 'joined') {
      if (others.filter((p) => p.state === 'joined').length >= this.room.meeting().settings.maxParticipants)
        throw new ProtocolError(
          'meeting_full',
          `this meeting is full (${this.room.meeting().settings.maxParticipants} participants)`,
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
}
