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
import { decryptSenderData } from 'ts-mls/privateMessage.js';

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

// ---------------------------------------------------------------- filling a gap

/** An application message as processPrivateMessage reads it, and who sent it. */
export interface ProcessedApplicationMessage {
  newState: ClientState;
  data: Uint8Array;
  /** The sender's leaf: the content's signature verified with that leaf's key. */
  senderLeafIndex: number;
  /** The ratchet tree of the message's epoch (the current one, or a retained one's). */
  ratchetTree: RatchetTree;
}

/**
 * ts-mls's processPrivateMessage for an application message, plus its sender. processPrivateMessage
 * (1.6.4) returns the data and the new state but not who sent it. The sender is the leaf its
 * sender data names: ts-mls decrypts that same sender data, puts that leaf into the framed
 * content as the sender and verifies the content's signature with that leaf's key. So this
 * decrypts the sender data with the message epoch's sender-data secret (a pure function, no state
 * change) and leaves everything else, the secret tree and the retained epochs included, to
 * processPrivateMessage.
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
  const senderData = await decryptSenderData(
    pm,
    past?.senderDataSecret ?? state.keySchedule.senderDataSecret,
    cs,
  );
  if (!senderData) throw new Error('could not decode the sender data');
  const r = await processPrivateMessage(state, pm, emptyPskIndex, cs);
  if (r.kind !== 'applicationMessage') throw new Error('not an application message');
  return {
    newState: r.newState,
    data: r.message,
    senderLeafIndex: senderData.leafIndex,
    ratchetTree: past?.ratchetTree ?? state.ratchetTree,
  };
}
