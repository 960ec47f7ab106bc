import type { JoinTimes } from './ipc.js';
import type { Summary } from './stats.js';

/** A process's (or a group of processes') CPU over one phase, in % of one core, and its RSS at the end. */
export interface PhaseUse {
  cpuPercent: number | null;
  rssBytes: number;
}

/** Everything one `conclave load` run measured (`--json` prints it as one line). */
export interface LoadReport {
  /** No join or rekey failed, no frame failed to decrypt and every member decrypted every shown sender. */
  ok: boolean;
  interrupted: boolean;
  error: string | null;
  server: {
    url: string;
    embedded: boolean;
    sfuWorkers: number | null;
    /** Process ids of the embedded server's SFU workers (all stopped when the run returns). */
    sfuPids: number[];
    /** The server process (the coordinator's own, when embedded): while the meeting grew, then in the steady state. */
    ramp: PhaseUse | null;
    steady: PhaseUse | null;
    /** Its SFU worker processes, summed. */
    sfuRamp: PhaseUse | null;
    sfuSteady: PhaseUse | null;
  };
  /**
   * The whole machine (this run's processes and every other's): CPU in % of one core while the
   * meeting grew and in the steady state, and the 1-minute load average at the start and the end.
   * Well above what the run's own processes used, other work competed for the cores.
   */
  machine: {
    cores: number;
    rampPercent: number | null;
    steadyPercent: number | null;
    load1: [number | null, number | null];
  };
  meeting: { id: string; mode: 'e2ee' | 'standard'; attestation: boolean | null };
  options: {
    members: number;
    processes: number;
    media: boolean;
    churnPerMinute: number;
    seconds: number;
    joinRate: number;
    lastN: number;
    speakers: number;
    audioFps: number;
    videoFps: number;
  };
  durationMs: number;
  steadyMs: number;
  members: { peak: number; atEnd: number };
  /** Completed joins (all, while growing, in the steady state), and what failed. */
  joins: Summary & {
    failed: number;
    ramp: Summary;
    steady: Summary;
    /** Medians of the phases of the completed joins, ms after the join request. */
    phasesP50Ms: {
      joined: number | null;
      e2ee: number | null;
      connected: number | null;
      firstFrame: number | null;
      media: number | null;
    };
    errors: string[];
    /** Each completed join at the target size (the first 100), with its phases. */
    atTarget: { bot: string; ms: number; phases: JoinTimes }[];
  };
  rekey: Summary & { failed: number };
  frames: { sent: number; decryptFailures: number; withoutKey: number };
  /** At the end: how many members decrypted, within the last 3 s, every sender shown to them. */
  coverage: {
    checked: number;
    complete: number;
    /** Members that had the SFU's media_status (the others counted every sender as shown). */
    withStatus: number;
    meanShown: number | null;
    missing: { bot: string; senders: string[] }[];
  };
  bots: { pid: number; bots: number; ramp: PhaseUse | null; steady: PhaseUse | null }[];
  warnings: [string, number][];
  notes: string[];
}

