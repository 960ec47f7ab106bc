import { parseArgs } from 'node:util';
import { accountRoleSchema, emailSchema, planSchema, type AccountRole, type Plan } from '@conclave/protocol';
import {
  adminAuthEvents,
  adminSetPlan,
  adminSetRole,
  ConfigError,
  createDatabase,
  loadConfig,
  migrateToLatest,
  type AuthEvent,
  type Db,
} from '@conclave/server';

const USAGE = `usage: conclave admin <command> [--data-dir DIR]

  plan EMAIL free|paid        set an account's plan (paid can host E2EE meetings)
  role EMAIL admin|user       set an account's role
  auth-events EMAIL [--limit N] [--json]
                              an account's auth-event log, newest first: time, action,
                              outcome, score, decision, reasons, network

Works on the server's database in the data dir (--data-dir, else CONCLAVE_DATA_DIR, else
./data); it may run while the server runs.
`;

interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Output = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** One line per event; reasons as `signal +points (detail)`. */
export function formatAuthEvents(events: AuthEvent[]): string {
  if (events.length === 0) return 'no auth events\n';
  const rows = events.map((e) => [
    e.createdAt,
    e.action,
    e.outcome,
    String(e.score),
    e.decision,
    e.ipPrefix,
    e.reasons.map((r) => `${r.signal} +${r.points} (${r.detail})`).join('; ') || '-',
  ]);
  const header = ['time', 'action', 'outcome', 'score', 'decision', 'network', 'reasons'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `conclave admin …`: resolves to the exit status (0 ok, 1 no such account, 2 usage). */
export async function admin(args: string[], io: Output = stdio): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`conclave admin: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, rawEmail, value, ...extra] = positionals;
  const usage = (why: string) => {
    io.err(`conclave admin: ${why}\n\n${USAGE}`);
    return 2;
  };
  if (!command) return usage('which command?');
  const email = emailSchema.safeParse(rawEmail ?? '');
  if (!email.success) return usage(`"${rawEmail ?? ''}" is not an e-mail address`);
  let plan: Plan | undefined;
  let role: AccountRole | undefined;
  let limit = 100;
  if (command === 'plan') {
    const p = planSchema.safeParse(value);
    if (!p.success || extra.length > 0) return usage('plan takes EMAIL and free or paid');
    plan = p.data;
  } else if (command === 'role') {
    const r = accountRoleSchema.safeParse(value);
    if (!r.success || extra.length > 0) return usage('role takes EMAIL and admin or user');
    role = r.data;
  } else if (command === 'auth-events') {
    if (value !== undefined) return usage('auth-events takes only EMAIL');
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
        return usage('--limit must be a positive integer');
    }
  } else {
    return usage(`unknown command "${command}"`);
  }

  let dataDir: string;
  try {
    const flags = values['data-dir'] !== undefined ? ['--data-dir', values['data-dir']] : [];
    dataDir = loadConfig(flags, { CONCLAVE_DATA_DIR: process.env.CONCLAVE_DATA_DIR }).dataDir;
  } catch (err) {
    if (err instanceof ConfigError) return usage(err.message);
    throw err;
  }

  const db: Db = createDatabase({ dataDir });
  try {
    await migrateToLatest(db);
    const noAccount = () => {
      io.err(`conclave admin: no account with the e-mail ${email.data}\n`);
      return 1;
    };
    if (plan) {
      const user = await adminSetPlan(db, email.data, plan);
      if (!user) return noAccount();
      io.out(`${user.email}: plan ${plan}\n`);
    } else if (role) {
      const user = await adminSetRole(db, email.data, role);
      if (!user) return noAccount();
      io.out(`${user.email}: role ${role}\n`);
    } else {
      const found = await adminAuthEvents(db, email.data, limit);
      if (!found) return noAccount();
      io.out(values.json ? `${JSON.stringify(found.events, null, 2)}\n` : formatAuthEvents(found.events));
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
