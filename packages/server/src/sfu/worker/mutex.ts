/**
 * A promise-chain mutex: runs the critical sections one after the other. A section that does
 * not settle within `holdLimitMs` stops holding the lock (werift never settles
 * setLocalDescription on a connection closed meanwhile), so one stuck call cannot block the
 * worker's later ones; the section's own promise still settles (or not) on its own.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly holdLimitMs = 10_000) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.holdLimitMs);
      timer.unref();
    });
    this.tail = Promise.race([result.catch(() => undefined), limit]).finally(() => clearTimeout(timer));
    return result;
  }
}