const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(0)} ms`);
const pct = (u: PhaseUse | null) =>
  u === null || u.cpuPercent === null ? '-' : `${u.cpuPercent.toFixed(0)} %`;
const mib = (u: PhaseUse | null) => (u === null ? '-' : `${(u.rssBytes / 2 ** 20).toFixed(0)} MiB`);

/** `p50 … p95 … max … (n)` of one summary. */
export function formatSummary(s: Summary): string {
  if (s.count === 0) return 'none';
  return `p50 ${ms(s.p50Ms)}, p95 ${ms(s.p95Ms)}, max ${ms(s.maxMs)} (${s.count})`;
}

/** The report as text lines (what the command prints before the JSON line). */
export function formatReport(r: LoadReport): string[] {
  const lines: string[] = [];
  const o = r.options;
  lines.push(
    `meeting ${r.meeting.id} (${r.meeting.mode}` +
      (r.meeting.attestation === null ? '' : `, attestation ${r.meeting.attestation ? 'on' : 'off'}`) +
      `): target ${o.members} members, peak ${r.members.peak}, at the end ${r.members.atEnd};` +
      ` ${o.processes} bot processes, ${o.media ? `media ${o.audioFps} audio + ${o.videoFps} video frames/s per bot, last-N ${o.lastN}, ${o.speakers} speaking` : 'no media'};` +
      ` churn ${o.churnPerMinute}/min for ${(r.steadyMs / 1000).toFixed(0)} s`,
  );
  lines.push(
    `join → ${o.media ? 'E2EE active and every shown sender decrypted' : 'E2EE active'}: ${formatSummary(r.joins)}` +
      (r.joins.failed ? `; ${r.joins.failed} FAILED` : ''),
  );
  lines.push(
    `  while growing: ${formatSummary(r.joins.ramp)}; at the target size: ${formatSummary(r.joins.steady)}`,
  );
  const ph = r.joins.phasesP50Ms;
  lines.push(
    `  medians: joined ${ms(ph.joined)}, E2EE active ${ms(ph.e2ee)}` +
      (o.media
        ? `, subscribe connection up ${ms(ph.connected)}, first frame ${ms(ph.firstFrame)}, all shown senders decrypted ${ms(ph.media)}`
        : ''),
  );
  for (const e of r.joins.errors) lines.push(`  failed: ${e}`);
  if (r.meeting.mode === 'e2ee')
    lines.push(
      `rekey on leave (every remaining member in an epoch without the leaver): ${formatSummary(r.rekey)}` +
        (r.rekey.failed ? `; ${r.rekey.failed} NOT reached in 30 s` : ''),
    );
  lines.push(
    `frames: ${r.frames.sent} sent, ${r.frames.decryptFailures} decrypt failures, ${r.frames.withoutKey} without a key`,
  );
  if (o.media)
    lines.push(
      `members decrypting every shown sender (last 3 s): ${r.coverage.complete} of ${r.coverage.checked}` +
        (r.coverage.meanShown === null
          ? ''
          : ` (${r.coverage.meanShown.toFixed(1)} shown senders each on average, ${r.coverage.withStatus} with the SFU's media_status)`) +
        r.coverage.missing.map((m) => `\n  ${m.bot} missing ${m.senders.join(', ')}`).join(''),
    );
  if (r.server.embedded)
    lines.push(
      `server process: CPU ${pct(r.server.ramp)} growing, ${pct(r.server.steady)} steady, RSS ${mib(r.server.steady ?? r.server.ramp)};` +
        ` ${r.server.sfuWorkers ?? '?'} SFU workers: CPU ${pct(r.server.sfuRamp)} growing, ${pct(r.server.sfuSteady)} steady, RSS ${mib(r.server.sfuSteady ?? r.server.sfuRamp)} (CPU in % of one core)`,
    );
  const m = r.machine;
  lines.push(
    `machine (${m.cores} cores, every process): CPU ${m.rampPercent === null ? '-' : `${m.rampPercent.toFixed(0)} %`} growing,` +
      ` ${m.steadyPercent === null ? '-' : `${m.steadyPercent.toFixed(0)} %`} steady; load average ${m.load1.map((l) => (l === null ? '-' : l.toFixed(1))).join(' → ')}`,
  );
  for (const b of r.bots)
    lines.push(
      `bot process ${b.pid} (${b.bots} bots at the end): CPU ${pct(b.ramp)} growing, ${pct(b.steady)} steady, RSS ${mib(b.steady ?? b.ramp)}`,
    );
  for (const [w, c] of r.warnings) lines.push(`  ${c}× ${w}`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.interrupted) lines.push('INTERRUPTED: the figures cover the run until Ctrl-C');
  if (r.error) lines.push(`FAILED: ${r.error}`);
  return lines;
}
