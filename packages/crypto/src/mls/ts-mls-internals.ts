/**
 * The one place that reaches into ts-mls's internal modules (pinned at 1.6.4; see the root
 * package.json). Everything here is part of ts-mls's published files but not of its index:
 * a delivery service that checks commits on public data only needs the tree, transcript and
 * signature functions that ts-mls keeps for its own client. On a ts-mls upgrade, this file and
 * `public-group.ts` are what to re-read.
 */
export { defaultClientConfig } from 'ts-mls/clientConfig.js';
export { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
export { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
export { applyProposals, nextEpochContext, validateLeafNodeUpdateOrCommit } from 'ts-mls/clientState.js';
export { applyUpdatePath } from 'ts-mls/updatePath.js';
export { treeHashRoot } from 'ts-mls/treeHash.js';
export { verifyFramedContentSignature } from 'ts-mls/framedContent.js';
export { verifyGroupInfoSignature, ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
export { createGroupInfoWithRatchetTree } from 'ts-mls/createCommit.js';
export { makeProposalRef } from 'ts-mls/authenticatedContent.js';
export type { RatchetTree } from 'ts-mls/ratchetTree.js';
export type { GroupContext } from 'ts-mls/groupContext.js';
export type { LeafNode } from 'ts-mls/leafNode.js';
