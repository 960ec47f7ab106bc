import { fromBase64, readMlsFraming, constantTimeEqual, type ExternalSender } from '@conclave/crypto';
import { ProtocolError } from '@conclave/protocol';

/**
 * The MLS delivery service of one meeting session. It orders handshake messages: a commit is
 * accepted only for the current epoch (first commit wins), after which the epoch advances.
 * It holds the group id, the epoch and each member's leaf index — nothing it could decrypt with.
 */
export class DeliveryService {
  private group: { groupId: Uint8Array; groupIdB64: string; epoch: bigint } | undefined;

  constructor(private readonly externalSender: ExternalSender) {}

  get exists(): boolean {
    return this.group !== undefined;
  }

  get epoch(): bigint | undefined {
    return this.group?.epoch;
  }

  get info(): { groupId: string; epoch: string } | null {
    return this.group ? { groupId: this.group.groupIdB64, epoch: String(this.group.epoch) } : null;
  }

  create(groupIdB64: string): void {
    if (this.group) throw new ProtocolError('group_exists', 'this meeting already has an MLS group');
    const groupId = fromBase64(groupIdB64);
    if (groupId.length < 8 || groupId.length > 64)
      throw new ProtocolError('bad_request', 'group id must be 8-64 bytes');
    this.group = { groupId, groupIdB64, epoch: 0n };
  }

  /** Forgets the group (everyone left, or the meeting restarts its E2EE session). */
  reset(): void {
    this.group = undefined;
  }

  /**
   * Checks a commit against the current epoch and group, and advances the epoch.
   * The framing (group id, epoch, content type) is in clear in every MLS message; the server
   * reads only that.
   */
  acceptCommit(
    epochClaimed: string,
    commitB64: string,
    welcomeB64: string | undefined,
  ): { epoch: bigint; newEpoch: bigint } {
    const group = this.requireGroup();
    if (BigInt(epochClaimed) !== group.epoch) {
      throw new ProtocolError(
        'stale_epoch',
        `commit for epoch ${epochClaimed}, the group is at epoch ${group.epoch}`,
      );
    }
    let framing;
    try {
      framing = readMlsFraming(fromBase64(commitB64));
    } catch (e) {
      throw new ProtocolError('bad_mls_message', `commit does not parse: ${(e as Error).message}`);
    }
    if (framing.wireformat !== 'mls_private_message' && framing.wireformat !== 'mls_public_message') {
      throw new ProtocolError(
        'bad_mls_message',
        `a commit must be a private or public message, not ${framing.wireformat}`,
      );
    }
    if (framing.contentType !== 'commit')
      throw new ProtocolError('bad_mls_message', 'message is not a commit');
    if (!framing.groupId || !constantTimeEqual(framing.groupId, group.groupId)) {
      throw new ProtocolError('bad_mls_message', 'commit is for another group');
    }
    if (framing.epoch !== group.epoch) {
      throw new ProtocolError(
        'stale_epoch',
        `commit framing says epoch ${framing.epoch}, the group is at epoch ${group.epoch}`,
      );
    }
    if (welcomeB64 !== undefined) {
      let wf;
      try {
        wf = readMlsFraming(fromBase64(welcomeB64)).wireformat;
      } catch (e) {
        throw new ProtocolError('bad_mls_message', `Welcome does not parse: ${(e as Error).message}`);
      }
      if (wf !== 'mls_welcome') throw new ProtocolError('bad_mls_message', 'welcome field is not a Welcome');
    }
    const epoch = group.epoch;
    group.epoch += 1n;
    return { epoch, newEpoch: group.epoch };
  }

  /** Checks an application message's framing: this group, current or an earlier epoch. */
  checkApplication(epochClaimed: string, dataB64: string): void {
    const group = this.requireGroup();
    let framing;
    try {
      framing = readMlsFraming(fromBase64(dataB64));
    } catch (e) {
      throw new ProtocolError(
        'bad_mls_message',
        `application message does not parse: ${(e as Error).message}`,
      );
    }
    if (framing.wireformat !== 'mls_private_message' || framing.contentType !== 'application') {
      throw new ProtocolError('bad_mls_message', 'not an MLS application message');
    }
    if (!framing.groupId || !constantTimeEqual(framing.groupId, group.groupId)) {
      throw new ProtocolError('bad_mls_message', 'application message is for another group');
    }
    if (
      framing.epoch === undefined ||
      framing.epoch > group.epoch ||
      String(framing.epoch) !== epochClaimed
    ) {
      throw new ProtocolError(
        'stale_epoch',
        `application message epoch ${framing.epoch} does not fit group epoch ${group.epoch}`,
      );
    }
  }

  /** An external Remove proposal for `leafIndex` in the current epoch, signed with the server's key. */
  proposeRemove(leafIndex: number): Promise<Uint8Array> {
    const group = this.requireGroup();
    return this.externalSender.proposeRemove(group.groupId, group.epoch, leafIndex);
  }

  private requireGroup() {
    if (!this.group) throw new ProtocolError('no_group', 'this meeting has no MLS group yet');
    return this.group;
  }
}
