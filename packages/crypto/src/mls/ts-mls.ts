/**
 * The one module that imports ts-mls (pinned at 1.6.4 in packages/crypto/package.json): every
 * other file reaches ts-mls through here, its public API and its internal modules alike. The
 * dependency-cruiser rule `ts-mls-through-the-adapter` (.dependency-cruiser.cjs) refuses any
 * other import of ts-mls outside tests. test/ts-mls-adapter.test.ts pins the ts-mls behaviours
 * we rely on; on a ts-mls upgrade, re-read this file and `public-group.ts` and run that test.
 */
import {
  emptyPskIndex,
  processPrivateMessage,
  type CiphersuiteImpl,
  type ClientState,
  type PrivateMessage,
  type RatchetTree,
} from 'ts-mls';
import type { AuthenticatedContent } from 'ts-mls/authenticatedContent.js';
import type { GroupContext as TsGroupContext } from 'ts-mls/groupContext.js';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';

// ---------------------------------------------------------------- ts-mls's public API (its index)

export {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeExternalSender,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeExternalSender,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processPublicMessage,
  proposeExternal,
} from 'ts-mls';
export type {
  AuthenticationService,
  CiphersuiteImpl,
  CiphersuiteName,
  ClientConfig,
  ClientState,
  Credential,
  Extension,
  GroupContext,
  GroupInfo,
  IncomingMessageCallback,
  KeyPackage,
  LeafNode,
  MLSMessage,
  PrivateKeyPackage,
  Proposal,
  ProposalOrRef,
  ProposalWithSender,
  RatchetTree,
} from 'ts-mls';

// ------------------------------------------------- ts-mls's internal modules (published, not in its index)
// A delivery service that checks commits on public data only needs the tree, transcript and
// signature functions ts-mls keeps for its own client (public-group.ts); the rest fill gaps of
// the public API named where they are used.

export { defaultClientConfig } from 'ts-mls/clientConfig.js';
export { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
export { applyProposals, nextEpochContext, validateLeafNodeUpdateOrCommit } from 'ts-mls/clientState.js';
export { applyUpdatePath } from 'ts-mls/updatePath.js';
export { treeHashRoot } from 'ts-mls/treeHash.js';
export { verifyFramedContentSignature } from 'ts-mls/framedContent.js';
export { verifyGroupInfoSignature, ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
export { createGroupInfoWithRatchetTree } from 'ts-mls/createCommit.js';
export { makeProposalRef } from 'ts-mls/authenticatedContent.js';
// Report evidence (packages/crypto/src/evidence/): the encodings a third party needs to check a
// member's signature, and RFC 9420's SignWithLabel for our own signed statements.
export { encodeGroupContext, decodeGroupContext } from 'ts-mls/groupContext.js';
export { encodeRatchetTree, decodeRatchetTree } from 'ts-mls/ratchetTree.js';
export { encodeFramedContent, decodeFramedContent } from 'ts-mls/framedContent.js';
export { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js';
export { CryptoError } from 'ts-mls/mlsError.js';

// ---------------------------------------------------------------- filling a gap

/** An application message as processPrivateMessage reads it, who sent it, and what they signed. */
export interface ProcessedApplicationMessage {
  newState: ClientState;
  data: Uint8Array;
  /** The sender's leaf: the content's signature verified with that leaf's key. */
  senderLeafIndex: number;
  /** The ratchet tree of the message's epoch (the current one, or a retained one's). */
  ratchetTree: RatchetTree;
  /** The group context of the message's epoch: part of what the sender signed. */
  groupContext: TsGroupContext;
  /** The FramedContent and its signature, as the sender signed them (report evidence). */
  content: AuthenticatedContent;
}

/**
 * ts-mls's processPrivateMessage for an application message, plus its sender and signed
 * content. processPrivateMessage (1.6.4) returns the data and the new state but neither who sent
 * it nor the signature. Both come from ts-mls's own unprotectPrivateMessage — the function
 * processPrivateMessage runs first — called here on the same epoch data: it is a pure function
 * (it returns the advanced secret tree instead of changing the state's), so the state itself,
 * the secret tree and the retained epochs, is still left to processPrivateMessage.
 * test/ts-mls-adapter.test.ts pins that the second decryption succeeds and that a tampered
 * signature is refused.
 */
export async function processApplicationMessage(
  state: ClientState,
  pm: PrivateMessage,
  cs: CiphersuiteImpl,
): Promise<ProcessedApplicationMessage> {
  if (pm.contentType !== 'application') throw new Error('not an application message');
  // As processPrivateMessage picks the epoch: an older one from the retained receiver data.
  const past = pm.epoch < state.groupContext.epoch ? state.historicalReceiverData.get(pm.epoch) : undefined;
  if (pm.epoch < state.groupContext.epoch && !past) throw new Error('epoch too old');
  const ratchetTree = past?.ratchetTree ?? state.ratchetTree;
  const groupContext = past?.groupContext ?? state.groupContext;
  const unprotected = await unprotectPrivateMessage(
    past?.senderDataSecret ?? state.keySchedule.senderDataSecret,
    pm,
    past?.secretTree ?? state.secretTree,
    ratchetTree,
    groupContext,
    state.clientConfig.keyRetentionConfig,
    cs,
  );
  const sender = unprotected.content.content.sender;
  if (sender.senderType !== 'member') throw new Error('application message not from a member');
  const r = await processPrivateMessage(state, pm, emptyPskIndex, cs);
  if (r.kind !== 'applicationMessage') throw new Error('not an application message');
  return {
    newState: r.newState,
    data: r.message,
    senderLeafIndex: sender.leafIndex,
    ratchetTree,
    groupContext,
    content: unprotected.content,
  };
}
