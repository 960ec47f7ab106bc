import {
  applyProposals,
  applyUpdatePath,
  decodeExternalSender,
  defaultClientConfig,
  emptyPskIndex,
  makeKeyPackageRef,
  makeProposalRef,
  nextEpochContext,
  ratchetTreeFromExtension,
  treeHashRoot,
  validateLeafNodeUpdateOrCommit,
  verifyFramedContentSignature,
  verifyGroupInfoSignature,
  type CiphersuiteImpl,
  type ClientState,
  type Extension,
  type GroupContext,
  type GroupInfo,
  type ProposalOrRef,
  type RatchetTree,
} from './ts-mls.js';
import { conclaveAuthService } from './auth-service.js';
import { explainCommit, type CommitEffect, type CommitProposal } from './commit-policy.js';
import { treeMembers, type PublicMember } from './tree-members.js';
import { decodeIdentity, type CredentialIdentity } from './credential.js';
import type { ExternalSender } from './external-sender.js';
import { decodeMls, MlsMessageError } from './messages.js';
import { readRoles, type GroupRoles } from './roles.js';
import { mlsSuite } from './suite.js';
import { constantTimeEqual, toBase64, toHex } from '../util/bytes.js';
import { CryptoError } from '../errors.js';

export type PublicGroupErrorCode = 'invalid_commit' | 'stale_epoch' | 'invalid_group_info';

export class PublicGroupError extends CryptoError<PublicGroupErrorCode> {
  constructor(code: PublicGroupErrorCode, message: string) {
    super(code, message);
    this.name = 'PublicGroupError';
  }
}

/** A commit that verified: the group after it, and what it did. */
export interface VerifiedCommit {
  next: PublicGroup;
  committerLeaf: number;
  effect: CommitEffect & {
    /** The added leaves, with the KeyPackageRef (hex) each Welcome secret is addressed to. */
    added: { leafIndex: number; keyPackageRef: string; signatureKey: string; identity: CredentialIdentity }[];
  };
  /** The commit has an UpdatePath (every member's key changes), as removes and empty commits must. */
  hasPath: boolean;
}

/** Leaf index used for the "own leaf" of the delivery service's pseudo-state: never a real leaf. */
const NO_LEAF = 0x7fffffff;

/**
 * The public state of a meeting's MLS group, as the delivery service tracks it (RFC 9420 §6,
 * commits as PublicMessages; RFC 9750 §5 on delivery-service policy): the group context, the
 * ratchet tree with every leaf's credential and signature key, and the last confirmation tag.
 * It holds no secret: it cannot decrypt anything, nor check the membership tag or confirmation
 * tag of a commit (members do). It checks what public data allows: the committer's signature
 * over the framed content and group context, the proposals, the UpdatePath's parent hashes and
 * leaf signature, and which key packages a Welcome is for; and from that it knows every leaf's
 * owner without anyone's say-so. Immutable: `verifyCommit` returns the next state.
 */
export class PublicGroup {
  /** The server's own Remove proposals of this epoch, by reference (base64). */
  private readonly proposals = new Map<string, CommitProposal>();

  private constructor(
    readonly context: GroupContext,
    private readonly tree: RatchetTree,
    private readonly confirmationTag: Uint8Array,
    private readonly cs: CiphersuiteImpl,
    private readonly serverKey: Uint8Array,
  ) {}

