import {
  MlsDevice,
  LEAF_SIGNATURE_LABELS,
  MlsSession,
  MlsSessionError,
  credentialMismatch,
  fromBase64,
  readMlsFraming,
  readKeyPackage,
  sameRoles,
  toBase64,
  type ChatSignatureEvidence,
  type GroupMember,
  type GroupRoles,
  type KeyDirectoryHook,
  type MembershipProof,
  type PendingCommit,
} from '@conclave/crypto';
import {
  e2eeAppPayloadSchema,
  type E2eeAppPayload,
  type Joiner,
  type Role,
  type ServerMessage,
  type ServerMessageOf,
} from '@conclave/protocol';
import { Emitter } from './emitter.js';
import type { MediaKeySink } from './key-sink.js';
import type { SignalingConnection } from './signaling.js';

export interface ChatMessage {
  /** This client's id for the message (reports name the messages they attach by it). */
  id: string;
  /** The sender as the MLS group proves it (signature checked), not as the server claims. */
  sender: GroupMember;
  text: string;
  sentAt: number;
  /** The epoch it was sent in, and what its sender signed: a report's verifiable evidence. */
  epoch: bigint;
  evidence: ChatSignatureEvidence;
}

/** A frame attestation another member sent (its MLS signature and sender already checked). */
export interface ReceivedAttestation {
  sender: GroupMember;
  epoch: bigint;
  body: Uint8Array;
  signature: Uint8Array;
}

/** Whether this member's group is one it can vouch for (what the E2EE badge must show). */
export type GroupHealth =
  /** In the group, nothing pending. */
  | 'ok'
  /** A participant left but its leaf is still in the group: it could still decrypt. */
  | 'departed_member_present'
  /** This member could not process a commit: it waits for the server to bring it back in. */
  | 'out_of_sync';

/** An add or remove, as the MLS group shows it (the committer is who signed the commit). */
export interface MembershipChange {
  epoch: bigint;
  by: GroupMember;
  added: GroupMember[];
  /** Removed members, and whether the server proposed it (a departure) or the committer did. */
  removed: GroupMember[];
}

type E2eeEvents = {
  epoch: (epoch: bigint, code: string) => void;
  roster: (members: GroupMember[]) => void;
  membership: (change: MembershipChange) => void;
  health: (health: GroupHealth) => void;
  chat: (msg: ChatMessage) => void;
  attestation: (a: ReceivedAttestation) => void;
  removed: () => void;
  warning: (message: string) => void;
};

/**
 * Why a joiner the server announced must not be added, or undefined: its key package must
 * verify and name the joiner that was announced (and that the host admitted) — the name
 * everyone will then see in the roster — and must not carry the server's credential.
 */
