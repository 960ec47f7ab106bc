import { AccountApi } from '@conclave/client';
import type { ConclaveServer } from '@conclave/server';
import { signIn } from '../bot.js';
import type { LoadOptions } from './args.js';
import { BotPool, type BotProcessHandle } from './bot-pool.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded.js';
import type { Coverage, JoinResult, ProcessStats } from './ipc.js';
import { availableParallelism } from 'node:os';
import {
  cpuPercent,
  machinePercent,
  machineSample,
  summarize,
  wallClockMs,
  type CpuSample,
  type MachineSample,
} from './stats.js';
import type { LoadReport, PhaseUse } from './report.js';

/** A leaver's removal not seen by every remaining member within this long counts as failed. */
const REKEY_TIMEOUT_MS = 30_000;
/** After the last join or leave, the members get this long before coverage is checked… */
const SETTLE_MS = 3_000;
/** …which asks whether each shown sender's frames decrypted within this window. */
const COVERAGE_WINDOW_MS = 3_000;

export interface LoadHooks {
  /** Progress lines. */
  log: (line: string) => void;
  /** Aborts the run (Ctrl-C): the run stops its bots and server and reports what it has. */
  signal?: AbortSignal;
}

class Interrupted extends Error {}

interface ServerSampler {
  sample(): Promise<{ main: CpuSample; sfu: CpuSample[]; sfuPids: number[] }>;
}

/** CPU and memory of the embedded server: this process and its SFU worker processes. */
function embeddedSampler(server: ConclaveServer): ServerSampler {
  return {
    async sample() {
      const cpu = process.cpuUsage();
      const main = {
        at: wallClockMs(),
        cpuMicros: cpu.user + cpu.system,
        rssBytes: process.memoryUsage.rss(),
      };
      const workers = await server.sfu.stats().catch(() => []);
      const at = wallClockMs();
      return {
        main,
        sfu: workers.map((w) => ({
          at,
          cpuMicros: w.cpuUserMicros + w.cpuSystemMicros,
          rssBytes: w.rssBytes,
        })),
        sfuPids: workers.map((w) => w.pid),
      };
    },
  };
}

/** The sum of several processes' samples (SFU workers): CPU adds up, RSS adds up. */
function total(samples: CpuSample[]): CpuSample | undefined {
  if (samples.length === 0) return undefined;
  return {
    at: Math.max(...samples.map((s) => s.at)),
    cpuMicros: samples.reduce((a, s) => a + s.cpuMicros, 0),
    rssBytes: samples.reduce((a, s) => a + s.rssBytes, 0),
  };
}

function use(from: CpuSample | undefined, to: CpuSample | undefined): PhaseUse | null {
  if (!from || !to) return null;
  return { cpuPercent: cpuPercent(from, to), rssBytes: to.rssBytes };
}

/**
 * Runs one load scenario: a meeting grows to `members` bots, stays for `seconds` with churn,
 * and everything measured is returned. The bots run in `processes` child processes; the bots,
 * the bot processes and an embedded server are stopped before it returns, also when it fails or
 * is aborted.
 */
