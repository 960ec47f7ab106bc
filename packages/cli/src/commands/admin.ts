import { parseArgs } from 'node:util';
import { accountRoleSchema, emailSchema, planSchema, type AccountRole, type Plan } from '@conclave/protocol';
import {
  adminAuthEvents,
  adminPhoneKeyStatus,
  adminRotatePhoneKeys,
  adminSetPlan,
  adminSetRole,
  ConfigError,
  createDatabase,
  loadConfig,
  migrateToLatest,
  type AuthEvent,
  type Db,
  type PhoneKeyStatus,
  type PhoneSecretLocation,
  type PhoneSecretSettings,
} from '@conclave/server';
import { adminReports, REPORTS_USAGE } from './admin-reports.js';
import { adminModerationKey, MODERATION_KEY_USAGE } from './moderation-key.js';

const USAGE = `usage: conclave admin <command> [--data-dir DIR]

  plan EMAIL free|paid        set an account's plan (paid can host E2EE meetings)
  role EMAIL admin|user       set an account's role
  auth-events EMAIL [--limit N] [--json]
                              an account's auth-event log, newest first: time, action,
                              outcome, score, decision, reasons, network
  phone-key status [--json]   where the phone-number key is and how old, the year keys in the
                              database and how many numbers each year's quota counts
  phone-key rotate            destroy every year key and the phone quotas, make fresh keys:
                              every number may unlock accounts again this year
${REPORTS_USAGE}${MODERATION_KEY_USAGE}
Works on the server's database in the data dir (--data-dir, else CONCLAVE_DATA_DIR, else
./data); it may run while the server runs. The phone-key commands read the server's phone key
as the server does (--phone-secret-file, else CONCLAVE_PHONE_SECRET or
CONCLAVE_PHONE_SECRET_FILE, else ~/.config/conclave/phone-secret.key): run them as the
server's user, with its settings.
`;

interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

function describeLocation(l: PhoneSecretLocation | undefined): string {
  if (!l) return 'refused';
  if (l.kind === 'setting') return 'CONCLAVE_PHONE_SECRET (the phoneSecret setting)';
  return `${l.path} (${l.configured ? 'phoneSecretFile' : 'the default location'})`;
}

function ageOf(iso: string, now: number): string {
  const days = Math.floor((now - Date.parse(iso)) / 86_400_000);
  return `${iso.slice(0, 10)}, ${days === 1 ? '1 day' : `${Math.max(0, days)} days`} ago`;
}

/** `phone-key status` as text: locations, dates and counts, never a number or a hash. */
function formatPhoneKeyStatus(s: PhoneKeyStatus, now = Date.now()): string {
  const a = s.adminKey;
  const lines = [`phone-number key: ${describeLocation(a.location)}`];
  if (a.state === 'refused') lines.push(`  ${a.problem ?? ''}`);
  else if (a.state === 'missing') lines.push('  not there yet: the server makes it on its first start');
  else if (a.modifiedAt) lines.push(`  written ${ageOf(a.modifiedAt, now)}`);
  else lines.push('  age unknown (from the environment)');
  if (s.legacyFile) {
    lines.push(
      `key file of an older version in the data dir: ${s.legacyFile} (the server destroys it at its next start)`,
    );
  }
  if (s.years.length === 0) {
    lines.push('year keys: none yet (the server makes them on start)');
  } else {
    lines.push('year keys (in the database; each destroyed with its year, and by rotate):');
    const rows = s.years.map((y) => [
      String(y.year),
      y.key?.id ?? '-',
      y.key ? y.key.createdAt.slice(0, 10) : '-',
      y.key?.madeWithAdminKey === undefined ? '?' : y.key.madeWithAdminKey ? 'yes' : 'NO',
      String(y.quotaRows),
    ]);
    const header = ['year', 'key', 'made', 'with this key', 'numbers counted'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [header, ...rows])
      lines.push(
        `  ${r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd()}`,
      );
  }
  if (s.years.some((y) => y.key?.madeWithAdminKey === false)) {
    lines.push(
      "NO: made with another admin key than the one read here (another user or other settings than the server's?), or the server's key was replaced: a server with this key destroys them at its next refresh",
    );
  }
  if (s.quotaRowsUnderNoKey > 0) {
    lines.push(
      `quota rows under no key: ${s.quotaRowsUnderNoKey} (left by a rotation; a running server deletes them within a minute)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function phoneKey(
  db: Db,
  sub: string,
  settings: PhoneSecretSettings,
  json: boolean,
  io: Output,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (sub === 'status') {
    const status = await adminPhoneKeyStatus(db, settings, env);
    io.out(json ? `${JSON.stringify(status, null, 2)}\n` : formatPhoneKeyStatus(status));
    return 0;
  }
  const rotation = await adminRotatePhoneKeys(db, settings, { env });
  const years = rotation.made.map((k) => k.year).join(' and ');
  io.out(
    [
      `destroyed ${rotation.destroyed.length} year keys and ${rotation.quotaRowsDropped} quota rows; new keys for ${years} (from ${describeLocation(rotation.location)})`,
      'every number may unlock accounts again this year, up to its yearly quota; accounts already unlocked stay unlocked',
      'a running server switches to the new keys within a minute',
      ...(rotation.legacyFileRemoved ? ['destroyed the key file of an older version in the data dir'] : []),
      ...(rotation.walTruncated
        ? []
        : [
            'the WAL could not be truncated now (another process was reading): the server truncates it within a minute',
          ]),
    ].join('\n') + '\n',
  );
  return 0;
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

/** `conclave admin …`: resolves to the exit status (0 ok, 1 no such account or no phone key, 2 usage). */
export async function admin(
  args: string[],
  io: Output = stdio,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Report a User's moderation commands have their own flags (admin-reports.ts).
  if (args[0] === 'reports' || args[0] === 'moderation-log') return adminReports(args, io, env);
  if (args[0] === 'moderation-key') return adminModerationKey(args, io, env);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        'phone-secret-file': { type: 'string' },
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
  if (command === 'phone-key') {
    if ((rawEmail !== 'status' && rawEmail !== 'rotate') || value !== undefined) {
      return usage('phone-key takes status or rotate');
    }
    let settings: PhoneSecretSettings;
    try {
      settings = loadConfig(
        [
          ...(values['data-dir'] !== undefined ? ['--data-dir', values['data-dir']] : []),
          ...(values['phone-secret-file'] !== undefined
            ? ['--phone-secret-file', values['phone-secret-file']]
            : []),
        ],
        {
          CONCLAVE_DATA_DIR: env.CONCLAVE_DATA_DIR,
          CONCLAVE_PHONE_SECRET: env.CONCLAVE_PHONE_SECRET,
          CONCLAVE_PHONE_SECRET_FILE: env.CONCLAVE_PHONE_SECRET_FILE,
        },
      );
    } catch (err) {
      if (err instanceof ConfigError) return usage(err.message);
      throw err;
    }
    const db: Db = createDatabase(settings);
    try {
      await migrateToLatest(db);
      return await phoneKey(db, rawEmail, settings, values.json === true, io, env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.err(`conclave admin: ${err.message}\n`);
      return 1;
    } finally {
      await db.destroy();
    }
  }
  if (values['phone-secret-file'] !== undefined) return usage('--phone-secret-file is for phone-key');
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
    dataDir = loadConfig(flags, { CONCLAVE_DATA_DIR: env.CONCLAVE_DATA_DIR }).dataDir;
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
