/**
 * Per-KID sliding anti-replay window over SFrame CTR values (the RFC 3711 §3.3.2 scheme adapted
 * to SFrame's 64-bit counter, as RFC 9605 §9.2 suggests).
 *
 * State: the highest accepted CTR plus a bitmap of the last `size` counters, stored as a ring
 * buffer indexed by `ctr mod size`, so sliding forward only clears the slots it passes over.
 *
 *   ctr >  highest                → fresh (the window slides forward on accept)
 *   highest - ctr >= size         → too old, rejected
 *   otherwise                     → accepted once; a second time is a replay
 *
 * `check` is called before decrypting (cheap early rejection); `accept` only after the AEAD has
 * authenticated the frame, and re-checks, because two copies of one frame can be in flight in
 * parallel async decrypts. A forged frame therefore never moves the window.
 */
export class ReplayWindow {
  readonly size: number;
  private readonly sizeBig: bigint;
  private readonly bits: Uint32Array;
  /** Highest accepted CTR; -1n before the first frame, so any first CTR is "fresh". */
  private highest = -1n;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new RangeError(`replay window size must be >= 1, got ${size}`);
    this.size = size;
    this.sizeBig = BigInt(size);
    this.bits = new Uint32Array(Math.ceil(size / 32));
  }

  /** Highest accepted counter, or null before any frame was accepted. */
  get highestAccepted(): bigint | null {
    return this.highest < 0n ? null : this.highest;
  }

  private slot(ctr: bigint): number {
    return Number(ctr % this.sizeBig);
  }

  private isSet(i: number): boolean {
    return (((this.bits[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }

  private set(i: number): void {
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) | (1 << (i & 31));
  }

  private clear(i: number): void {
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) & ~(1 << (i & 31));
  }

  /** Whether `ctr` may still be accepted (not a replay, not older than the window). */
  check(ctr: bigint): boolean {
    if (ctr > this.highest) return true;
    if (this.highest - ctr >= this.sizeBig) return false;
    return !this.isSet(this.slot(ctr));
  }

  /** Records an authenticated `ctr`. Returns false (and changes nothing) if it is a replay. */
  accept(ctr: bigint): boolean {
    if (ctr > this.highest) {
      const advance = ctr - this.highest;
      if (advance >= this.sizeBig) {
        this.bits.fill(0);
      } else {
        // Clear the slots for highest+1 .. ctr: they now hold counters that left the window.
        let i = this.slot(this.highest + 1n);
        for (let n = Number(advance); n > 0; n--) {
          this.clear(i);
          i = i + 1 === this.size ? 0 : i + 1;
        }
      }
      this.highest = ctr;
      this.set(this.slot(ctr));
      return true;
    }
    if (this.highest - ctr >= this.sizeBig) return false;
    const i = this.slot(ctr);
    if (this.isSet(i)) return false;
    this.set(i);
    return true;
  }
}
