import {
  SFrameSender,
  mediaKid,
  protectEncodedFrame,
  type FrameCodec,
  type MediaContext,
} from '@conclave/crypto';
import { LocalKeySink } from '../key-sink.js';

/**
 * TEST ONLY: the key sink of a modified client for the adversarial frame-attestation tests.
 * While `victim` is set, its camera frames go out under the victim's screen KID — which any
 * member can derive from the epoch's base key (SFrame alone does not authenticate senders) —
 * and the rest under its own. Nothing it sends that way is attested by the victim, so honest
 * receivers must flag the victim's KID as unattested (docs/architecture.md, "Frame attestation").
 */
export class ImpersonatingKeySink extends LocalKeySink {
  /** The leaf index whose screen KID the camera frames go out under (undefined: honest). */
  victim: number | undefined;
  private base: { epoch: bigint; key: Uint8Array } | undefined;
  private forged: { kid: bigint; sender: Promise<SFrameSender> } | undefined;

  override setEpoch(epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number): void {
    this.base = { epoch, key: baseKey.slice() };
    super.setEpoch(epoch, baseKey, ownLeafIndex);
  }

  override protect(context: MediaContext, codec: FrameCodec, frame: Uint8Array): Promise<Uint8Array> {
    if (context !== 'camera' || this.victim === undefined || !this.base)
      return super.protect(context, codec, frame);
    const kid = mediaKid('screen', this.victim, this.base.epoch);
    if (this.forged?.kid !== kid)
      this.forged = { kid, sender: SFrameSender.create(this.suite, kid, this.base.key) };
    return this.forged.sender.then((s) => protectEncodedFrame(s, codec, frame));
  }
}
