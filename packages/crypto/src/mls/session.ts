import {
  createApplicationMessage,
  createCommit,
  createGroup,
  emptyPskIndex,
  encodeExternalSender,
  joinGroup,
  mlsExporter,
  processPublicMessage,
  type ClientConfig,
  type ClientState,
  type CiphersuiteImpl,
  type IncomingMessageCallback,
  type Proposal,
  type ProposalWithSender,
  createGroupInfoWithRatchetTree,
  defaultClientConfig,
  makeKeyPackageRef,
  processApplicationMessage,
  encodeFramedContent,
} from './ts-mls.js';
import { explainCommit, type CommitEffect, type CommitProposal } from './commit-policy.js';
import { membershipCode } from './membership-code.js';
import { treeMembers, type GroupMember } from './tree-members.js';
import { readRoles, withRoles, type GroupRoles } from './roles.js';
import { conclaveAuthService, type AuthServiceOptions } from './auth-service.js';
import { decodeIdentity, encodeIdentity } from './credential.js';
import type { MlsDevice } from './device.js';
import { decodeMls, encodeMls, MlsMessageError } from './messages.js';
import { mlsSuite } from './suite.js';
import { securityCode } from './security-code.js';
import { toBase64, toHex } from '../util/bytes.js';
import type { ChatSignatureEvidence } from '../evidence/chat-evidence.js';
import { encodeMembershipProof, type MembershipProof } from '../evidence/membership-proof.js';
import { signWithLeafKey, type LeafSignatureLabel } from '../evidence/leaf-signature.js';
import { CryptoError } from '../errors.js';

export type MlsSessionErrorCode =
  | 'stale_epoch'
  | 'wrong_group'
  | 'no_matching_key_package'
  | 'not_a_member'
  | 'rejected'
  | 'invalid_message'
  | 'bad_key_package'
  /** An application message while a proposal waits for its commit (MLS forbids it): try again after the commit. */
  | 'proposals_pending';

export class MlsSessionError extends CryptoError<MlsSessionErrorCode> {
  constructor(code: MlsSessionErrorCode, message: string) {
    super(code, message);
    this.name = 'MlsSessionError';
  }
}

export type { GroupMember } from './tree-members.js';

/** The delivery service's external-sender identity, placed in `external_senders` at group creation. */
export interface ExternalSenderInfo {
  signaturePublicKey: Uint8Array;
  displayName?: string;
}

/** A commit that was created but is not applied until the delivery service accepts it. */
export interface PendingCommit {
  readonly baseEpoch: bigint;
  readonly epoch: bigint;
  /** MLSMessage (PublicMessage) carrying the commit, for every current member and the delivery service. */
  readonly commit: Uint8Array;
  /** MLSMessage (Welcome) for the added members, with the ratchet tree in its GroupInfo. */
  readonly welcome: Uint8Array | undefined;
  /** Leaf indices the commit removes, and the key packages it adds (as given). */
  readonly removed: number[];
  readonly addedCount: number;
  /** @internal */
  readonly newState: ClientState;
}

export type HandshakeResult =
  | {
      kind: 'commit';
      epoch: bigint;
      /** This member was removed by the commit and can no longer send or decrypt. */
      removedSelf: boolean;
      added: GroupMember[];
      removed: GroupMember[];
      /** Who committed (from the group before the commit). */
      committer: GroupMember;
      /** The roles after the commit, when it changed them. */
      roles: GroupRoles | undefined;
    }
  | { kind: 'proposal'; proposal: ProposalSummary };

export type ProposalSummary =
  | { type: 'remove'; leafIndex: number; member: GroupMember | undefined; by: 'external' | 'member' }
  | { type: 'add' | 'update' | 'other'; by: 'external' | 'member' };

export interface ApplicationMessage {
  sender: GroupMember;
  epoch: bigint;
  data: Uint8Array;
  /** What the sender signed, for a report (checked with the epoch's `membershipProof`). */
  evidence: ChatSignatureEvidence;
}