  /**
   * The group as its creator announces it: an epoch-0 GroupInfo with the ratchet tree, signed
   * by its only leaf, which must carry `creatorSignatureKey`, and listing `serverKey` as the
   * group's only external sender.
   */
  static async fromGroupInfo(
    bytes: Uint8Array,
    opts: { serverKey: Uint8Array; creatorSignatureKey: Uint8Array },
  ): Promise<PublicGroup> {
    let gi: GroupInfo;
    try {
      const msg = decodeMls(bytes);
      if (msg.wireformat !== 'mls_group_info') throw new Error(`a ${msg.wireformat}, not a GroupInfo`);
      gi = msg.groupInfo;
    } catch (e) {
      throw new PublicGroupError(
        'invalid_group_info',
        `the GroupInfo does not parse: ${(e as Error).message}`,
      );
    }
    const fail = (why: string) => new PublicGroupError('invalid_group_info', why);
    let cs: CiphersuiteImpl;
    try {
      cs = await mlsSuite(gi.groupContext.cipherSuite);
    } catch {
      throw fail('unsupported cipher suite');
    }
    if (gi.groupContext.epoch !== 0n) throw fail('a new group starts at epoch 0');
    let tree: RatchetTree | undefined;
    try {
      tree = ratchetTreeFromExtension(gi);
    } catch (e) {
      throw fail(`bad ratchet tree: ${(e as Error).message}`);
    }
    if (!tree) throw fail('the GroupInfo carries no ratchet tree');
    const leaves = treeMembers(tree);
    if (tree.length !== 1 || leaves.length !== 1 || gi.signer !== 0)
      throw fail('a new group has exactly one leaf, its creator, who signs the GroupInfo');
    if (!constantTimeEqual(leaves[0]!.signaturePublicKey, opts.creatorSignatureKey))
      throw fail('the group’s only leaf is not the creator’s key');
    if (leaves[0]!.identity.kind === 'server') throw fail('a member leaf carries the server credential');
    if (!(await verifyGroupInfoSignature(gi, opts.creatorSignatureKey, cs.signature).catch(() => false)))
      throw fail('the GroupInfo signature does not verify');
    if (!constantTimeEqual(await treeHashRoot(tree, cs.hash), gi.groupContext.treeHash))
      throw fail('the tree hash does not match the ratchet tree');
    const senders = gi.groupContext.extensions.filter((e) => e.extensionType === 'external_senders');
    const sender = senders.length === 1 ? decodeExternalSender(senders[0]!.extensionData, 0)?.[0] : undefined;
    if (!sender || !constantTimeEqual(sender.signaturePublicKey, opts.serverKey))
      throw fail('the group must list this server, and only it, as external sender');
    try {
      readRoles(gi.groupContext.extensions);
    } catch (e) {
      throw fail((e as Error).message);
    }
    return new PublicGroup(gi.groupContext, tree, gi.confirmationTag, cs, opts.serverKey);
  }

  get groupId(): Uint8Array {
    return this.context.groupId;
  }

  get epoch(): bigint {
    return this.context.epoch;
  }

  members(): PublicMember[] {
    return treeMembers(this.tree);
  }

  roles(): GroupRoles {
    return readRoles(this.context.extensions);
  }

  /** The leaf holding this signature key (base64), if any. */
  leafOf(signatureKey: string): number | undefined {
    return this.members().find((m) => m.signatureKey === signatureKey)?.leafIndex;
  }

  /** The server's external Remove proposal for `leafIndex` in this epoch; a commit may then refer to it. */
  async proposeRemove(sender: ExternalSender, leafIndex: number): Promise<Uint8Array> {
    const bytes = await sender.proposeRemove(this.groupId, this.epoch, leafIndex);
    const msg = decodeMls(bytes);
    if (msg.wireformat !== 'mls_public_message') throw new Error('unreachable');
    const ref = await makeProposalRef(
      { wireformat: 'mls_public_message', content: msg.publicMessage.content, auth: msg.publicMessage.auth },
      this.cs.hash,
    );
    this.proposals.set(toBase64(ref), {
      proposal: { proposalType: 'remove', remove: { removed: leafIndex } },
      senderLeafIndex: undefined,
    });
    return bytes;
  }

