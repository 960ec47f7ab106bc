/**
 * Where each publish connection's port search starts. werift's `findPort` probes the ports of
 * its range one by one from the lowest, binding and closing a socket per port (an event-loop
 * turn each), so with n publish connections on a worker the next one probed n taken ports
 * first; under media load that took tens of milliseconds a port, serialised by the gather lock,
 * and at ~50 publishers `publishOffer` timed out after 30 s. Each connection is handed the
 * lowest port of the publish half that no other publish connection of this worker was handed:
 * its first probe finds it free. The search still runs on to the end of the half, so a port
 * taken by something else costs one more probe, never a failure.
 */
export class PublishPorts {
  private readonly handedOut = new Set<number>();

  constructor(private readonly range: [number, number]) {}

  /** The port a new connection's search starts at; `release` it when the connection is closed. */
  take(): { start: number; release(): void } {
    const [lo, hi] = this.range;
    let start = lo;
    while (start < hi && this.handedOut.has(start)) start++;
    // All handed out (more connections than ports cannot happen: the pool counts them): share.
    const own = !this.handedOut.has(start);
    if (own) this.handedOut.add(start);
    return {
      start,
      release: () => {
        if (own) this.handedOut.delete(start);
      },
    };
  }

  get inUse(): number {
    return this.handedOut.size;
  }
}
