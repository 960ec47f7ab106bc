import { encodeExternalSender, proposeExternal, type CiphersuiteName, type GroupInfo } from './ts-mls.js';
import { encodeIdentity } from './credential.js';
import { encodeMls } from './messages.js';
import { DEFAULT_MLS_SUITE, mlsSuite } from './suite.js';
import type { SignatureKeyPair } from './device.js';

/**
 * The delivery service's signing identity as an MLS external sender (RFC 9420 §12.1.8.1).
 * The server holds only this signature key: it can propose that a member be removed, but it
 * never holds group secrets, and a member must commit the proposal for it to take effect.
 */
export class ExternalSender {
  private constructor(
    readonly keys: SignatureKeyPair,
    readonly suiteName: CiphersuiteName,
    readonly displayName: string,
  ) {}

  static async generate(
    suite: CiphersuiteName = DEFAULT_MLS_SUITE,
    displayName = 'Conclave server',
  ): Promise<ExternalSender> {
    const cs = await mlsSuite(suite);
    return new ExternalSender(await cs.signature.keygen(), suite, displayName);
  }

  static fromKeys(
    keys: SignatureKeyPair,
    suite: CiphersuiteName = DEFAULT_MLS_SUITE,
    displayName = 'Conclave server',
  ): ExternalSender {
    return new ExternalSender(keys, suite, displayName);
  }

  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }

  /**
   * A PublicMessage with a Remove proposal from this external sender for `leafIndex` in the
   * given group and epoch. External-sender signatures do not cover the group context (RFC 9420
   * §6.1), so the server needs only the group id and epoch, which every handshake shows in clear.
   */
  async proposeRemove(groupId: Uint8Array, epoch: bigint, leafIndex: number): Promise<Uint8Array> {
    const cs = await mlsSuite(this.suiteName);
    const externalSenders = encodeExternalSender({
      signaturePublicKey: this.keys.publicKey,
      credential: encodeIdentity({
        kind: 'server',
        deviceId: 'delivery-service',
        displayName: this.displayName,
      }),
    });
    // Only the fields proposeExternal reads: version, suite, group id, epoch and our extension
    // (to find our index in external_senders, always 0 since the group has only us).
    const groupInfo = {
      groupContext: {
        version: 'mls10',
        cipherSuite: this.suiteName,
        groupId,
        epoch,
        treeHash: new Uint8Array(0),
        confirmedTranscriptHash: new Uint8Array(0),
        extensions: [{ extensionType: 'external_senders', extensionData: externalSenders }],
      },
    } as unknown as GroupInfo;
    const msg = await proposeExternal(
      groupInfo,
      { proposalType: 'remove', remove: { removed: leafIndex } },
      this.keys.publicKey,
      this.keys.signKey,
      cs,
    );
    return encodeMls(msg);
  }
}
