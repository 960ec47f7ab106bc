import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  type ConnectionLimitSettings,
} from '../src/meeting/connection-limits.js';
import { fakeClock } from './helpers.js';

const SETTINGS: ConnectionLimitSettings = {
  maxSocketsPerAddress: 3,
  maxSocketsPerNetwork: 5,
  joinsPerMinutePerAddress: 4,
  joinsPerMinutePerNetwork: 6,
};

let clock: ReturnType<typeof fakeClock>;
const made: ConnectionLimits[] = [];
beforeEach(() => {
  // The sweep runs on a real interval: fake only the timers, the limits read the fake clock.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  clock = fakeClock();
});
afterEach(() => {
  for (const l of made.splice(0)) l.close();
  vi.useRealTimers();
});

function limits(settings: ConnectionLimitSettings = SETTINGS): ConnectionLimits {
  const l = new ConnectionLimits(settings, clock.now);
  made.push(l);
  return l;
}

/** Lets `ms` pass on the clock and on the timers (so the once-a-minute sweep runs). */
function pass(ms: number): void {
  clock.advance(ms);
  vi.advanceTimersByTime(ms);
}

/** The limiter's maps, to check that memory follows the load. */
function sizes(l: ConnectionLimits): { sockets: number; buckets: number } {
  const inner = l as unknown as { sockets: Map<string, number>; buckets: Map<string, unknown> };
  return { sockets: inner.sockets.size, buckets: inner.buckets.size };
}

function open(l: ConnectionLimits, ip: string): () => void {
  const r = l.openSocket(ip);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.release;
}

describe('ConnectionLimits: sockets', () => {
  it('caps sockets per address, then per network (/24), with messages naming the limit', () => {
    const l = limits();
    for (let i = 0; i < 3; i++) open(l, '198.51.100.1');
    expect(l.openSocket('198.51.100.1')).toEqual({
      ok: false,
      message: expect.stringMatching(/your address \(at most 3\)/),
    });
    // Neighbours in the /24 share the network's 5.
    open(l, '198.51.100.2');
    open(l, '198.51.100.3');
    expect(l.openSocket('198.51.100.4')).toEqual({
      ok: false,
      message: expect.stringMatching(/your network \(at most 5\)/),
    });
    // IPv4-mapped IPv6 is the same network.
    expect(l.openSocket('::ffff:198.51.100.9').ok).toBe(false);
    // Another /24 has its own.
    for (let i = 0; i < 3; i++) open(l, '198.51.101.1');
  });

  it('counts an IPv6 /64 as one network', () => {
    const l = limits();
    open(l, '2001:db8:1:2::1');
    open(l, '2001:db8:1:2::2');
    open(l, '2001:db8:1:2:aaaa::3');
    open(l, '2001:0db8:0001:0002::4');
    open(l, '2001:db8:1:2::5');
    expect(l.openSocket('2001:db8:1:2:ffff:ffff:ffff:ffff').ok).toBe(false);
    expect(l.openSocket('2001:db8:1:3::1').ok).toBe(true);
  });

  it('release gives the slot back once; a refused socket holds nothing', () => {
    const l = limits();
    const releases = [open(l, '203.0.113.1'), open(l, '203.0.113.1'), open(l, '203.0.113.1')];
    // Refusals do not count: many of them change nothing.
    for (let i = 0; i < 50; i++) expect(l.openSocket('203.0.113.1').ok).toBe(false);
    releases[0]!();
    releases[0]!(); // twice: still one slot
    releases[0]!();
    const again = open(l, '203.0.113.1');
    expect(l.openSocket('203.0.113.1').ok).toBe(false);
    // Network: 3 of this address + 2 of a neighbour = 5; a refused neighbour holds nothing.
    open(l, '203.0.113.2');
    open(l, '203.0.113.2');
    for (let i = 0; i < 20; i++) expect(l.openSocket('203.0.113.3').ok).toBe(false);
    again();
    open(l, '203.0.113.3');
    expect(l.openSocket('203.0.113.3').ok).toBe(false);
  });

  it('forgets an address and a network once their last socket is released', () => {
    const l = limits();
    const all = [];
    for (let n = 0; n < 100; n++) for (let a = 1; a <= 2; a++) all.push(open(l, `10.0.${n}.${a}`));
    expect(sizes(l).sockets).toBe(100 * 2 + 100);
    for (const release of all) release();
    expect(sizes(l).sockets).toBe(0);
  });
});

describe('ConnectionLimits: joins per minute', () => {
  it('allows a minute’s worth per address, then refuses until tokens refill', () => {
    const l = limits();
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
    // A quarter of a minute refills one of the four.
    pass(14_000);
    expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
    pass(2_000);
    expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
    // A full minute refills all four, never more (no saving up while idle).
    pass(10 * 60_000);
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
  });

  it('shares a budget per network; an address over its own limit does not spend the network’s', () => {
    const l = limits();
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
    // 6 per network: 2 left for the neighbours.
    expect(l.takeJoin('192.0.2.2')).toBeUndefined();
    expect(l.takeJoin('192.0.2.3')).toBeUndefined();
    expect(l.takeJoin('192.0.2.4')).toMatch(/from your network/);
    expect(l.takeJoin('192.0.2.5')).toMatch(/from your network/);
    // Refused by the network, the address keeps its tokens.
    pass(15_000); // the network refills 1.5
    expect(l.takeJoin('192.0.2.4')).toBeUndefined();
    // Other networks are untouched.
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.3.1')).toBeUndefined();
  });

  it('defaults: 60 per address and 240 per network per minute', () => {
    expect(DEFAULT_CONNECTION_LIMITS).toMatchObject({
      joinsPerMinutePerAddress: 60,
      joinsPerMinutePerNetwork: 240,
    });
    const l = limits(DEFAULT_CONNECTION_LIMITS);
    for (let i = 0; i < 60; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    expect(l.takeJoin('192.0.2.1')).toBeDefined();
  });
});

describe('ConnectionLimits: memory', () => {
  it('the once-a-minute sweep drops buckets that are full again and keeps the ones still spent', () => {
    const l = limits();
    // 1,000 networks of 3 addresses each try once.
    for (let n = 0; n < 1000; n++)
      for (let a = 1; a <= 3; a++) expect(l.takeJoin(`10.${n >> 8}.${n & 255}.${a}`)).toBeUndefined();
    // One address spends everything.
    for (let i = 0; i < 4; i++) l.takeJoin('192.0.2.1');
    expect(sizes(l).buckets).toBe(1000 * 4 + 2);

    // Until the sweep runs (every 60 s), the buckets stay.
    pass(59_000);
    expect(sizes(l).buckets).toBe(1000 * 4 + 2);
    // At the sweep every bucket is full again and goes.
    pass(1_000);
    expect(sizes(l).buckets).toBe(0);

    // A bucket still spent when the sweep runs stays, so sweeping never lifts a limit early.
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    pass(30_000); // 2 tokens back
    for (let i = 0; i < 2; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    pass(30_000); // the sweep: the address has 2 of 4 (kept), its network 6 of 6 (dropped)
    expect(sizes(l).buckets).toBe(1);
    for (let i = 0; i < 2; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
    expect(l.takeJoin('192.0.2.1')).toMatch(/from your address/);
    pass(60_000);
    expect(sizes(l).buckets).toBe(0);
    for (let i = 0; i < 4; i++) expect(l.takeJoin('192.0.2.1')).toBeUndefined();
  });

  it('close stops the sweep timer', () => {
    const l = limits();
    expect(vi.getTimerCount()).toBe(1);
    l.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
