import { describe, expect, it } from 'vitest';
import { parseLoadArgs, type LoadOptions } from '../src/load/args.js';
import { botMessageSchema, loadOps, loadRequestSchema } from '../src/load/ipc.js';
import { formatReport, formatSummary, type LoadReport } from '../src/load/report.js';
import { cpuPercent, percentile, summarize } from '../src/load/stats.js';

const env = { CONCLAVE_PASSWORD: 'secret password' };

function run(argv: string[], e: Record<string, string | undefined> = env): LoadOptions {
  const r = parseLoadArgs(argv, e);
  if (r.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(r)}`);
  return r.options;
}

function error(argv: string[], e: Record<string, string | undefined> = env): string {
  const r = parseLoadArgs(argv, e);
  if (r.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe('conclave load arguments', () => {
  it('has defaults for everything but the server', () => {
    const o = run(['--embedded']);
    expect(o).toMatchObject({
      target: { kind: 'embedded' },
      meeting: 'new',
      members: 10,
      media: true,
      churnPerMinute: 0,
      seconds: 10,
      joinRate: 5,
      lastN: 9,
      speakers: 3,
      joinTimeoutMs: 60_000,
      audioFps: 10,
      videoFps: 5,
      attestation: false,
      mode: 'e2ee',
      json: false,
    });
    expect(o.processes).toBeGreaterThanOrEqual(1);
  });

  it('reads every flag', () => {
    const o = run([
      ...['--server', 'https://meet.example.org/some/path', '--meeting', 'abc_DEF-12'],
      ...['--members', '50', '--processes', '3', '--no-media', '--churn', '7.5', '--seconds', '0'],
      ...['--join-rate', '0.5', '--last-n', '0', '--speakers', '0', '--audio-fps', '50', '--video-fps', '30'],
      ...['--passcode', 'pass123', '--host-secret', 'hs', '--email', 'a@example.org', '--json'],
    ]);
    expect(o).toMatchObject({
      target: { kind: 'server', url: 'https://meet.example.org' },
      meeting: 'abc_DEF-12',
      members: 50,
      processes: 3,
      media: false,
      churnPerMinute: 7.5,
      seconds: 0,
      joinRate: 0.5,
      lastN: 0,
      speakers: 0,
      audioFps: 50,
      videoFps: 30,
      passcode: 'pass123',
      hostSecret: 'hs',
      email: 'a@example.org',
      password: 'secret password',
      json: true,
    });
    expect(run(['--embedded', '--standard']).mode).toBe('standard');
    expect(run(['--embedded', '--attestation']).attestation).toBe(true);
    expect(run(['--embedded', '--media']).media).toBe(true);
  });

  it('asks for help', () => {
    expect(parseLoadArgs(['--help'], env)).toEqual({ kind: 'help' });
    expect(parseLoadArgs(['-h', '--members', 'x'], env)).toEqual({ kind: 'help' });
  });

  it('refuses what it cannot run, naming the flag', () => {
    expect(error([])).toMatch(/--embedded or --server/);
    expect(error(['--embedded', '--server', 'http://a'])).toMatch(/--embedded or --server/);
    expect(error(['--server', 'ftp://a', '--meeting', 'x'])).toMatch(/--server must be/);
    expect(error(['--server', 'not a url', '--meeting', 'x'])).toMatch(/--server must be/);
    expect(error(['--embedded', '--meeting', 'abc'])).toMatch(/always new/);
    expect(error(['--server', 'http://a'])).toMatch(/needs an account/);
    expect(error(['--server', 'http://a', '--email', 'e@x.org'], {})).toMatch(/CONCLAVE_PASSWORD/);
    expect(error(['--server', 'http://a', '--meeting', 'bad id!'])).toMatch(/--meeting/);
    expect(error(['--server', 'http://a', '--meeting', 'm1', '--standard'])).toMatch(/new meeting/);
    expect(error(['--embedded', '--standard', '--attestation'])).toMatch(/--attestation is for E2EE/);
    expect(error(['--embedded', '--members', '0'])).toMatch(
      /--members must be an integer from 1 to 1000, not "0"/,
    );
    expect(error(['--embedded', '--members', '2.5'])).toMatch(/--members must be an integer/);
    expect(error(['--embedded', '--members', ''])).toMatch(/--members/);
    expect(error(['--embedded', '--members', '1001'])).toMatch(/--members/);
    expect(error(['--embedded', '--processes', '0'])).toMatch(/--processes/);
    expect(error(['--embedded', '--churn', '-1'])).toMatch(/--churn/);
    expect(error(['--embedded', '--churn', 'NaN'])).toMatch(/--churn/);
    expect(error(['--embedded', '--seconds', 'Infinity'])).toMatch(/--seconds/);
    expect(error(['--embedded', '--join-rate', '0'])).toMatch(/--join-rate/);
    expect(error(['--embedded', '--last-n', '50'])).toMatch(/--last-n/);
    expect(error(['--embedded', '--audio-fps', '0'])).toMatch(/--audio-fps/);
    expect(error(['--embedded', '--join-timeout', '0'])).toMatch(/--join-timeout/);
    expect(error(['--embedded', '--video-fps', '31'])).toMatch(/--video-fps/);
    expect(error(['--embedded', '--members', '1', '--churn', '1'])).toMatch(/--churn needs --members 2/);
    expect(error(['--embedded', '--bogus'])).toMatch(/bogus/);
    expect(error(['--embedded', 'positional'])).toMatch(/positional/);
  });
});

describe('percentiles and summaries', () => {
  it('uses the nearest rank: every figure is a measured value', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 95)).toBe(5);
    expect(percentile(xs, 100)).toBe(5);
    expect(percentile(xs, 1)).toBe(1);
    const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1
    expect(percentile(twenty, 95)).toBe(19);
    expect(percentile(twenty, 50)).toBe(10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile(xs, 0)).toThrow(RangeError);
    expect(() => percentile(xs, 101)).toThrow(RangeError);
    expect(xs).toEqual([5, 1, 4, 2, 3]); // not sorted in place
  });

  it('summarizes', () => {
    expect(summarize([300, 100, 200])).toEqual({ count: 3, p50Ms: 200, p95Ms: 300, maxMs: 300 });
    expect(summarize([])).toEqual({ count: 0, p50Ms: null, p95Ms: null, maxMs: null });
    expect(formatSummary(summarize([1200.4, 80]))).toBe('p50 80 ms, p95 1200 ms, max 1200 ms (2)');
    expect(formatSummary(summarize([]))).toBe('none');
  });

  it('turns two CPU samples into % of one core', () => {
    const a = { at: 1000, cpuMicros: 0, rssBytes: 1 };
    expect(cpuPercent(a, { at: 2000, cpuMicros: 1_500_000, rssBytes: 1 })).toBe(150);
    expect(cpuPercent(a, { at: 1000, cpuMicros: 5, rssBytes: 1 })).toBeNull();
    expect(cpuPercent({ ...a, cpuMicros: 10 }, { at: 2000, cpuMicros: 5, rssBytes: 1 })).toBeNull();
  });
});

const report: LoadReport = {
  ok: false,
  interrupted: false,
  error: null,
  server: {
    url: 'http://127.0.0.1:1',
    embedded: true,
    sfuWorkers: 2,
    sfuPids: [43, 44],
    ramp: { cpuPercent: 41.4, rssBytes: 200 * 2 ** 20 },
    steady: { cpuPercent: 12, rssBytes: 210 * 2 ** 20 },
    sfuRamp: { cpuPercent: 80, rssBytes: 300 * 2 ** 20 },
    sfuSteady: { cpuPercent: null, rssBytes: 310 * 2 ** 20 },
  },
  machine: { cores: 2, rampPercent: 150, steadyPercent: 90.4, load1: [1.5, 3.25] },
  meeting: { id: 'm1', mode: 'e2ee', attestation: false },
  options: {
    members: 50,
    processes: 2,
    media: true,
    churnPerMinute: 6,
    seconds: 30,
    joinRate: 5,
    lastN: 9,
    speakers: 3,
    audioFps: 5,
    videoFps: 2,
  },
  durationMs: 60_000,
  steadyMs: 30_000,
  members: { peak: 50, atEnd: 49 },
  joins: {
    ...summarize([400, 500, 900]),
    failed: 1,
    ramp: summarize([400, 500]),
    steady: summarize([900]),
    phasesP50Ms: { joined: 20, e2ee: 150, connected: 300, firstFrame: 350, media: 500 },
    errors: ['bot-7: join refused: meeting_full'],
    atTarget: [],
  },
  rekey: { ...summarize([700]), failed: 1 },
  frames: { sent: 1000, decryptFailures: 2, withoutKey: 30 },
  coverage: {
    checked: 49,
    complete: 48,
    withStatus: 49,
    meanShown: 12.5,
    missing: [{ bot: 'bot-3', senders: ['bot-9'] }],
  },
  bots: [{ pid: 42, bots: 25, ramp: { cpuPercent: 90, rssBytes: 2 ** 30 }, steady: null }],
  warnings: [['a warning #', 3]],
  notes: ['a note'],
};

describe('report', () => {
  it('prints every figure, failures in capitals', () => {
    const text = formatReport(report).join('\n');
    for (const s of [
      'meeting m1 (e2ee, attestation off): target 50 members, peak 50, at the end 49',
      'media 5 audio + 2 video frames/s per bot, last-N 9, 3 speaking',
      'churn 6/min for 30 s',
      'join → E2EE active and every shown sender decrypted: p50 500 ms, p95 900 ms, max 900 ms (3); 1 FAILED',
      'while growing: p50 400 ms, p95 500 ms, max 500 ms (2); at the target size: p50 900 ms',
      'medians: joined 20 ms, E2EE active 150 ms, subscribe connection up 300 ms, first frame 350 ms, all shown senders decrypted 500 ms',
      'failed: bot-7: join refused: meeting_full',
      'rekey on leave (every remaining member in an epoch without the leaver): p50 700 ms, p95 700 ms, max 700 ms (1); 1 NOT reached in 30 s',
      'frames: 1000 sent, 2 decrypt failures, 30 without a key',
      'members decrypting every shown sender (last 3 s): 48 of 49 (12.5 shown senders each on average, 49 with the SFU',
      'bot-3 missing bot-9',
      'server process: CPU 41 % growing, 12 % steady, RSS 210 MiB; 2 SFU workers: CPU 80 % growing, - steady, RSS 310 MiB',
      'bot process 42 (25 bots at the end): CPU 90 % growing, - steady, RSS 1024 MiB',
      'machine (2 cores, every process): CPU 150 % growing, 90 % steady; load average 1.5 → 3.3',
      '3× a warning #',
      'note: a note',
    ])
      expect(text).toContain(s);
    const standard = formatReport({
      ...report,
      meeting: { id: 'm2', mode: 'standard', attestation: null },
      options: { ...report.options, media: false },
      server: { ...report.server, embedded: false },
      interrupted: true,
      error: 'boom',
    }).join('\n');
    expect(standard).toContain('meeting m2 (standard): target');
    expect(standard).toContain('no media');
    expect(standard).toContain('join → E2EE active:');
    expect(standard).not.toContain('rekey on leave');
    expect(standard).not.toContain('members decrypting');
    expect(standard).not.toContain('server process');
    expect(standard).toContain('INTERRUPTED');
    expect(standard).toContain('FAILED: boom');
  });
});

describe('IPC schemas', () => {
  it('checks requests, answers and op arguments', () => {
    expect(loadRequestSchema.safeParse({ id: 1, op: 'join', args: { bot: 'b' } }).success).toBe(true);
    expect(loadRequestSchema.safeParse({ id: 1, op: 'rm -rf', args: {} }).success).toBe(false);
    expect(loadRequestSchema.safeParse({ id: 'x', op: 'stats', args: {} }).success).toBe(false);
    expect(loadOps.join.args.safeParse({ bot: '' }).success).toBe(false);
    expect(loadOps.join.args.safeParse({ bot: 'x'.repeat(65) }).success).toBe(false);
    expect(loadOps.watchResult.args.safeParse({ watch: 1, timeoutMs: 0 }).success).toBe(false);
    expect(botMessageSchema.safeParse({ type: 'answer', id: 3, ok: true, result: null }).success).toBe(true);
    expect(botMessageSchema.safeParse({ type: 'answer', id: 3, ok: false, error: 'no' }).success).toBe(true);
    expect(botMessageSchema.safeParse({ type: 'answer', id: 3, ok: false }).success).toBe(false);
    expect(botMessageSchema.safeParse({ type: 'ready' }).success).toBe(false);
    expect(
      loadOps.join.result.safeParse({
        bot: 'b',
        ok: true,
        ms: 1,
        phases: { joined: 1, e2ee: null, connected: null, firstFrame: null, media: null },
        expected: 0,
        decrypted: 0,
        present: true,
      }).success,
    ).toBe(true);
    expect(loadOps.join.result.safeParse({ bot: 'b', ok: true, ms: 1 }).success).toBe(false);
  });
});
