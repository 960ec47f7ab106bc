import { parseArgs } from 'node:util';
import {
  adminCreateModerationKey,
  adminModerationKeyStatus,
  ConfigError,
  createDatabase,
  loadConfig,
  migrateToLatest,
  type ModerationKeyStatus,
} from '@conclave/server';

/** The lines of `conclave admin --help` for these commands. */
export const MODERATION_KEY_USAGE = `  moderation-key create --out FILE
                              a new moderators' key: the private key into FILE (0600, never
                              overwritten, not in the data dir: keep it off the server), the
                              public key into the database; new reports' evidence is sealed to
                              it, earlier reports stay sealed to their key (keep its file)
  moderation-key status [--json]
                              the current key's fingerprint and age, the retired keys, and how
                              many reports' sealed evidence each key opens
`;

interface Output {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A key id in groups of four, as people compare fingerprints. */
const grouped = (id: string): string => id.replace(/(.{4})(?=.)/g, '$1 ');

function formatStatus(s: ModerationKeyStatus): string {
  const lines: string[] = [];
  if (!s.current)
    lines.push(
      'no moderation key: reports are taken with their verdicts, their evidence is not kept (conclave admin moderation-key create --out FILE)',
    );
  else
    lines.push(
      `current key: ${grouped(s.current.id)}`,
      `  made ${s.current.createdAt}; seals the evidence of ${s.current.sealedReports} report(s)`,
    );
  for (const k of s.retired)
    lines.push(
      `retired key: ${grouped(k.id)}`,
      `  made ${k.createdAt}, retired ${k.retiredAt}; still seals the evidence of ${k.sealedReports} report(s)`,
    );
  return `${lines.join('\n')}\n`;
}

/** `conclave admin moderation-key create|status`: 0 ok, 1 refused (file exists, path in the data dir), 2 usage. */
export async function adminModerationKey(
  args: string[],
  io: Output,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const usage = (why: string) => {
    io.err(`conclave admin: ${why}\n\n${MODERATION_KEY_USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(MODERATION_KEY_USAGE);
    return 0;
  }
  const [, sub, ...extra] = positionals;
  if ((sub !== 'create' && sub !== 'status') || extra.length > 0)
    return usage('moderation-key takes create or status');
  if (sub === 'create' && values.out === undefined) return usage('moderation-key create needs --out FILE');
  if (sub === 'status' && values.out !== undefined) return usage('--out is for moderation-key create');

  let dataDir: string;
  try {
    const flags = values['data-dir'] !== undefined ? ['--data-dir', values['data-dir']] : [];
    dataDir = loadConfig(flags, { CONCLAVE_DATA_DIR: env.CONCLAVE_DATA_DIR }).dataDir;
  } catch (err) {
    if (err instanceof ConfigError) return usage(err.message);
    throw err;
  }
  const db = createDatabase({ dataDir });
  try {
    await migrateToLatest(db);
    if (sub === 'status') {
      const status = await adminModerationKeyStatus(db);
      io.out(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return 0;
    }
    const created = await adminCreateModerationKey(db, { dataDir, out: values.out! });
    io.out(
      [
        `moderation key ${grouped(created.key.id)}`,
        `private key written to ${created.file} (mode 0600): keep it safe and off the server; only it opens the evidence sealed to this key`,
        'new reports are sealed to this key from now on (a running server uses it for the next report)',
        ...created.retired.map(
          (id) => `retired ${grouped(id)}: the reports sealed to it stay so; keep its key file to open them`,
        ),
      ].join('\n') + '\n',
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`conclave admin: ${err.message}\n`);
    return 1;
  } finally {
    await db.destroy();
  }
}
