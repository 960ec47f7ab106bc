/** Waits until `pred` holds, polling every 10 ms; fails with `what` after `ms`. Resolves with the time it took. */
export async function until(pred: () => boolean, what: string, ms = 5_000): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