export interface SessionOptions extends AuthServiceOptions {
  /** Epochs of old application-message keys kept for late messages (ts-mls key retention). */
  retainEpochs?: number;
}

const SFRAME_EXPORTER_LABEL = 'SFrame 1.0 Base Key';

function clientConfig(opts: SessionOptions): ClientConfig {
  return {
    ...defaultClientConfig,
    authService: conclaveAuthService(opts),
    keyRetentionConfig: {
      ...defaultClientConfig.keyRetentionConfig,
      retainKeysForEpochs: opts.retainEpochs ?? defaultClientConfig.keyRetentionConfig.retainKeysForEpochs,
    },
  };
}

/** Who a commit added and removed (a leaf is the same member only with the same signature key). */
export interface MemberChanges {
  added: GroupMember[];
  removed: GroupMember[];
}

function memberChanges(before: GroupMember[], after: GroupMember[]): MemberChanges {
  const key = (m: GroupMember) => `${m.leafIndex}:${toHex(m.signaturePublicKey)}`;
  const beforeKeys = new Set(before.map(key));
  const afterKeys = new Set(after.map(key));
  return {
    added: after.filter((m) => !beforeKeys.has(key(m))),
    removed: before.filter((m) => !afterKeys.has(key(m))),
  };
}

function membersOf(state: ClientState): GroupMember[] {
  return treeMembers(state.ratchetTree).map(({ leafIndex, identity, signaturePublicKey }) => ({
    leafIndex,
    identity,
    signaturePublicKey,
  }));
}

/**
 * One participant's membership in one MLS group (one meeting session). A thin, mutable
 * wrapper over ts-mls's immutable ClientState that speaks in encoded MLSMessages.
 *
 * Commits follow the delivery-service rule "first commit wins": `prepareCommit` creates a
 * commit without applying it; the caller sends it and calls `applyCommit` once the server has
 * accepted it for the current epoch, or drops it (and re-bases) when the server answers
 * `stale_epoch`.
 */
export class MlsSession {
  /**
   * ts-mls's state is immutable and each operation awaits (hashes, AEAD, signatures) before we
   * store the state it returns: two at once would each start from the same state and the later
   * write would undo the other (an application message's generation used twice — its key and
   * nonce —, a receiver step or a commit lost). The operations that replace the state after an
   * await run one at a time, in call order.
   */
  private serial: Promise<unknown> = Promise.resolve();

