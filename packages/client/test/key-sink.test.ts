import { afterEach, describe, expect, it } from 'vitest';
import type { SenderStats } from '@conclave/crypto';
import type { ConclaveClient, MediaKeySink } from '../src/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

/**
 * A key sink that behaves like a worker: keys are installed only when the test says so
 * (`confirm`), as the browser's E2EE worker acknowledges them.
 */
class SlowSink implements MediaKeySink {
  readonly suite = 4;
  readonly nk = 16;
  confirmedEpoch: bigint | undefined;
  received: { epoch: bigint; zeroedAfterCall: Uint8Array }[] = [];
  forgotten = 0;
  private readonly cbs = new Set<() => void>();

  setEpoch(epoch: bigint, baseKey: Uint8Array): void {
    // keep the caller's buffer itself: the SDK must wipe its copy after handing it over
    this.received.push({ epoch, zeroedAfterCall: baseKey });
  }
  forget(): void {
    this.forgotten++;
    this.confirmedEpoch = undefined;
    this.changed();
  }
  senderStats(): ReadonlyMap<number, SenderStats> {
    return new Map();
  }
  onChange(cb: () => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
  confirm(): void {
    this.confirmedEpoch = this.received.at(-1)?.epoch;
    this.changed();
  }
  private changed(): void {
    for (const cb of this.cbs) cb();
  }
}

let server: HubServer | undefined;
const clients: ConclaveClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients.length = 0;
  await server?.close();
});

describe('the key sink owns the media keys', () => {
  it('e2ee.active follows what the sink confirmed, not the group; the SDK keeps no copy of a key', async () => {
    server = await startHubServer();
    const { id, hostSecret } = server.directory.add('sink');
    const sink = new SlowSink();
    const host = client(server, id, 'host', { hostSecret, keySink: sink });
    clients.push(host);
    let mediaEvents = 0;
    host.on('media', () => mediaEvents++);
    await host.connect();
    await until(
      () => host.e2ee.epoch !== undefined && sink.received.length > 0,
      'the group and its first key',
    );
    // The group is there and healthy, but the encryptor has not confirmed: not active (no green badge).
    expect(host.e2ee.health).toBe('ok');
    expect(host.e2ee.active).toBe(false);
    // the buffer handed over was wiped by the SDK once the sink had it
    expect(sink.received[0]!.zeroedAfterCall.every((b) => b === 0)).toBe(true);
    expect(sink.received[0]!.zeroedAfterCall).toHaveLength(16);
    sink.confirm();
    expect(mediaEvents).toBeGreaterThan(0);
    expect(host.e2ee.active).toBe(true);
    // a new epoch the sink has not confirmed yet: not active until it does
    const bob = client(server, id, 'bob');
    clients.push(bob);
    await bob.connect();
    await until(() => host.roster().length === 2, 'bob added');
    await until(() => sink.received.at(-1)!.epoch === host.e2ee.epoch, 'the new epoch key');
    expect(host.e2ee.active).toBe(false);
    sink.confirm();
    expect(host.e2ee.active).toBe(true);
    await host.leave();
    expect(sink.forgotten).toBeGreaterThan(0);
    expect(host.e2ee.active).toBe(false);
  });
});
