import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseModerationKeyFile, type ModerationKeyFile } from '@conclave/crypto';
import {
  CodedError,
  adminReportListQuery,
  moderationActionRequest,
  moderationLogQuery,
  type AdminReportSummary,
  type ModerationLogEntry,
  type ReportEvidence,
  type ReportVerification,
} from '@conclave/protocol';
import {
  ConfigError,
  createDatabase,
  EvidenceUnavailable,
  listReports,
  loadConfig,
  MeetingStore,
  migrateToLatest,
  ModerationActions,
  ModerationLog,
  openReportEvidence,
  reportDetail,
  reportRow,
  resolveAccount,
  VERDICT_WORDS,
  type Db,
} from '@conclave/server';

export const REPORTS_USAGE = `  reports list [--status open|dismissed|actioned] [--account EMAIL] [--meeting ID]
               [--limit N] [--json]
                              the moderation queue, newest first
  reports show ID [--key FILE] [--json]
                              a report: its verdicts and the reported account's history; with
                              the moderators' key file, the evidence opened and checked again
  reports act ID --action dismiss|warn|suspend|ban|revoke_e2ee|end_meetings [--days N]
               [--note TEXT]  decide a report (as the console does; the log names "cli"); a
                              running server closes the connections it concerns within seconds
  moderation-log [--account EMAIL] [--report ID] [--limit N] [--json]
                              the moderation audit log, newest first
`;

interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** The audit log's name for what the shell does. */
const CLI_ACTOR = 'cli';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function reportedOf(r: AdminReportSummary): string {
  if (r.reportedAccount) return r.reportedAccount.email;
  if (r.reportedGuestKey) return `guest key ${r.reportedGuestKey.slice(0, 12)}…`;
  return `"${r.reportedName}" (unresolved)`;
}

function formatList(reports: AdminReportSummary[]): string {
  if (reports.length === 0) return 'no reports\n';
  return table(
    ['id', 'filed', 'status', 'reason', 'reported', 'meeting', 'evidence'],
    reports.map((r) => [
      r.id,
      r.createdAt.slice(0, 16).replace('T', ' '),
      r.status,
      r.reason,
      reportedOf(r),
      r.meetingId,
      r.verificationSummary.join('; '),
    ]),
  );
}

function formatLog(entries: ModerationLogEntry[]): string {
  if (entries.length === 0) return 'no moderation entries\n';
  return table(
    ['time', 'actor', 'action', 'report', 'account', 'detail'],
    entries.map((e) => [e.at, e.actor, e.action, e.reportId ?? '-', e.accountId ?? '-', e.detail]),
  );
}

function time(ms: number | undefined): string {
  return ms === undefined ? '?' : new Date(ms).toISOString();
}

/** A verdict's detail when it says more than the verdict's words. */
function detailOf(v: { verdict: keyof typeof VERDICT_WORDS; detail: string }): string {
  return v.detail && v.detail !== VERDICT_WORDS[v.verdict] ? ` — ${v.detail}` : '';
}

/** The verdicts as the server stored them (or as they were checked again). */
function formatVerification(v: ReportVerification, heading: string): string[] {
  const lines = [heading];
  if (v.chat.length === 0 && !v.clip && v.screenshots === 0) lines.push('  no evidence attached');
  v.chat.forEach((c, i) => {
    lines.push(`  chat ${i + 1}: ${VERDICT_WORDS[c.verdict]}${detailOf(c)}`);
    if (c.text !== undefined) lines.push(`    ${c.senderName ?? '?'} at ${time(c.sentAt)}: ${c.text}`);
  });
  if (v.clip) {
    const c = v.clip;
    lines.push(
      `  clip: ${VERDICT_WORDS[c.verdict]}${detailOf(c)} (${c.verifiedFrames}/${c.frames} frames, ${(c.durationMs / 1000).toFixed(1)} s${c.senderName ? `, from ${c.senderName}` : ''})`,
    );
  }
  if (v.screenshots > 0) lines.push(`  screenshots: ${v.screenshots}, ${VERDICT_WORDS.unverified}`);
  return lines;
}