  private constructor(
    private state: ClientState,
    readonly device: MlsDevice,
    private readonly cs: CiphersuiteImpl,
  ) {}

  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.serial.then(op, op);
    this.serial = run.catch(() => undefined);
    return run;
  }

  /** Creates a new group with this device as its only member (leaf 0), optionally with the server as external sender. */
  static async create(
    device: MlsDevice,
    opts: SessionOptions & {
      groupId: Uint8Array;
      externalSender?: ExternalSenderInfo;
      /** The group's first roles (group context); a host lists itself. */
      roles?: GroupRoles;
    },
  ): Promise<MlsSession> {
    const cs = await mlsSuite(device.suiteName);
    const kpBytes = await device.createKeyPackage();
    const kp = decodeMls(kpBytes);
    if (kp.wireformat !== 'mls_key_package') throw new Error('unreachable');
    const ref = toHex(await makeKeyPackageRef(kp.keyPackage, cs.hash));
    const own = device.takeKeyPackage(ref);
    if (!own) throw new Error('unreachable: key package just created');
    const senders = opts.externalSender
      ? [
          {
            extensionType: 'external_senders' as const,
            extensionData: encodeExternalSender({
              signaturePublicKey: opts.externalSender.signaturePublicKey,
              credential: encodeIdentity({
                kind: 'server',
                deviceId: 'delivery-service',
                displayName: opts.externalSender.displayName ?? 'Conclave server',
              }),
            }),
          },
        ]
      : [];
    const extensions = opts.roles ? withRoles(senders, opts.roles) : senders;
    const config = clientConfig({ serverKey: opts.externalSender?.signaturePublicKey, ...opts });
    const state = await createGroup(
      opts.groupId,
      own.publicPackage,
      own.privatePackage,
      extensions,
      cs,
      config,
    );
    return new MlsSession(state, device, cs);
  }

  /** Joins from a Welcome made for one of this device's key packages. The tree comes in the GroupInfo. */
  static async join(
    device: MlsDevice,
    welcomeBytes: Uint8Array,
    opts: SessionOptions = {},
  ): Promise<MlsSession> {
    const cs = await mlsSuite(device.suiteName);
    const msg = decodeMls(welcomeBytes);
    if (msg.wireformat !== 'mls_welcome')
      throw new MlsMessageError('unexpected_mls_message', 'expected a Welcome');
    const mine = msg.welcome.secrets.map((s) => toHex(s.newMember)).find((ref) => device.hasKeyPackage(ref));
    if (!mine)
      throw new MlsSessionError(
        'no_matching_key_package',
        'the Welcome is not for any key package of this device',
      );
    const kp = device.takeKeyPackage(mine)!;
    let state: ClientState;
    try {
      state = await joinGroup(
        msg.welcome,
        kp.publicPackage,
        kp.privatePackage,
        emptyPskIndex,
        cs,
        undefined,
        undefined,
        clientConfig(opts),
      );
    } catch (e) {
      throw new MlsSessionError('invalid_message', `cannot join from Welcome: ${(e as Error).message}`);
    }
    const session = new MlsSession(state, device, cs);
    if (session.members().some((m) => m.identity.kind === 'server'))
      throw new MlsSessionError('rejected', 'the group has a member leaf with the server credential');
    try {
      session.roles();
    } catch (e) {
      throw new MlsSessionError('rejected', (e as Error).message);
    }
    return session;
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId;
  }

  get ownLeafIndex(): number {
    return this.state.privatePath.leafIndex;
  }

  get active(): boolean {
    return this.state.groupActiveState.kind === 'active';
  }

  /** The roster of `rosterOf.state`: read often (UIs, the load tool's polls), changed per epoch. */
  private rosterOf: { state: ClientState; members: readonly GroupMember[] } | undefined;

  /** The roster: every leaf of the current group (built once per ts-mls state, which is never changed in place). */
  members(): GroupMember[] {
    if (this.rosterOf?.state !== this.state)
      this.rosterOf = { state: this.state, members: membersOf(this.state) };
    return [...this.rosterOf.members];
  }

  memberAt(leafIndex: number): GroupMember | undefined {
    return this.members().find((m) => m.leafIndex === leafIndex);
  }

  epochAuthenticator(): Uint8Array {
    return this.state.keySchedule.epochAuthenticator;
  }

  /** The human-comparable meeting security code of the current epoch. */
  securityCode(): Promise<string> {
    return securityCode(this.state.groupContext.groupId, this.epoch, this.epochAuthenticator());
  }

  /** Host and co-hosts as the group context lists them (signature keys, base64). */
  roles(): GroupRoles {
    return readRoles(this.state.groupContext.extensions);
  }

  /** This device's signature key as the roles name it. */
  get ownSignatureKey(): string {
    return toBase64(this.device.signatureKeys.publicKey);
  }

  /** The membership code (membership-code.ts): changes only when members are added or removed. */
  membershipCode(): Promise<string> {
    const entries = treeMembers(this.state.ratchetTree).map((m) => ({
      credential: m.credentialBytes,
      signaturePublicKey: m.signaturePublicKey,
    }));
    return membershipCode(this.groupId, entries);
  }

  /**
   * A GroupInfo of the current epoch with the ratchet tree (public data only), signed by this
   * member: how the creator tells the delivery service what group it made.
   */
  async groupInfo(): Promise<Uint8Array> {
    const gi = await createGroupInfoWithRatchetTree(
      this.state.groupContext,
      this.state.confirmationTag,
      this.state,
      this.state.ratchetTree,
      [],
      this.cs,
    );
    return encodeMls({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi });
  }

  /** MLS-Exporter (RFC 9420 §8.5) of the current epoch. */
  exportSecret(label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
    return mlsExporter(this.state.keySchedule.exporterSecret, label, context, length, this.cs);
  }

  /** RFC 9605 §5.2: base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk) of the SFrame suite. */
  sframeBaseKey(nk: number): Promise<Uint8Array> {
    return this.exportSecret(SFRAME_EXPORTER_LABEL, new Uint8Array(0), nk);
  }

  /** Proposals received (e.g. the server's external Removes) and not yet committed. */
  pendingProposals(): ProposalWithSender[] {
    return Object.values(this.state.unappliedProposals);
  }

  /**
   * Creates a commit that adds the given key packages, removes the given leaves and includes
   * every pending proposal. With nothing to add or remove it is an empty commit with an
   * UpdatePath: the periodic rekey. Nothing changes until `applyCommit`.
   */
  async prepareCommit(
    opts: { add?: Uint8Array[]; remove?: number[]; roles?: GroupRoles } = {},
  ): Promise<PendingCommit> {
    this.requireActive();
    const proposals: Proposal[] = [];
    for (const bytes of opts.add ?? []) {
      let msg;
      try {
        msg = decodeMls(bytes);
      } catch (e) {
        throw new MlsSessionError('bad_key_package', (e as Error).message);
      }
      if (msg.wireformat !== 'mls_key_package')
        throw new MlsSessionError('bad_key_package', 'not a key package');
      proposals.push({ proposalType: 'add', add: { keyPackage: msg.keyPackage } });
    }
    const members = new Set(this.members().map((m) => m.leafIndex));
    for (const leaf of opts.remove ?? []) {
      if (!members.has(leaf)) throw new MlsSessionError('not_a_member', `leaf ${leaf} is not in the group`);
      if (leaf === this.ownLeafIndex)
        throw new MlsSessionError('rejected', 'a member cannot commit its own removal');
      proposals.push({ proposalType: 'remove', remove: { removed: leaf } });
    }
    if (opts.roles) {
      proposals.push({
        proposalType: 'group_context_extensions',
        groupContextExtensions: { extensions: withRoles(this.state.groupContext.extensions, opts.roles) },
      });
    }
    let result;
    try {
      // PublicMessage (RFC 9420 §6.2): the delivery service checks the signature and proposals.
      result = await createCommit(
        { state: this.state, cipherSuite: this.cs },
        { extraProposals: proposals, ratchetTreeExtension: true, wireAsPublicMessage: true },
      );
    } catch (e) {
      const message = (e as Error).message;
      throw new MlsSessionError(
        opts.add?.length ? 'bad_key_package' : 'rejected',
        `cannot create commit: ${message}`,
      );
    }
    const removed = [
      ...(opts.remove ?? []),
      ...this.pendingProposals().flatMap((p) =>
        p.proposal.proposalType === 'remove' ? [p.proposal.remove.removed] : [],
      ),
    ];
    return {
      baseEpoch: this.epoch,
      epoch: result.newState.groupContext.epoch,
      commit: encodeMls(result.commit),
      welcome: result.welcome
        ? encodeMls({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })
        : undefined,
      removed,
      addedCount: opts.add?.length ?? 0,
      newState: result.newState,
    };
  }

  /** Applies a commit this member created, once the delivery service accepted it. */
  applyCommit(pending: PendingCommit): MemberChanges {
    if (pending.baseEpoch !== this.epoch) {
      throw new MlsSessionError(
        'stale_epoch',
        `commit was made for epoch ${pending.baseEpoch}, group is at ${this.epoch}`,
      );
    }
    const before = this.members();
    this.state = pending.newState;
    return memberChanges(before, this.members());
  }

  /**
   * Processes a handshake message from the delivery service, and refuses what the group policy
   * (commit-policy.ts) does not allow. Nothing changes unless the message is accepted:
   * - a proposal must be the server's external Remove of a current member, and `acceptRemoveOf`
   *   must accept that member (the caller compares it with the participant the server says
   *   left); a refused proposal is never stored, so no later commit can carry it;
   * - a commit must be a PublicMessage from a member that conforms to the policy, checked
   *   before ts-mls applies it.
   * Throws MlsSessionError ('rejected' for policy, 'invalid_message' for what does not verify).
   */
  processHandshake(
    bytes: Uint8Array,
    opts: { acceptRemoveOf?: (member: GroupMember) => boolean } = {},
  ): Promise<HandshakeResult> {
    return this.exclusive(() => this.processHandshakeNow(bytes, opts));
  }

  private async processHandshakeNow(
    bytes: Uint8Array,
    opts: { acceptRemoveOf?: (member: GroupMember) => boolean },
  ): Promise<HandshakeResult> {
    this.requireActive();
    const msg = decodeMls(bytes);
    if (msg.wireformat !== 'mls_public_message') {
      throw new MlsSessionError(
        'rejected',
        `handshake messages must be MLS PublicMessages, not ${msg.wireformat}`,
      );
    }
    const content = msg.publicMessage.content;
    if (content.epoch !== this.epoch) throw this.epochError(content.epoch);
    if (content.contentType === 'application')
      throw new MlsMessageError('unexpected_mls_message', 'application message passed as handshake');
    const before = this.members();
    const pathLeaf = content.contentType === 'commit' ? content.commit.path?.leafNode : undefined;
    let refusal: string | undefined;
    let proposal: ProposalWithSender | undefined;
    let effect: CommitEffect | undefined;
    const policy: IncomingMessageCallback = (incoming) => {
      if (incoming.kind === 'proposal') {
        proposal = incoming.proposal;
        const p = incoming.proposal.proposal;
        if (incoming.proposal.senderLeafIndex !== undefined)
          refusal = 'members do not send proposals in this group';
        else if (p.proposalType !== 'remove') refusal = 'the server may only propose removals';
        else {
          const removed = p.remove.removed;
          const target = before.find((m) => m.leafIndex === removed);
          if (!target) refusal = `the server proposed removing leaf ${removed}, which is empty`;
          else if (opts.acceptRemoveOf && !opts.acceptRemoveOf(target))
            refusal = `the server proposed removing ${target.identity.displayName}, who is not the participant that left`;
        }
        return refusal ? 'reject' : 'accept';
      }
      if (content.sender.senderType !== 'member') {
        refusal = 'a commit must come from a member';
        return 'reject';
      }
      const explained = explainCommit({
        members: treeMembers(this.state.ratchetTree),
        extensions: this.state.groupContext.extensions,
        committerLeaf: content.sender.leafIndex,
        proposals: incoming.proposals as CommitProposal[],
        pathLeaf,
      });
      refusal = explained.violation;
      effect = explained.effect;
      return refusal ? 'reject' : 'accept';
    };
    let newState: ClientState;
    try {
      const r = await processPublicMessage(this.state, msg.publicMessage, emptyPskIndex, this.cs, policy);
      if (r.actionTaken === 'reject') throw new MlsSessionError('rejected', refusal ?? 'refused by policy');
      newState = r.newState;
    } catch (e) {
      if (e instanceof MlsSessionError || e instanceof MlsMessageError) throw e;
      throw new MlsSessionError('invalid_message', `handshake message refused: ${(e as Error).message}`);
    }
    if (content.contentType === 'proposal') {
      this.state = newState;
      return { kind: 'proposal', proposal: this.summarize(proposal, before) };
    }
    const committer = before.find(
      (m) => m.leafIndex === (content.sender as { leafIndex: number }).leafIndex,
    )!;
    this.state = newState;
    return {
      kind: 'commit',
      epoch: this.epoch,
      removedSelf: !this.active,
      ...memberChanges(before, this.members()),
      committer,
      roles: effect?.roles,
    };
  }

  /** Encrypts an application message (chat) as an MLS PrivateMessage. */
  encryptApplication(data: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(() => this.encryptApplicationNow(data));
  }

  private async encryptApplicationNow(data: Uint8Array): Promise<Uint8Array> {
    this.requireActive();
    if (this.pendingProposals().length > 0)
      throw new MlsSessionError(
        'proposals_pending',
        'a proposal waits for its commit: nothing can be sent until then',
      );
    const start = this.state;
    const r = await createApplicationMessage(start, data, this.cs);
    // applyCommit (synchronous) may have moved the group on meanwhile: keep the new epoch (the
    // message is of the old one, which receivers retain).
    if (this.state === start) this.state = r.newState;
    return encodeMls({
      version: 'mls10',
      wireformat: 'mls_private_message',
      privateMessage: r.privateMessage,
    });
  }

  /**
   * The public proof of who was in the group at `epoch` (the current one by default, or one
   * whose receiver data is still retained), for report evidence; undefined for an epoch gone.
   */
  membershipProof(epoch: bigint = this.epoch): MembershipProof | undefined {
    if (!this.active) return undefined;
    if (epoch === this.state.groupContext.epoch)
      return encodeMembershipProof(this.state.groupContext, this.state.ratchetTree);
    const past = this.state.historicalReceiverData.get(epoch);
    return past && encodeMembershipProof(past.groupContext, past.ratchetTree);
  }

  /** Signs one of our own statements (frame attestations) with this member's leaf key. */
  signWithLeafKey(label: LeafSignatureLabel, content: Uint8Array): Promise<Uint8Array> {
    return signWithLeafKey(this.device.signatureKeys.signKey, label, content);
  }

  /**
   * Decrypts an application message of the current or a retained epoch and says which member
   * sent it (signature verified). ts-mls's processPrivateMessage does not return the sender:
   * `processApplicationMessage` (ts-mls.ts) adds it and leaves the state to ts-mls.
   */
  decryptApplication(bytes: Uint8Array): Promise<ApplicationMessage> {
    return this.exclusive(() => this.decryptApplicationNow(bytes));
  }

  private async decryptApplicationNow(bytes: Uint8Array): Promise<ApplicationMessage> {
    const msg = decodeMls(bytes);
    if (msg.wireformat !== 'mls_private_message' || msg.privateMessage.contentType !== 'application') {
      throw new MlsMessageError('unexpected_mls_message', 'expected an application PrivateMessage');
    }
    const pm = msg.privateMessage;
    if (pm.epoch !== this.epoch && !this.state.historicalReceiverData.has(pm.epoch))
      throw this.epochError(pm.epoch);
    const start = this.state;
    let result;
    try {
      result = await processApplicationMessage(start, pm, this.cs);
    } catch (e) {
      throw new MlsSessionError(
        'invalid_message',
        `cannot decrypt application message: ${(e as Error).message}`,
      );
    }
    if (this.state === start) this.state = result.newState; // else applyCommit moved it on meanwhile
    const node = result.ratchetTree[result.senderLeafIndex * 2];
    if (node?.nodeType !== 'leaf') throw new MlsSessionError('invalid_message', 'sender leaf is blank');
    return {
      sender: {
        leafIndex: result.senderLeafIndex,
        identity: decodeIdentity(node.leaf.credential),
        signaturePublicKey: node.leaf.signaturePublicKey,
      },
      epoch: pm.epoch,
      data: result.data,
      evidence: {
        framedContent: encodeFramedContent(result.content.content),
        signature: result.content.auth.signature,
      },
    };
  }

  private summarize(p: ProposalWithSender | undefined, before: GroupMember[]): ProposalSummary {
    const by = p?.senderLeafIndex === undefined ? 'external' : 'member';
    if (p?.proposal.proposalType === 'remove') {
      const leafIndex = p.proposal.remove.removed;
      return { type: 'remove', leafIndex, member: before.find((m) => m.leafIndex === leafIndex), by };
    }
    if (p?.proposal.proposalType === 'add' || p?.proposal.proposalType === 'update') {
      return { type: p.proposal.proposalType, by };
    }
    return { type: 'other', by };
  }

  private epochError(epoch: bigint): MlsSessionError {
    return new MlsSessionError(
      'stale_epoch',
      `message for epoch ${epoch}, this member is at epoch ${this.epoch}`,
    );
  }

  private requireActive(): void {
    if (!this.active) throw new MlsSessionError('not_a_member', 'this member was removed from the group');
  }
}
