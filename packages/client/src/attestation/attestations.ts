import {
  AttestationRecorder,
  LEAF_SIGNATURE_LABELS,
  attestationDigest,
  constantTimeEqual,
  decodeAttestation,
  proofGroup,
  toBase64,
  verifyWithLeafKey,
  type AttestationBody,
  type FrameBatch,
} from '@conclave/crypto';
import type { ClipEvidence, MembershipProofWire } from '@conclave/protocol';
import type { E2eeMember, ReceivedAttestation } from '../e2ee-member.js';
import type { MediaKeySink } from '../key-sink.js';
import { AttestationStore, attestationEntry } from './attestation-store.js';
import { buildClipEvidence } from './clip-builder.js';

/** What of the MLS membership attestation uses (E2eeMember). */
type Member = Pick<
  E2eeMember,
  'epoch' | 'ownLeafIndex' | 'membershipProof' | 'signAttestation' | 'sendPayload' | 'on'
>;

/** Batches waiting to be signed and sent; beyond this the newest are dropped (a stalled channel). */
const MAX_QUEUED = 32;

/**
 * Frame attestation in the SDK (docs/architecture.md, "Frame attestation"): signs the key
 * sink's batches of our frame hashes and sends each as an MLS application payload; checks every
 * attestation another member sends (its body names the MLS sender's own leaf, our group and an
 * epoch it can be of; SignWithLabel with the sender's leaf key) and hands the verified hashes
 * to the sink's live check; keeps the verified ones, with their epochs' membership proofs, for
 * clips (`clipEvidence`). Off (the meeting's `attestation` setting, or a standard meeting):
 * nothing is signed, checked or kept, and the sink buffers nothing.
 */
export class Attestations {
  private enabled = false;
  private member: Member | undefined;
  private readonly recorder = new AttestationRecorder();
  private readonly store = new AttestationStore();
  private group: { epoch: bigint; groupId: Uint8Array } | undefined;
  /** The group id our current chains are of (a new group starts new chains). */
  private chainGroup: Uint8Array | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private warned = false;

  constructor(
    private readonly sink: MediaKeySink,
    private readonly warn: (message: string) => void,
  ) {
    sink.onFrameBatch?.((batch) => this.onBatch(batch));
  }

  /** The meeting's MLS membership (one per client; it outlives reconnects). */
  attach(member: Member): void {
    this.member = member;
    member.on('attestation', (a) => void this.onAttestation(a));
  }

  get on(): boolean {
    return this.enabled;
  }

  setEnabled(on: boolean): void {
    if (on && !this.sink.setAttestation) on = false; // a sink that cannot attest
    if (on === this.enabled) return;
    this.enabled = on;
    this.sink.setAttestation?.(on);
    this.store.clear();
    this.recorder.reset();
    this.chainGroup = undefined;
  }

  /**
   * A clip of `leafIndex`'s media of the last `seconds` as this client received it, with the
   * membership proofs its attestations point to; undefined when attestation is off or nothing of
   * that member is buffered and attested.
   */
  async clipEvidence(
    leafIndex: number,
    seconds: number,
  ): Promise<{ clip: ClipEvidence; proofs: MembershipProofWire[] } | undefined> {
    if (!this.enabled || !this.sink.clip) return undefined;
    const buffered = await this.sink.clip(leafIndex, seconds);
    if (!buffered || !this.enabled) return undefined;
    return buildClipEvidence(buffered, this.store.of(leafIndex), (e) => this.store.proofOf(e));
  }

  /** Our group's id, read once per epoch from the membership proof. */
  private groupId(): Uint8Array | undefined {
    const epoch = this.member?.epoch;
    if (epoch === undefined) return undefined;
    if (this.group?.epoch !== epoch) {
      const proof = this.member?.membershipProof(epoch);
      if (!proof) return undefined;
      this.group = { epoch, groupId: proofGroup(proof).groupId };
    }
    return this.group.groupId;
  }

  private onBatch(batch: FrameBatch): void {
    if (!this.enabled || this.queued >= MAX_QUEUED) return;
    this.queued++;
    this.queue = this.queue
      .then(() => this.send(batch))
      .catch((e: unknown) => {
        if (this.warned) return;
        this.warned = true;
        this.warn(`could not send a frame attestation: ${(e as Error).message}`);
      })
      .finally(() => this.queued--);
  }

  private async send(batch: FrameBatch): Promise<void> {
    const m = this.member;
    if (!this.enabled || !m || m.ownLeafIndex !== batch.leafIndex) return;
    const groupId = this.groupId();
    if (!groupId) return;
    if (!this.chainGroup || !constantTimeEqual(this.chainGroup, groupId)) {
      this.recorder.reset();
      this.chainGroup = groupId;
    }
    const r = this.recorder.next(groupId, batch);
    const signature = await m.signAttestation(r.encoded);
    if (!signature || !this.enabled) return;
    await m.sendPayload({ kind: 'attestation', body: toBase64(r.encoded), signature: toBase64(signature) });
    // Our own send went through: the application-message channel flows (the live check waits
    // while it does not); our own hashes are never observed.
    this.sink.acceptAttestation?.(r.body);
  }

  private async onAttestation(a: ReceivedAttestation): Promise<void> {
    if (!this.enabled) return;
    const why = await this.refusal(a);
    if (typeof why === 'string') {
      this.warn(`ignored a frame attestation from ${a.sender.identity.displayName}: ${why}`);
      return;
    }
    if (!this.enabled) return;
    const body = why;
    this.sink.acceptAttestation?.(body);
    this.store.add(
      attestationEntry(body, a.body, a.signature, attestationDigest(a.body), {
        signer: a.sender.signaturePublicKey,
        messageEpoch: a.epoch,
        receivedAt: Date.now(),
      }),
      (epoch) => this.member?.membershipProof(epoch),
    );
  }

  /** The decoded body when it is acceptable, else why not. */
  private async refusal(a: ReceivedAttestation): Promise<AttestationBody | string> {
    let body: AttestationBody;
    try {
      body = decodeAttestation(a.body);
    } catch (e) {
      return (e as Error).message;
    }
    if (body.leafIndex !== a.sender.leafIndex) return `it names leaf ${body.leafIndex}, not the sender's`;
    const groupId = this.groupId();
    if (!groupId || !constantTimeEqual(groupId, body.groupId)) return 'it is of another group';
    if (body.epoch > a.epoch || a.epoch - body.epoch >= 16n)
      return `epoch ${body.epoch} cannot be sent in ${a.epoch}`;
    const ok = await verifyWithLeafKey(
      a.sender.signaturePublicKey,
      LEAF_SIGNATURE_LABELS.frameAttestation,
      a.body,
      a.signature,
    );
    return ok ? body : 'its signature does not verify';
  }
}
