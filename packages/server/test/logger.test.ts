import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from '../src/index.js';
import { fakeClock, memoryLogger } from './helpers.js';

describe('logger', () => {
  it('redacts passcodes, host secrets, tokens and keys', () => {
    const { logger, lines } = memoryLogger();
    logger.info({ passcode: 'p-top', hostSecret: 'hs-top', token: 't-top' }, 'top level');
    logger.info(
      {
        frame: {
          type: 'join',
          passcode: 'p-nested',
          hostSecret: 'hs-nested',
          resume: { participantId: 'x', token: 't-resume' },
        },
      },
      'a join',
    );
    logger.info(
      { joined: { resumeToken: 'rt-nested' }, key: { privateKey: 'pk', signKey: 'sk' } },
      'secrets',
    );
    logger.info(
      { req: { headers: { 'x-host-secret': 'hs-header', authorization: 'Bearer abc', cookie: 'sid=1' } } },
      'headers',
    );
    const text = lines.join('\n');
    for (const secret of [
      'p-top',
      'hs-top',
      't-top',
      'p-nested',
      'hs-nested',
      't-resume',
      'rt-nested',
      'pk',
      'sk',
      'hs-header',
      'Bearer abc',
      'sid=1',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({ msg: 'a join' });
  });
});

describe('TokenBucketLimiter', () => {
  it('refills over time and forgets idle clients', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ capacity: 2, refillPerSecond: 1, now: clock.now, maxKeys: 3 });
    expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a')).toEqual({ ok: true });
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    clock.advance(500);
    expect(limiter.take('a').ok).toBe(false);
    clock.advance(500);
    expect(limiter.take('a').ok).toBe(true);
    for (const k of ['b', 'c', 'd', 'e']) limiter.take(k);
    expect(limiter.size).toBe(3); // bounded: the least recently used went first
    clock.advance(61_000);
    limiter.take('f');
    expect(limiter.size).toBe(1); // full buckets were swept
    expect(() => new TokenBucketLimiter({ capacity: 0, refillPerSecond: 1 })).toThrow(RangeError);
  });
});