async function joinerMismatch(j: Joiner, expectedKey: string | undefined): Promise<string | undefined> {
  try {
    const kp = await readKeyPackage(fromBase64(j.keyPackage));
    const reason = credentialMismatch(kp.identity, j);
    if (!reason && expectedKey !== undefined && toBase64(kp.signaturePublicKey) !== expectedKey)
      return 'its key package is not from the device you admitted';
    return reason && `its key package ${reason}`;
  } catch (e) {
    return `invalid key package (${(e as Error).message})`;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The client's MLS membership in a meeting: creates or joins the group, commits what the
 * delivery service asks it to (adds, the server's Remove proposals, rekeys, roles), checks every
 * commit it receives against the group policy (commit-policy.ts) before applying it, answers
 * each with `commit_result`, and feeds every new epoch's SFrame base key to the key sink (its only destination).
 * All handling is serialized: one server message at a time.
 */
export class E2eeMember extends Emitter<E2eeEvents> {
  private session: MlsSession | undefined;
  private inFlight: PendingCommit | undefined;
  /** The request id of the in-flight commit: the server's answers (error, commit_accepted) carry it. */
  private inFlightRid: string | undefined;
  /** A request to commit that came while a commit of ours was in flight: handled once it is settled. */
  private deferred: ServerMessageOf<'add_request' | 'rekey_request' | 'roles_request'> | undefined;
  /**
   * The epoch in which the server asked us to commit its Remove proposals while a commit of
   * ours was in flight: committed once that one is refused (the server asks for the removal
   * first, so it refuses an add that crossed it).
   */
  private proposalsToCommit: bigint | undefined;
  private serverKey: Uint8Array | undefined;
  private participantId = '';
  private serverRole: Role = 'participant';
  private securityCodeValue: string | undefined;
  private membershipCodeValue: string | undefined;
  /** Leaves the server proposed removing (a participant left), until a commit removes them. */
  private readonly departedLeaves = new Map<number, number>();
  private outOfSync = false;
  private healthValue: GroupHealth = 'ok';
  private healthTimer: ReturnType<typeof setTimeout> | undefined;
  /** Signature keys this client admitted from the waiting room, by participant id. */
  private readonly admittedKeys = new Map<string, string>();
  /** Role changes this host asked for (signature key → role), applied at the next roles commit. */
  private readonly roleIntents = new Map<string, 'cohost' | 'participant'>();

  constructor(
    readonly device: MlsDevice,
    private readonly keys: MediaKeySink,
    private readonly signaling: () => SignalingConnection | undefined,
    private readonly opts: {
      directory?: KeyDirectoryHook;
      /**
       * The key holder's own admission decision for each joiner the server announces (default:
       * accept). A refused joiner may be in the meeting but never gets the group's keys.
       */
      admit?: (joiner: Joiner) => boolean;
      /** How long a departed member's leaf may stay before `health` says so (default 2 s). */
      departureGraceMs?: number;
    } = {},
  ) {
    super();
  }

  get epoch(): bigint | undefined {
    return this.session?.active ? this.session.epoch : undefined;
  }

  get securityCode(): string | undefined {
    return this.session?.active ? this.securityCodeValue : undefined;
  }

  /** The membership code (changes only when members are added or removed). */
  get membershipCode(): string | undefined {
    return this.session?.active ? this.membershipCodeValue : undefined;
  }

  get ownLeafIndex(): number | undefined {
    return this.session?.active ? this.session.ownLeafIndex : undefined;
  }

  get health(): GroupHealth {
    return this.healthValue;
  }

  /** The roster, read from the MLS group's leaves. */
  roster(): GroupMember[] {
    return this.session?.active ? this.session.members() : [];
  }

  /** Host and co-hosts as the group itself lists them (signature keys, base64). */
  roles(): GroupRoles | undefined {
    return this.session?.active ? this.session.roles() : undefined;
  }

  async freshKeyPackage(): Promise<string> {
    return toBase64(await this.device.createKeyPackage());
  }

  /** This participant's role at the server (the host commits the group's roles). */
  setServerRole(role: Role): void {
    this.serverRole = role;
  }

  /** This client admitted `participantId`, shown with this signature key: only that key is added. */
  expectKey(participantId: string, signatureKey: string): void {
    this.admittedKeys.set(participantId, signatureKey);
  }

  /** The host asked the server to change a participant's role: the next roles commit writes it. */
  intendRole(signatureKey: string, role: 'cohost' | 'participant'): void {
    this.roleIntents.set(signatureKey, role);
  }

  /** Drops the group state and all media keys (left, removed, or the server lost the group). */
  reset(): void {
    this.session = undefined;
    this.inFlight = undefined;
    this.deferred = undefined;
    this.proposalsToCommit = undefined;
    this.securityCodeValue = undefined;
    this.membershipCodeValue = undefined;
    this.departedLeaves.clear();
    this.outOfSync = false;
    this.updateHealth();
    this.keys.forget();
  }

  async onJoined(msg: ServerMessageOf<'joined'>): Promise<void> {
    this.participantId = msg.participantId;
    this.serverRole = msg.role;
    this.serverKey = msg.serverKey ? fromBase64(msg.serverKey) : undefined;
    this.reset();
    if (msg.createGroup) await this.createGroup();
  }

  async handle(msg: ServerMessage): Promise<void> {
    switch (msg.type) {
      case 'welcome':
        return this.onWelcome(msg);
      case 'add_request':
      case 'rekey_request':
      case 'roles_request':
        if (this.inFlight) {
          this.deferred = msg;
          return;
        }
        return this.onRequest(msg);
      case 'commit':
        return this.onCommit(msg);
      case 'commit_accepted':
        return this.onCommitAccepted(msg);
      case 'proposal':
        return this.onProposal(msg);
      case 'group_reset':
        this.reset();
        this.emitEpoch();
        if (msg.creator === this.participantId) await this.createGroup();
        else this.signaling()?.send({ type: 'key_package', keyPackage: await this.freshKeyPackage() });
        return;
      case 'app':
        return this.onApp(msg);
      case 'error':
        // Matched by request id: an error about an earlier commit never drops the current one.
        if (this.inFlight && msg.rid !== undefined && msg.rid === this.inFlightRid) {
          // Refused (or not asked any more): drop it; a request that came meanwhile goes now.
          this.inFlight = undefined;
          await this.runDeferred();
        }
        return;
      default:
        return;
    }
  }

  private async onRequest(
    msg: ServerMessageOf<'add_request' | 'rekey_request' | 'roles_request'>,
  ): Promise<void> {
    const s = this.session;
    if (!s?.active || String(s.epoch) !== msg.epoch) return;
    if (msg.type === 'add_request') return this.onAddRequest(msg);
    if (msg.type === 'roles_request') return this.onRolesRequest(msg);
    await this.sendCommit(await s.prepareCommit());
  }

  /** The request that waited for our in-flight commit, if it is still for the current epoch. */
  private async runDeferred(): Promise<void> {
    const s = this.session;
    const removals = this.proposalsToCommit;
    this.proposalsToCommit = undefined;
    if (!this.inFlight && s?.active && removals === s.epoch && s.pendingProposals().length > 0) {
      // A departure first: the request that waited (if any) comes again after its commit.
      this.deferred = undefined;
      await this.sendCommit(await s.prepareCommit());
      return;
    }
    const d = this.deferred;
    this.deferred = undefined;
    if (d && !this.inFlight && this.session?.active && String(this.session.epoch) === d.epoch)
      await this.onRequest(d);
  }

  async sendChat(text: string): Promise<void> {
    await this.sendPayload({ kind: 'chat', text, sentAt: Date.now() });
  }

  /** Encrypts one application payload (chat, a frame attestation) to the group and sends it. */
  async sendPayload(payload: E2eeAppPayload): Promise<void> {
    // MLS sends nothing while a proposal (a departure) waits for its commit: that lasts
    // milliseconds, or a few seconds while the server recovers from a silent committer. A
    // proposal can also arrive while this waits its turn in the session: then it waits again.
    const data = enc.encode(JSON.stringify(payload));
    for (let waited = 0; ; waited += 50) {
      const s = this.requireSession();
      try {
        const sealed = await s.encryptApplication(data);
        // The message's own epoch: a commit may have been applied while it was encrypted.
        const epoch = readMlsFraming(sealed).epoch ?? s.epoch;
        this.signaling()?.send({ type: 'app', epoch: String(epoch), data: toBase64(sealed) });
        return;
      } catch (e) {
        if (!(e instanceof MlsSessionError && e.code === 'proposals_pending')) throw e;
      }
      if (waited > 6_000)
        throw new Error('the encryption group is still removing someone who left: try again');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Who was in the group at `epoch` (current or retained), as a third party can check it. */
  membershipProof(epoch?: bigint): MembershipProof | undefined {
    return this.session?.membershipProof(epoch);
  }

  /** Signs a frame attestation body with this member's leaf key (undefined: not in the group). */
  async signAttestation(body: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.session?.active) return undefined;
    return this.session.signWithLeafKey(LEAF_SIGNATURE_LABELS.frameAttestation, body);
  }

  private async createGroup(): Promise<void> {
    const groupId = crypto.getRandomValues(new Uint8Array(16));
    const own = toBase64(this.device.signatureKeys.publicKey);
    this.session = await MlsSession.create(this.device, {
      groupId,
      externalSender: this.serverKey ? { signaturePublicKey: this.serverKey } : undefined,
      serverKey: this.serverKey,
      directory: this.opts.directory,
      roles: this.serverRole === 'host' ? { hosts: [own], cohosts: [] } : undefined,
    });
    this.signaling()?.send({
      type: 'group_create',
      groupId: toBase64(groupId),
      groupInfo: toBase64(await this.session.groupInfo()),
    });
    await this.afterEpochChange();
  }

  private async onWelcome(msg: ServerMessageOf<'welcome'>): Promise<void> {
    const answered = String(BigInt(msg.epoch) - 1n);
    let session: MlsSession;
    try {
      session = await MlsSession.join(this.device, fromBase64(msg.welcome), {
        serverKey: this.serverKey,
        directory: this.opts.directory,
      });
    } catch (e) {
      this.emit('warning', `could not join the group from its Welcome: ${(e as Error).message}`);
      this.signaling()?.send({
        type: 'commit_result',
        epoch: answered,
        ok: false,
        reason: (e as Error).message,
      });
      return;
    }
    this.session = session;
    this.inFlight = undefined;
    this.outOfSync = false;
    await this.afterEpochChange();
    // Confirmed once this member holds the epoch's keys.
    this.signaling()?.send({ type: 'commit_result', epoch: answered, ok: true });
  }

  private async onAddRequest(msg: ServerMessageOf<'add_request'>): Promise<void> {
    const s = this.session;
    if (!s?.active || this.inFlight || String(s.epoch) !== msg.epoch) return; // asked again after the next commit
    let joiners: Joiner[] = [];
    for (const j of msg.joiners) {
      const mismatch = await joinerMismatch(j, this.admittedKeys.get(j.participantId));
      if (mismatch) this.emit('warning', `refused to add ${j.displayName}: ${mismatch}`);
      else if (this.opts.admit?.(j) ?? true) joiners.push(j);
    }
    if (joiners.length === 0) return;
    let pending: PendingCommit | undefined;
    try {
      pending = await s.prepareCommit({ add: joiners.map((j) => fromBase64(j.keyPackage)) });
    } catch {
      // One bad key package must not keep everyone else out: add those that are valid.
      const good = [];
      for (const j of joiners) {
        const ok = await s.prepareCommit({ add: [fromBase64(j.keyPackage)] }).then(
          () => true,
          () => false,
        );
        if (ok) good.push(j);
        else this.emit('warning', `could not add ${j.displayName}: invalid key package`);
      }
      joiners = good;
      if (joiners.length === 0) return;
      pending = await s.prepareCommit({ add: joiners.map((j) => fromBase64(j.keyPackage)) });
    }
    await this.sendCommit(pending);
  }

  /**
   * The server's Remove proposal for a participant that left: checked against that
   * participant's device before it is stored (a refused proposal never reaches a commit).
   */
  private async onProposal(msg: ServerMessageOf<'proposal'>): Promise<void> {
    const s = this.session;
    if (!s?.active || String(s.epoch) !== msg.epoch) return;
    let result;
    try {
      result = await s.processHandshake(fromBase64(msg.proposal), {
        acceptRemoveOf: (m) => m.identity.deviceId === msg.deviceId,
      });
    } catch (e) {
      this.emit('warning', `refused a proposal from the server: ${(e as Error).message}`);
      return;
    }
    if (result.kind !== 'proposal' || result.proposal.type !== 'remove') return;
    if (!this.departedLeaves.has(result.proposal.leafIndex))
      this.departedLeaves.set(result.proposal.leafIndex, Date.now());
    this.updateHealth();
    if (msg.committer !== this.participantId) return;
    if (this.inFlight)
      this.proposalsToCommit = s.epoch; // after our commit in flight is settled
    else await this.sendCommit(await s.prepareCommit());
  }

  /** The host writes the group's roles: itself as host, co-hosts as it asked for them. */
  private async onRolesRequest(msg: ServerMessageOf<'roles_request'>): Promise<void> {
    const s = this.session;
    if (!s?.active || this.inFlight || String(s.epoch) !== msg.epoch || this.serverRole !== 'host') return;
    const current = s.roles();
    const cohosts = new Set(current.cohosts);
    for (const [key, role] of this.roleIntents) {
      if (role === 'cohost') cohosts.add(key);
      else cohosts.delete(key);
    }
    const own = s.ownSignatureKey;
    cohosts.delete(own);
    const wanted: GroupRoles = { hosts: [own], cohosts: [...cohosts] };
    if (sameRoles(current, wanted)) return;
    await this.sendCommit(await s.prepareCommit({ roles: wanted }));
  }

  private async sendCommit(pending: PendingCommit): Promise<void> {
    this.inFlight = pending;
    this.inFlightRid = this.signaling()?.send({
      type: 'commit',
      epoch: String(pending.baseEpoch),
      commit: toBase64(pending.commit),
      welcome: pending.welcome ? toBase64(pending.welcome) : undefined,
    });
  }

  private async onCommitAccepted(msg: ServerMessageOf<'commit_accepted'>): Promise<void> {
    const f = this.inFlight;
    const s = this.session;
    if (!f || !s || String(f.baseEpoch) !== msg.epoch) return;
    if (msg.rid !== undefined && msg.rid !== this.inFlightRid) return;
    this.inFlight = undefined;
    const self = s.memberAt(s.ownLeafIndex);
    const { added, removed } = s.applyCommit(f);
    if (self && (added.length > 0 || removed.length > 0))
      this.emit('membership', { epoch: s.epoch, by: self, added, removed });
    await this.afterEpochChange();
  }

  private async onCommit(msg: ServerMessageOf<'commit'>): Promise<void> {
    const s = this.session;
    if (!s?.active) return;
    if (String(s.epoch) !== msg.epoch) {
      this.emit('warning', `ignored a commit for epoch ${msg.epoch} at epoch ${s.epoch}`);
      return;
    }
    this.inFlight = undefined; // somebody else's commit won this epoch
    let result;
    try {
      result = await s.processHandshake(fromBase64(msg.commit));
    } catch (e) {
      // Nothing changed: this member stays at its epoch, says so, and the server recovers.
      const reason = (e as Error).message;
      this.emit('warning', `refused a commit: ${reason}`);
      this.outOfSync = true;
      this.updateHealth();
      this.signaling()?.send({ type: 'commit_result', epoch: msg.epoch, ok: false, reason });
      return;
    }
    if (result.kind !== 'commit') {
      this.signaling()?.send({ type: 'commit_result', epoch: msg.epoch, ok: true });
      return;
    }
    if (result.added.length > 0 || result.removed.length > 0)
      this.emit('membership', {
        epoch: result.epoch,
        by: result.committer,
        added: result.added,
        removed: result.removed,
      });
    if (result.removedSelf) {
      this.signaling()?.send({ type: 'commit_result', epoch: msg.epoch, ok: true });
      this.reset();
      this.emit('removed');
      this.emitEpoch();
      return;
    }
    await this.afterEpochChange();
    this.signaling()?.send({ type: 'commit_result', epoch: msg.epoch, ok: true });
  }

  private async onApp(msg: ServerMessageOf<'app'>): Promise<void> {
    const s = this.session;
    if (!s?.active) return;
    let m;
    try {
      m = await s.decryptApplication(fromBase64(msg.data));
    } catch (e) {
      this.emit('warning', `could not decrypt an application message: ${(e as Error).message}`);
      return;
    }
    let payload: E2eeAppPayload;
    try {
      payload = e2eeAppPayloadSchema.parse(JSON.parse(dec.decode(m.data)));
    } catch {
      this.emit('warning', `ignored a malformed application message from ${m.sender.identity.displayName}`);
      return;
    }
    if (payload.kind === 'chat') {
      this.emit('chat', {
        id: `${m.epoch}-${toBase64(m.evidence.signature.subarray(0, 12))}`,
        sender: m.sender,
        text: payload.text,
        sentAt: payload.sentAt,
        epoch: m.epoch,
        evidence: m.evidence,
      });
    } else {
      this.emit('attestation', {
        sender: m.sender,
        epoch: m.epoch,
        body: fromBase64(payload.body),
        signature: fromBase64(payload.signature),
      });
    }
  }

  private async afterEpochChange(): Promise<void> {
    const s = this.requireSession();
    for (const leaf of [...this.departedLeaves.keys()])
      if (!s.memberAt(leaf)) this.departedLeaves.delete(leaf);
    this.outOfSync = false;
    this.updateHealth();
    const baseKey = await s.sframeBaseKey(this.keys.nk);
    this.keys.setEpoch(s.epoch, baseKey, s.ownLeafIndex);
    baseKey.fill(0); // the sink keeps (or moved) its own copy: none stays here
    this.securityCodeValue = await s.securityCode();
    this.membershipCodeValue = await s.membershipCode();
    this.emitEpoch();
  }

  /**
   * `departed_member_present` once a departed member's leaf has stayed longer than the grace
   * (default 2 s: the server's removal normally lands in tens of milliseconds).
   */
  private updateHealth(): void {
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = undefined;
    const grace = this.opts.departureGraceMs ?? 2_000;
    let next: GroupHealth = 'ok';
    if (this.outOfSync) next = 'out_of_sync';
    else if (this.departedLeaves.size > 0) {
      const oldest = Math.min(...this.departedLeaves.values());
      const wait = oldest + grace - Date.now();
      if (wait <= 0) next = 'departed_member_present';
      else {
        this.healthTimer = setTimeout(() => this.updateHealth(), wait + 5);
        (this.healthTimer as { unref?: () => void }).unref?.();
      }
    }
    if (next !== this.healthValue) {
      this.healthValue = next;
      if (next === 'departed_member_present')
        this.emit(
          'warning',
          'a participant who left is still in the encryption group: it could still decrypt',
        );
      this.emit('health', next);
    }
  }

  private emitEpoch(): void {
    const s = this.session;
    if (s?.active && this.securityCodeValue) this.emit('epoch', s.epoch, this.securityCodeValue);
    this.emit('roster', this.roster());
  }

  private requireSession(): MlsSession {
    if (!this.session?.active) throw new Error('not in the meeting\u2019s MLS group yet');
    return this.session;
  }
}