  /**
   * Checks a commit (an MLSMessage) and its Welcome against this epoch: a PublicMessage from a
   * member, signed by that member's leaf over this group context; proposals that the group policy
   * allows (commit-policy.ts), by reference only to this server's own proposals; an UpdatePath
   * whose parent hashes and leaf signature verify whenever one is required; and a Welcome for
   * exactly the added key packages. Throws PublicGroupError; returns the next state otherwise.
   */
  async verifyCommit(commitBytes: Uint8Array, welcomeBytes: Uint8Array | undefined): Promise<VerifiedCommit> {
    const bad = (why: string) => new PublicGroupError('invalid_commit', why);
    let msg;
    try {
      msg = decodeMls(commitBytes);
    } catch (e) {
      throw bad((e as MlsMessageError).message);
    }
    if (msg.wireformat !== 'mls_public_message')
      throw bad(`a commit must be an MLS PublicMessage, not ${msg.wireformat}`);
    const pm = msg.publicMessage;
    const content = pm.content;
    if (content.contentType !== 'commit') throw bad('the message is not a commit');
    if (pm.auth.contentType !== 'commit') throw bad('the commit has no confirmation tag');
    if (!constantTimeEqual(content.groupId, this.groupId)) throw bad('the commit is for another group');
    if (content.epoch !== this.epoch)
      throw new PublicGroupError(
        'stale_epoch',
        `commit for epoch ${content.epoch}, the group is at ${this.epoch}`,
      );
    if (content.sender.senderType !== 'member') throw bad('a commit must come from a member');
    const committerLeaf = content.sender.leafIndex;
    const before = this.members();
    const committer = before.find((m) => m.leafIndex === committerLeaf);
    if (!committer) throw bad(`the committer (leaf ${committerLeaf}) is not in the group`);
    const signed = await verifyFramedContentSignature(
      committer.signaturePublicKey,
      'mls_public_message',
      content,
      pm.auth,
      this.context,
      this.cs.signature,
    ).catch(() => false);
    if (!signed) throw bad('the commit signature does not verify with the committer’s leaf key');

    const proposals: CommitProposal[] = [];
    for (const p of content.commit.proposals as ProposalOrRef[]) {
      if (p.proposalOrRefType === 'proposal')
        proposals.push({ proposal: p.proposal, senderLeafIndex: committerLeaf });
      else {
        const known = this.proposals.get(toBase64(p.reference));
        if (!known) throw bad('the commit refers to a proposal this server did not make in this epoch');
        proposals.push(known);
      }
    }
    const path = content.commit.path;
    const explained = explainCommit({
      members: before,
      extensions: this.context.extensions,
      committerLeaf,
      proposals,
      pathLeaf: path?.leafNode,
    });
    if (explained.violation || !explained.effect)
      throw bad(`the commit breaks the group policy: ${explained.violation}`);

    const config = {
      ...defaultClientConfig,
      authService: conclaveAuthService({ serverKey: this.serverKey }),
    };
    const pseudoState = {
      groupContext: this.context,
      ratchetTree: this.tree,
      unappliedProposals: Object.fromEntries(this.proposals),
      privatePath: { leafIndex: NO_LEAF, privateKeys: {} },
      clientConfig: config,
    } as unknown as ClientState; // applyProposals reads only these fields (ts-mls 1.6.4)
    let result;
    try {
      result = await applyProposals(
        pseudoState,
        content.commit.proposals,
        committerLeaf as never,
        emptyPskIndex,
        false,
        this.cs,
      );
    } catch (e) {
      throw bad(`the proposals do not apply: ${(e as Error).message}`);
    }
    if (result.additionalResult.kind !== 'memberCommit') throw bad('only member commits are allowed');
    if (result.needsUpdatePath && !path) throw bad('this commit needs an UpdatePath');
    let tree = result.tree;
    const extensions: Extension[] =
      result.additionalResult.extensions.length > 0
        ? result.additionalResult.extensions
        : this.context.extensions;
    const context = { ...this.context, extensions };
    if (path) {
      const leafError = await validateLeafNodeUpdateOrCommit(
        path.leafNode,
        committerLeaf as never,
        this.context,
        config.authService,
        this.cs.signature,
      );
      if (leafError) throw bad(`the committer’s new leaf does not verify: ${leafError.message}`);
      try {
        tree = await applyUpdatePath(tree, committerLeaf as never, path, this.cs.hash);
      } catch (e) {
        throw bad(`the UpdatePath does not verify: ${(e as Error).message}`);
      }
    }
    const treeHash = await treeHashRoot(tree, this.cs.hash);
    const nextContext = await nextEpochContext(
      context,
      'mls_public_message',
      content,
      pm.auth.signature,
      treeHash,
      this.confirmationTag,
      this.cs.hash,
    );
    const added = [];
    for (const [leafIndex, kp] of result.additionalResult.addedLeafNodes) {
      added.push({
        leafIndex: Number(leafIndex),
        keyPackageRef: toHex(await makeKeyPackageRef(kp, this.cs.hash)),
        signatureKey: toBase64(kp.leafNode.signaturePublicKey),
        identity: decodeIdentity(kp.leafNode.credential),
      });
    }
    if (added.length > 0) {
      if (!welcomeBytes) throw bad('a commit that adds members needs their Welcome');
      let welcome;
      try {
        const w = decodeMls(welcomeBytes);
        if (w.wireformat !== 'mls_welcome') throw new Error(`a ${w.wireformat}`);
        welcome = w.welcome;
      } catch (e) {
        throw bad(`the Welcome does not parse: ${(e as Error).message}`);
      }
      const refs = welcome.secrets.map((s) => toHex(s.newMember)).sort();
      const expected = added.map((a) => a.keyPackageRef).sort();
      if (refs.length !== expected.length || refs.some((r, i) => r !== expected[i]))
        throw bad('the Welcome is not for exactly the key packages the commit adds');
    } else if (welcomeBytes) throw bad('a commit that adds nobody has no Welcome');
    return {
      next: new PublicGroup(nextContext, tree, pm.auth.confirmationTag, this.cs, this.serverKey),
      committerLeaf,
      effect: { ...explained.effect, added },
      hasPath: path !== undefined,
    };
  }
}
