import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '../../src/load/report.js';

// `conclave load --embedded` end to end: a server in the command's own process, bots in two
// child processes, a short steady state with churn. Runs in scripts/netns.mjs (loopback only).

const bin = fileURLToPath(new URL('../../bin/conclave.mjs', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls until none of `pids` runs (a process gone a moment after its parent exited). */
async function gone(pids: number[], ms = 5_000): Promise<number[]> {
  const t0 = Date.now();
  while (pids.some(alive) && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

interface Run {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number | null>;
  /** Resolves with the first output line that matches. */
  line(re: RegExp): Promise<string>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [bin, 'load', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CONCLAVE_LOG_LEVEL: 'error' },
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      for (const w of [...waiters]) if (w.re.test(l)) w.resolve(l);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== 2 && code !== 130) console.error(stderr);
      resolve(code);
    }),
  );
  return {
    child,
    lines,
    exit,
    line: (re) =>
      new Promise((resolve) => {
        const hit = lines.find((l) => re.test(l));
        if (hit) resolve(hit);
        else waiters.push({ re, resolve });
      }),
  };
}

describe('conclave load --embedded', () => {
  it('6 E2EE members over 2 processes with churn: every join and rekey timed, every member decrypts the shown senders, nothing left running', async () => {
    const run = start([
      ...['--embedded', '--members', '6', '--processes', '2'],
      ...['--churn', '20', '--seconds', '8', '--join-rate', '4', '--json'],
    ]);
    const code = await run.exit;
    expect(code).toBe(0);
    // progress lines while it ran, then the report, then one JSON object
    expect(run.lines.some((l) => /^joining: \d+ members/.test(l))).toBe(true);
    expect(run.lines.some((l) => /^steady: \d+ members/.test(l))).toBe(true);
    const r = JSON.parse(run.lines.at(-1)!) as LoadReport;
    expect(r.ok).toBe(true);
    expect(r.error).toBeNull();
    expect(r.meeting).toMatchObject({ mode: 'e2ee', attestation: false });
    expect(r.members).toEqual({ peak: 6, atEnd: 6 });
    // 6 to grow, then churn: 20/min for 8 s is a leave and a join every 3 s (at 3 s and 6 s)
    const churned = r.joins.steady.count;
    expect(churned).toBeGreaterThanOrEqual(2);
    expect(r.joins.ramp.count).toBe(6);
    expect(r.joins.count).toBe(6 + churned);
    expect(r.joins.failed).toBe(0);
    expect(r.joins.p95Ms).toBeGreaterThan(0);
    expect(r.joins.p95Ms).toBeGreaterThanOrEqual(r.joins.p50Ms!);
    expect(r.joins.maxMs).toBeGreaterThanOrEqual(r.joins.p95Ms!);
    // phases in order: joined, then in the MLS group, then every shown sender decrypted
    const ph = r.joins.phasesP50Ms;
    expect(ph.joined).toBeGreaterThan(0);
    expect(ph.e2ee).toBeGreaterThan(ph.joined!);
    expect(ph.media).toBeGreaterThanOrEqual(ph.e2ee!);
    expect(r.rekey.count).toBe(churned);
    expect(r.rekey.failed).toBe(0);
    expect(r.rekey.p95Ms).toBeGreaterThan(0);
    expect(r.frames.sent).toBeGreaterThan(100);
    expect(r.frames.decryptFailures).toBe(0);
    // every member, at the end, decrypted every sender the SFU shows it
    expect(r.coverage.checked).toBe(6);
    expect(r.coverage.complete).toBe(6);
    expect(r.coverage.missing).toEqual([]);
    expect(r.coverage.meanShown).toBeGreaterThanOrEqual(1);
    // CPU and memory of the server, its SFU workers and both bot processes
    expect(r.server.embedded).toBe(true);
    expect(r.server.ramp?.cpuPercent).toBeGreaterThan(0);
    expect(r.server.sfuRamp?.cpuPercent).toBeGreaterThan(0);
    expect(r.server.sfuPids.length).toBeGreaterThanOrEqual(1);
    expect(r.bots).toHaveLength(2);
    for (const b of r.bots) {
      expect(b.ramp?.cpuPercent).toBeGreaterThan(0);
      expect(b.steady?.rssBytes).toBeGreaterThan(10 * 2 ** 20);
    }
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^join → E2EE active and every shown sender decrypted: p50 \d+ ms, p95 \d+ ms/),
    );
    // bot processes and SFU workers are gone with the command
    expect(await gone([...r.bots.map((b) => b.pid), ...r.server.sfuPids])).toEqual([]);
  });

  it('Ctrl-C stops the bots, their processes and the server, and exits 130', async () => {
    const run = start(['--embedded', '--members', '3', '--processes', '2', '--seconds', '600', '--no-media']);
    const pidsLine = await run.line(/^2 bot processes \(pids [\d, ]+\)$/);
    const pids = [...pidsLine.matchAll(/\d+/g)].map((m) => Number(m[0])).slice(1);
    expect(pids).toHaveLength(2);
    await run.line(/^steady: 3 members/);
    run.child.kill('SIGINT');
    const t0 = Date.now();
    expect(await run.exit).toBe(130);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(run.lines).toContain('interrupted: stopping the bots and the server');
    expect(run.lines).toContainEqual(expect.stringMatching(/^join → E2EE active: p50 \d+ ms/));
    expect(await gone(pids)).toEqual([]);
  });

  it('bad arguments: usage and exit status 2, nothing started', async () => {
    const run = start(['--embedded', '--members', 'many']);
    expect(await run.exit).toBe(2);
  });
});