/** What the opened evidence claims next to what verified: a changed text shows here as what the reporter sent. */
function formatOpened(evidence: ReportEvidence, v: ReportVerification): string[] {
  const lines = formatVerification(v, 'evidence opened with the key file and checked again:');
  evidence.chat.forEach((c, i) => {
    if (c.kind === 'server_chat' && v.chat[i]?.verdict === 'does_not_verify')
      lines.push(`  chat ${i + 1} as the reporter sent it (not verified): ${c.displayName}: ${c.text}`);
  });
  for (const s of evidence.screenshots)
    lines.push(
      `  screenshot ${s.mime}, ${Math.round((s.data.length * 3) / 4 / 1024)} KiB, taken ${time(s.capturedAt)}: unverified`,
    );
  return lines;
}

type Values = Record<string, string | boolean | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Only the given flags are allowed (besides --data-dir and --json). */
function onlyFlags(values: Values, allowed: string[]): string | undefined {
  const extra = Object.keys(values).filter(
    (k) => values[k] !== undefined && !['data-dir', 'json', ...allowed].includes(k),
  );
  return extra.length > 0 ? `--${extra[0]} does not go with this command` : undefined;
}

async function run(db: Db, positionals: string[], values: Values, io: Output): Promise<number> {
  const [command, sub, id, ...extra] = positionals;
  const json = values.json === true;
  const usage = (why: string) => {
    io.err(`conclave admin: ${why}\n\n${REPORTS_USAGE}`);
    return 2;
  };
  const fail = (why: string) => {
    io.err(`conclave admin: ${why}\n`);
    return 1;
  };

  if (command === 'moderation-log') {
    if (sub !== undefined) return usage('moderation-log takes no arguments');
    const bad = onlyFlags(values, ['account', 'report', 'limit']);
    if (bad) return usage(bad);
    const q = moderationLogQuery.safeParse({
      account: str(values, 'account'),
      report: str(values, 'report'),
      limit: str(values, 'limit') ?? '100',
    });
    if (!q.success) return usage(q.error.issues[0]?.message ?? 'bad flags');
    let accountId: string | undefined;
    if (q.data.account !== undefined) {
      accountId = await resolveAccount(db, q.data.account);
      if (accountId === undefined) return fail(`no account ${q.data.account}`);
    }
    const entries = await new ModerationLog(db).list({
      accountId,
      reportId: q.data.report,
      limit: q.data.limit,
    });
    io.out(json ? `${JSON.stringify(entries, null, 2)}\n` : formatLog(entries));
    return 0;
  }

  if (sub === 'list') {
    if (id !== undefined) return usage('reports list takes no arguments');
    const bad = onlyFlags(values, ['status', 'account', 'meeting', 'limit']);
    if (bad) return usage(bad);
    const q = adminReportListQuery.safeParse({
      status: str(values, 'status'),
      account: str(values, 'account'),
      meeting: str(values, 'meeting'),
      limit: str(values, 'limit') ?? '100',
    });
    if (!q.success) {
      const issue = q.error.issues[0];
      return usage(`--${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'not valid'}`);
    }
    const reports = await listReports(db, q.data);
    io.out(json ? `${JSON.stringify(reports, null, 2)}\n` : formatList(reports));
    return 0;
  }

  if (sub === 'show') {
    if (id === undefined || extra.length > 0) return usage('reports show takes one report id');
    const bad = onlyFlags(values, ['key']);
    if (bad) return usage(bad);
    const keyPath = str(values, 'key');
    let keyFile: ModerationKeyFile | undefined;
    if (keyPath !== undefined) {
      try {
        keyFile = parseModerationKeyFile(readFileSync(keyPath, 'utf8'));
      } catch (e) {
        return fail(`${keyPath}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const detail = await reportDetail(db, id, Date.now());
    const row = await reportRow(db, id);
    if (!detail || !row) return fail(`no report ${id}`);
    let opened: { evidence: ReportEvidence; verification: ReportVerification } | undefined;
    if (keyFile) {
      try {
        opened = await openReportEvidence(db, row, keyFile, CLI_ACTOR);
      } catch (e) {
        if (!(e instanceof EvidenceUnavailable)) throw e;
        return fail(e.message);
      }
    }
    if (json) {
      const { sealedEvidence: _sealed, ...report } = detail.report;
      io.out(`${JSON.stringify({ ...detail, report, ...(opened ? { opened } : {}) }, null, 2)}\n`);
      return 0;
    }
    const r = detail.report;
    const lines = [
      `report ${r.id} (${r.status}), filed ${r.createdAt}`,
      `meeting: ${r.meetingId}`,
      `reason: ${r.reason}`,
      `reported: ${reportedOf(r)} as "${r.reportedName}"`,
      `reporter: ${r.reporter.kind}${r.reporter.displayName ? ` ${r.reporter.displayName}` : ''}`,
      `text: ${r.text || '-'}`,
      ...formatVerification(r.verification, 'verdicts on arrival:'),
      r.sealedEvidence
        ? `sealed evidence kept until ${r.evidenceExpiresAt ?? '?'}${opened ? '' : ' (open it with --key FILE)'}`
        : 'no sealed evidence',
      ...(opened ? formatOpened(opened.evidence, opened.verification) : []),
    ];
    const a = detail.history.account;
    if (a) {
      lines.push(
        `account: ${a.status}${a.suspendedUntil ? ` until ${a.suspendedUntil}` : ''}, plan ${a.plan}, since ${a.createdAt.slice(0, 10)}, E2EE hosting ${a.e2eeEntitled ? 'yes' : 'no'}, ${a.openReports} open reports`,
      );
    }
    lines.push(`earlier reports: ${detail.history.reports.length}`);
    for (const e of detail.history.reports) lines.push(`  ${e.createdAt} ${e.id} ${e.status} ${e.reason}`);
    lines.push(`moderation actions: ${detail.history.actions.length}`);
    for (const e of detail.history.actions) lines.push(`  ${e.at} ${e.actor} ${e.action}: ${e.detail}`);
    io.out(`${lines.join('\n')}\n`);
    return 0;
  }

  if (sub === 'act') {
    if (id === undefined || extra.length > 0) return usage('reports act takes one report id');
    const bad = onlyFlags(values, ['action', 'days', 'note']);
    if (bad) return usage(bad);
    const days = str(values, 'days');
    const req = moderationActionRequest.safeParse({
      v: 1,
      action: str(values, 'action'),
      ...(days !== undefined ? { days: Number(days) } : {}),
      note: str(values, 'note') ?? '',
    });
    if (!req.success) {
      const issue = req.error.issues[0];
      return usage(`--${String(issue?.path[0] ?? 'action')}: ${issue?.message ?? 'not valid'}`);
    }
    // A MeetingStore of this process: ending a meeting here writes the row, and the running
    // server's sweep ends the live room (moderation/live-enforcement.ts).
    const actions = new ModerationActions({ db, meetings: new MeetingStore(db) });
    try {
      const result = await actions.act(id, req.data, { actor: CLI_ACTOR });
      if (json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      else
        io.out(
          `${result.report.id}: ${result.entry.action} — ${result.entry.detail}\nreport ${result.report.status}; the reporter reads: ${result.report.outcome ?? '-'}\n`,
        );
      return 0;
    } catch (e) {
      if (e instanceof CodedError) return fail(`${e.message} (${String(e.code)})`);
      throw e;
    }
  }
  return usage(`unknown reports command "${sub ?? ''}"`);
}

/** `conclave admin reports …` and `conclave admin moderation-log`: the exit status (0, 1 refused or not found, 2 usage). */
export async function adminReports(args: string[], io: Output, env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        status: { type: 'string' },
        account: { type: 'string' },
        meeting: { type: 'string' },
        report: { type: 'string' },
        limit: { type: 'string' },
        key: { type: 'string' },
        action: { type: 'string' },
        days: { type: 'string' },
        note: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`conclave admin: ${err instanceof Error ? err.message : String(err)}\n\n${REPORTS_USAGE}`);
    return 2;
  }
  let dataDir: string;
  try {
    const flags = parsed.values['data-dir'] !== undefined ? ['--data-dir', parsed.values['data-dir']] : [];
    dataDir = loadConfig(flags, { CONCLAVE_DATA_DIR: env.CONCLAVE_DATA_DIR }).dataDir;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`conclave admin: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const db: Db = createDatabase({ dataDir });
  try {
    await migrateToLatest(db);
    return await run(db, parsed.positionals, parsed.values, io);
  } finally {
    await db.destroy();
  }
}
