/** The first retry after a failed offer, doubled after each further failure up to `RETRY_MAX_MS`. */
export const RETRY_FIRST_MS = 500;
export const RETRY_MAX_MS = 30_000;

/**
 * When a subscribe connection makes its next offer: the changes of one event-loop turn (a
 * publisher's audio and video) go into one offer, only one offer is outstanding at a time (the
 * next waits for the answer), and an offer that could not be made is tried again with a growing
 * delay, so a participant is never left without the streams it should receive.
 */
export class OfferScheduler {
  private scheduled = false;
  private making = false;
  private awaitingAnswer = false;
  private dirty = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param make makes and sends an offer; resolves false when there was nothing to offer.
   * @param onError a failed `make`, and the delay before it is tried again.
   */
  constructor(
    private readonly make: () => Promise<boolean>,
    private readonly onError: (err: unknown, retryInMs: number) => void,
  ) {}

  /** Something the offer carries changed: offer again (now, or once the pending answer came). */
  request(): void {
    if (this.closed) return;
    if (this.making || this.awaitingAnswer || this.retryTimer) {
      this.dirty = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  /** The outstanding offer was answered, or withdrawn: the next one may go out. */
  answered(): void {
    this.awaitingAnswer = false;
    if (this.dirty) {
      this.dirty = false;
      this.request();
    }
  }

  /** Whether an offer is out and not yet answered. */
  get pending(): boolean {
    return this.awaitingAnswer;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async run(): Promise<void> {
    if (this.closed) return;
    this.making = true;
    this.dirty = false;
    let sent: boolean;
    try {
      sent = await this.make();
      this.failures = 0;
    } catch (err) {
      this.making = false;
      if (this.closed) return;
      const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.failures++);
      this.onError(err, delay);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.run();
      }, delay);
      this.retryTimer.unref();
      return;
    }
    this.making = false;
    if (sent) this.awaitingAnswer = true;
    else if (this.dirty) this.answered();
  }
}