export async function runLoad(opts: LoadOptions, hooks: LoadHooks): Promise<LoadReport> {
  const { log, signal } = hooks;
  const notes: string[] = [];
  const warnings = new Map<string, number>();
  const warn = (line: string) => warnings.set(line, (warnings.get(line) ?? 0) + 1);
  const check = () => {
    if (signal?.aborted) throw new Interrupted('interrupted');
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        signal?.removeEventListener('abort', done);
        clearTimeout(t);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });

  let embedded: EmbeddedServer | undefined;
  let pool: BotPool | undefined;
  const joins: { phase: 'ramp' | 'steady'; r: JoinResult }[] = [];
  const rekeys: number[] = [];
  let rekeyFailures = 0;
  let coverage: Coverage[] = [];
  const procStats: { start?: ProcessStats[]; steady?: ProcessStats[]; end?: ProcessStats[] } = {};
  const serverSamples: {
    start?: Awaited<ReturnType<ServerSampler['sample']>>;
    steady?: Awaited<ReturnType<ServerSampler['sample']>>;
    end?: Awaited<ReturnType<ServerSampler['sample']>>;
  } = {};
  const machine: { start?: MachineSample; steady?: MachineSample; end?: MachineSample } = {};
  let peakMember = 0;
  let interrupted = false;
  let error: string | undefined;
  let meetingId = opts.meeting;
  let serverUrl = opts.target.kind === 'server' ? opts.target.url : '';
  const live = new Map<string, BotProcessHandle>();
  let nextBot = 1;
  const started = wallClockMs();
  let steadyMs = 0;

  try {
    // -------------------------------------------------------------- server and meeting
    let host: AccountApi | undefined;
    if (opts.target.kind === 'embedded') {
      log('starting an embedded server…');
      embedded = await startEmbeddedServer();
      serverUrl = embedded.url;
      host = embedded.host;
      log(`server at ${serverUrl} (${(await embedded.server.sfu.stats()).length} SFU workers)`);
    } else if (opts.email && opts.password) {
      host = await signIn(serverUrl, opts.email, opts.password);
    }
    check();
    let hostSecret = opts.hostSecret;
    if (opts.meeting === 'new') {
      if (!host) throw new Error('creating a meeting needs an account');
      const m = await host
        .createMeeting({
          title: `conclave load ${opts.members}`,
          mode: opts.mode,
          attestation: opts.mode === 'e2ee' && opts.attestation,
          maxParticipants: 1000,
        })
        .catch((e: unknown) => {
          throw new Error(`cannot create a meeting: ${(e as Error).message}`);
        });
      meetingId = m.meeting.id;
      hostSecret = m.hostSecret;
      log(
        `meeting ${meetingId} (${opts.mode}${opts.mode === 'e2ee' ? `, attestation ${opts.attestation ? 'on' : 'off'}` : ''})`,
      );
    }
    const sampler = embedded ? embeddedSampler(embedded.server) : undefined;
    if (!sampler)
      notes.push('server CPU and RSS not measured: a running server’s /healthz does not show them');

    // -------------------------------------------------------------- bot processes
    pool = await BotPool.start(opts.processes, warn);
    const loopbackOnly = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(serverUrl).hostname);
    await Promise.all(
      pool.processes.map((p) =>
        p.call('init', {
          config: {
            serverUrl,
            meetingId,
            passcode: opts.passcode,
            media: opts.media,
            loopbackOnly,
            lastN: opts.lastN,
            audioFps: opts.audioFps,
            videoFps: opts.videoFps,
            joinTimeoutMs: Math.round(opts.joinTimeoutMs),
          },
        }),
      ),
    );
    log(`${opts.processes} bot processes (pids ${pool.pids.join(', ')})`);
    const processes = pool.processes;
    const statsAll = () => Promise.all(processes.filter((p) => p.alive).map((p) => p.call('stats', {})));
    procStats.start = await statsAll();
    serverSamples.start = await sampler?.sample();
    machine.start = machineSample();

    let spread = 0;
    const speaking = new Set<string>();
    const join = async (phase: 'ramp' | 'steady', secret?: string): Promise<JoinResult> => {
      const name = `bot-${nextBot++}`;
      const p = processes[spread++ % processes.length]!;
      live.set(name, p);
      // The first --speakers bots speak; a later one only takes a leaver's place.
      const speaks = speaking.size < opts.speakers;
      if (speaks) speaking.add(name);
      let r: JoinResult;
      try {
        r = await p.call('join', { bot: name, hostSecret: secret, speaking: speaks });
      } catch (e) {
        r = {
          bot: name,
          ok: false,
          ms: null,
          phases: { joined: null, e2ee: null, connected: null, firstFrame: null, media: null },
          expected: 0,
          decrypted: 0,
          present: false,
          error: (e as Error).message,
        };
      }
      if (!r.present) {
        live.delete(name);
        speaking.delete(name);
      }
      joins.push({ phase, r });
      peakMember = Math.max(peakMember, live.size);
      return r;
    };
    const progress = (what: string) => {
      const ok = joins.filter((j) => j.r.ok).map((j) => j.r.ms!);
      const s = summarize(ok);
      const failed = joins.length - ok.length;
      log(
        `${what}: ${live.size} members, ${ok.length} joins done` +
          (s.p95Ms === null ? '' : ` (p50 ${s.p50Ms!.toFixed(0)} ms, p95 ${s.p95Ms.toFixed(0)} ms)`) +
          (failed ? `, ${failed} failed` : ''),
      );
    };

    // -------------------------------------------------------------- ramp-up
    const first = await join('ramp', hostSecret);
    if (!first.ok) throw new Error(`the first bot could not join: ${first.error ?? 'unknown'}`);
    const inFlight: Promise<JoinResult>[] = [];
    const ticker = setInterval(() => progress('joining'), 1000);
    try {
      for (let i = 1; i < opts.members; i++) {
        check();
        await sleep(1000 / opts.joinRate);
        check();
        inFlight.push(join('ramp'));
      }
      await Promise.all(inFlight);
    } finally {
      clearInterval(ticker);
    }
    check();
    progress('target reached');

    // -------------------------------------------------------------- steady state with churn
    procStats.steady = await statsAll();
    serverSamples.steady = await sampler?.sample();
    machine.steady = machineSample();
    const steadyStart = wallClockMs();
    const churn: Promise<void>[] = [];
    let watchId = 1;
    /** A member other than the host leaves; the rekey (every remaining member past it) is timed. */
    const leave = async (): Promise<void> => {
      const candidates = [...live.keys()].filter((n) => n !== first.bot);
      if (candidates.length === 0) return;
      const leaver = candidates[Math.floor(Math.random() * candidates.length)]!;
      const owner = live.get(leaver)!;
      live.delete(leaver);
      const watch = watchId++;
      const measured = opts.mode === 'e2ee';
      if (measured)
        await Promise.all(processes.filter((p) => p.alive).map((p) => p.call('watch', { watch, leaver })));
      const { at } = await owner.call('leave', { bot: leaver });
      if (speaking.delete(leaver)) {
        // The longest-present silent member speaks instead.
        const next = [...live.keys()].find((n) => !speaking.has(n));
        if (next) {
          speaking.add(next);
          await live.get(next)!.call('speak', { bot: next, speaking: true });
        }
      }
      if (!measured) return;
      const results = (
        await Promise.all(
          processes
            .filter((p) => p.alive)
            .map((p) => p.call('watchResult', { watch, timeoutMs: REKEY_TIMEOUT_MS }).catch(() => [])),
        )
      ).flat();
      if (results.length === 0) return;
      if (results.some((r) => r.at === null)) rekeyFailures++;
      else rekeys.push(Math.max(...results.map((r) => r.at!)) - at);
    };
    // Churn, spread evenly: per interval (60 s / churn) a leave at a quarter and a join at three
    // quarters of it, so the meeting goes N → N-1 → N and a join never lands on a leave.
    const end = steadyStart + opts.seconds * 1000;
    const events: { at: number; run: () => Promise<unknown> }[] = [];
    if (opts.churnPerMinute > 0) {
      const interval = 60_000 / opts.churnPerMinute;
      for (let i = 0; steadyStart + (i + 0.75) * interval < end; i++) {
        events.push({ at: steadyStart + (i + 0.25) * interval, run: leave });
        events.push({ at: steadyStart + (i + 0.75) * interval, run: () => join('steady') });
      }
    }
    const ticker2 = setInterval(() => progress('steady'), 1000);
    try {
      for (const ev of events) {
        check();
        await sleep(ev.at - wallClockMs());
        check();
        churn.push(
          ev.run().then(
            () => undefined,
            (e: unknown) => {
              warn(`churn: ${(e as Error).message}`);
            },
          ),
        );
      }
      await sleep(end - wallClockMs());
      check();
      await Promise.all(churn);
    } finally {
      clearInterval(ticker2);
    }
    steadyMs = wallClockMs() - steadyStart;
    check();
    procStats.end = await statsAll();
    serverSamples.end = await sampler?.sample();
    machine.end = machineSample();
    if (opts.media) {
      await sleep(SETTLE_MS);
      check();
      coverage = (
        await Promise.all(
          processes.filter((p) => p.alive).map((p) => p.call('coverage', { windowMs: COVERAGE_WINDOW_MS })),
        )
      ).flat();
    }
    progress('done');
  } catch (e) {
    if (e instanceof Interrupted) {
      interrupted = true;
      log('interrupted: stopping the bots and the server');
    } else {
      error = (e as Error).message;
      log(`failed: ${error}`);
    }
  } finally {
    if (pool) {
      if (!procStats.end)
        procStats.end = await Promise.all(
          pool.processes.filter((p) => p.alive).map((p) => p.call('stats', {}).catch(() => undefined)),
        ).then((xs) => xs.filter((x): x is ProcessStats => x !== undefined));
      await pool.close();
    }
    await embedded?.close().catch((e: unknown) => warn(`closing the server: ${(e as Error).message}`));
  }

  const ok = joins.filter((j) => j.r.ok);
  const failed = joins.filter((j) => !j.r.ok);
  const phaseP50 = (k: keyof JoinResult['phases']) =>
    summarize(ok.flatMap((j) => (j.r.phases[k] === null ? [] : [j.r.phases[k]!]))).p50Ms;
  const byPid = (xs: ProcessStats[] | undefined) => new Map((xs ?? []).map((s) => [s.pid, s]));
  const startBy = byPid(procStats.start);
  const steadyBy = byPid(procStats.steady);
  const sum = (k: 'framesSent' | 'decryptFailures' | 'framesWithoutKey') =>
    (procStats.end ?? []).reduce((a, s) => a + s[k], 0);
  const botWarnings = new Map<string, number>();
  for (const s of procStats.end ?? [])
    for (const [w, c] of s.warnings) botWarnings.set(w, (botWarnings.get(w) ?? 0) + c);
  for (const [w, c] of warnings) botWarnings.set(w, (botWarnings.get(w) ?? 0) + c);
  const toSample = (s: ProcessStats): CpuSample => ({
    at: s.at,
    cpuMicros: s.cpuMicros,
    rssBytes: s.rssBytes,
  });
  const incomplete = coverage.filter((c) => c.missing.length > 0);

  return {
    ok:
      !interrupted &&
      error === undefined &&
      failed.length === 0 &&
      rekeyFailures === 0 &&
      sum('decryptFailures') === 0 &&
      (!opts.media || (coverage.length > 0 && incomplete.length === 0)),
    interrupted,
    error: error ?? null,
    server: {
      url: serverUrl,
      embedded: opts.target.kind === 'embedded',
      sfuWorkers: serverSamples.end?.sfu.length ?? serverSamples.start?.sfu.length ?? null,
      sfuPids: [...new Set([...(serverSamples.start?.sfuPids ?? []), ...(serverSamples.end?.sfuPids ?? [])])],
      ramp: use(serverSamples.start?.main, serverSamples.steady?.main),
      steady: use(serverSamples.steady?.main, serverSamples.end?.main),
      sfuRamp: use(total(serverSamples.start?.sfu ?? []), total(serverSamples.steady?.sfu ?? [])),
      sfuSteady: use(total(serverSamples.steady?.sfu ?? []), total(serverSamples.end?.sfu ?? [])),
    },
    machine: {
      cores: availableParallelism(),
      rampPercent: machine.start && machine.steady ? machinePercent(machine.start, machine.steady) : null,
      steadyPercent: machine.steady && machine.end ? machinePercent(machine.steady, machine.end) : null,
      load1: [machine.start?.load1 ?? null, machine.end?.load1 ?? null],
    },
    meeting: {
      id: meetingId,
      mode: opts.mode,
      attestation: opts.meeting === 'new' ? opts.mode === 'e2ee' && opts.attestation : null,
    },
    options: {
      members: opts.members,
      processes: opts.processes,
      media: opts.media,
      churnPerMinute: opts.churnPerMinute,
      seconds: opts.seconds,
      joinRate: opts.joinRate,
      lastN: opts.lastN,
      speakers: opts.speakers,
      audioFps: opts.audioFps,
      videoFps: opts.videoFps,
    },
    durationMs: wallClockMs() - started,
    steadyMs,
    members: { peak: peakMember, atEnd: live.size },
    joins: {
      ...summarize(ok.map((j) => j.r.ms!)),
      failed: failed.length,
      ramp: summarize(ok.filter((j) => j.phase === 'ramp').map((j) => j.r.ms!)),
      steady: summarize(ok.filter((j) => j.phase === 'steady').map((j) => j.r.ms!)),
      phasesP50Ms: {
        joined: phaseP50('joined'),
        e2ee: phaseP50('e2ee'),
        connected: phaseP50('connected'),
        firstFrame: phaseP50('firstFrame'),
        media: phaseP50('media'),
      },
      errors: failed.slice(0, 5).map((j) => `${j.r.bot}: ${j.r.error ?? 'failed'}`),
      atTarget: ok
        .filter((j) => j.phase === 'steady')
        .slice(0, 100)
        .map((j) => ({ bot: j.r.bot, ms: j.r.ms!, phases: j.r.phases })),
    },
    rekey: { ...summarize(rekeys), failed: rekeyFailures },
    frames: {
      sent: sum('framesSent'),
      decryptFailures: sum('decryptFailures'),
      withoutKey: sum('framesWithoutKey'),
    },
    coverage: {
      checked: coverage.length,
      complete: coverage.length - incomplete.length,
      withStatus: coverage.filter((c) => c.status).length,
      meanShown: coverage.length ? coverage.reduce((a, c) => a + c.expected, 0) / coverage.length : null,
      missing: incomplete.slice(0, 10).map((c) => ({ bot: c.bot, senders: c.missing.slice(0, 10) })),
    },
    bots: (procStats.end ?? []).map((s) => ({
      pid: s.pid,
      bots: s.bots,
      ramp: use(
        startBy.get(s.pid) && toSample(startBy.get(s.pid)!),
        steadyBy.get(s.pid) && toSample(steadyBy.get(s.pid)!),
      ),
      steady: use(steadyBy.get(s.pid) && toSample(steadyBy.get(s.pid)!), toSample(s)),
    })),
    warnings: [...botWarnings].sort((a, b) => b[1] - a[1]).slice(0, 8),
    notes,
  };
}
