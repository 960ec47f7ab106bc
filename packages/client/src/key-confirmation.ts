/**
 * What a key sink whose encryptor runs elsewhere (the browser's E2EE worker) may call
 * confirmed: only the acknowledgement of the key it handed over last. An acknowledgement of a
 * key since replaced, or of one handed over before a `forget`, does not count; `forget` clears
 * the confirmation at once, without waiting for the encryptor.
 */
export class KeyConfirmation {
  /** The epoch last handed over (decimal string), undefined after `forgotten`. */
  private expected: string | undefined;
  private current: bigint | undefined;

  get confirmed(): bigint | undefined {
    return this.current;
  }

  handedOver(epoch: bigint): void {
    this.expected = String(epoch);
  }

  /** Returns whether the confirmation changed. */
  forgotten(): boolean {
    this.expected = undefined;
    return this.set(undefined);
  }

  /** The encryptor says it installed `epoch` (undefined: it dropped every key). Returns whether the confirmation changed. */
  acknowledged(epoch: string | undefined): boolean {
    if (epoch !== this.expected) return false;
    return this.set(epoch === undefined ? undefined : BigInt(epoch));
  }

  private set(epoch: bigint | undefined): boolean {
    if (this.current === epoch) return false;
    this.current = epoch;
    return true;
  }
}
