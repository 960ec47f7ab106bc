import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CodedError } from '@conclave/protocol';
import { z } from 'zod';

/**
 * Server configuration. Each setting is defined once, as a row of SETTINGS below: its flag,
 * its environment variable, the schema its text must pass, its default and a one-line
 * description. `ServerConfig` (the type), the command-line options, the environment lookup,
 * the defaults, `conclave serve --help` (CONFIG_HELP) and the settings table in
 * docs/architecture.md ("Configuration", checked against SETTINGS by test/config-docs.test.ts)
 * all come from it.
 *
 * Every setting comes from, in order of precedence: its command-line flag, its environment
 * variable, its default. Empty environment variables count as unset. The flag is the key in
 * kebab case, the variable `CONCLAVE_` and the flag in upper snake case.
 *
 * Notes beyond the one-line descriptions:
 * - `publicUrl` is `undefined` when not set: the server then derives it from the address it
 *   actually listens on (so `--port 0` gives correct meeting links).
 * - `trustProxy` (added because per-IP rate limits are useless behind a reverse proxy without
 *   it): `true` trusts every hop, only right when the server is reachable solely through the
 *   proxy; a list names proxy addresses/CIDRs or `loopback`, `linklocal`, `uniquelocal` (as
 *   understood by `proxy-addr`).
 * - The SMS and phone settings are `undefined` when not set and the accounts code applies the
 *   defaults shown (accounts/accounts.ts, verification/service.ts). The phone secret is the
 *   admin key of phone-number hashes: held outside the data dir (the variable, or a file that
 *   may not be inside it), so a copy of the data dir alone cannot be searched for known numbers
 *   (verification/phone-secret.ts).
 * - Limits on what one client can make the server hold (docs/architecture.md, "Threat model
 *   and limits"); a network is an IPv4 /24 or an IPv6 /64. Sockets count open signaling
 *   WebSockets; joins count join attempts (a token bucket refilled per minute). `maxWaiting` is
 *   the waiting-room cap of one meeting, counted apart from `maxParticipants` (which counts
 *   admitted participants only). A socket whose unsent data grows past `maxSendBufferBytes` is a
 *   slow consumer and is dropped (the SDK reconnects with its resume token). Wrong passcodes: at
 *   most `passcodeFailuresPerNetwork` per network and meeting in 5 minutes;
 *   `passcodeFailuresPerMeeting` wrong passcodes in 15 minutes lock passcode entry of that
 *   meeting for the rest of the window (the host is told).
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting that does not parse. `message` names the setting, where it came from and what it got. */
export class ConfigError extends CodedError<'bad_config'> {
  constructor(message: string) {
    super('bad_config', message);
    this.name = 'ConfigError';
  }
}

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^[0-9]+$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `must be an integer from ${min} to ${max}`)
        .max(max, `must be an integer from ${min} to ${max}`),
    );

const hostSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .regex(/^[A-Za-z0-9.:%_-]+$/, 'must be a host name or an IP address');

const publicUrlSchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'must be an absolute URL such as https://meet.example.org',
      });
      return z.NEVER;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must use http or https' });
      return z.NEVER;
    }
    if (u.search || u.hash || u.username || u.password) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'must not contain a query, a fragment or credentials',
      });
      return z.NEVER;
    }
    // Links are built as `${publicUrl}/m/<id>`: keep any path prefix, drop the trailing slash.
    return u.href.replace(/\/+$/, '');
  });

const ipSchema = z
  .string()
  .trim()
  .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address');

const portRangeSchema = z
  .string()
  .trim()
  .regex(/^[0-9]{1,5}-[0-9]{1,5}$/, 'must be a range like 40000-40999')
  .transform((s) => {
    const [min, max] = s.split('-').map(Number) as [number, number];
    return { min, max };
  })
  .refine((r) => r.min >= 1 && r.max <= 65535, 'ports must be from 1 to 65535')
  .refine((r) => r.min <= r.max, 'the first port must not be greater than the last');

const trustProxySchema = z
  .string()
  .trim()
  .transform((s): boolean | string[] => {
    const lower = s.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false' || lower === '') return false;
    return s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  })
  .refine(
    (v) =>
      typeof v === 'boolean' ||
      v.every(
        (x) => ['loopback', 'linklocal', 'uniquelocal'].includes(x) || isIP(x.split('/')[0] ?? '') !== 0,
      ),
    'must be true, false, or a comma-separated list of addresses/CIDRs (or loopback, linklocal, uniquelocal)',
  );

const gatewayUrlSchema = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http or https URL');

/** A file name, resolved against the working directory. */
const filePathSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .transform((s) => resolve(s));

/** The groups settings are listed in (help text and docs). */
export const SETTING_GROUPS = {
  server: 'Settings',
  phone: 'Phone verification (accounts)',
  limits: 'Limits (a network is an IPv4 /24 or an IPv6 /64)',
} as const;

/**
 * One setting. `T` is what its schema makes of the flag's or variable's text, `D` what it is
 * when neither is set (`undefined` for settings whose default another module applies).
 */
interface Setting<T, D extends T | undefined> {
  /** The command-line flag, without `--`. */
  flag: string;
  /** The environment variable. */
  env: string;
  /** What the flag takes, as the help text shows it (N, ADDR, URL, …). */
  arg: string;
  schema: z.ZodType<T, z.ZodTypeDef, string>;
  /** The value when neither the flag nor the variable is set. */
  fallback: () => D;
  /** The default as the help text and the docs show it; `String(fallback())` when absent. */
  shown?: string;
  /** One line: what the setting does. */
  description: string;
  group: keyof typeof SETTING_GROUPS;
}

const setting = <T, D extends T | undefined>(s: Setting<T, D>): Setting<T, D> => s;

/** An integer limit (group `limits`) from `min` to `max`. */
const limit = (
  flag: string,
  min: number,
  max: number,
  fallback: number,
  description: string,
  shown?: string,
) =>
  setting({
    flag,
    env: `CONCLAVE_${flag.toUpperCase().replace(/-/g, '_')}`,
    arg: 'N',
    schema: integer(min, max),
    fallback: () => fallback,
    shown,
    description,
    group: 'limits',
  });

/** Every setting of `conclave serve`, in the order the help text and the docs list them. */
export const SETTINGS = {
  port: setting({
    flag: 'port',
    env: 'CONCLAVE_PORT',
    arg: 'N',
    schema: integer(0, 65535),
    fallback: () => 8080,
    description: 'HTTP and signaling port (0 = any free port)',
    group: 'server',
  }),
  host: setting({
    flag: 'host',
    env: 'CONCLAVE_HOST',
    arg: 'ADDR',
    schema: hostSchema,
    fallback: () => '127.0.0.1',
    description: 'address the HTTP server listens on',
    group: 'server',
  }),
  /** An absolute path. */
  dataDir: setting({
    flag: 'data-dir',
    env: 'CONCLAVE_DATA_DIR',
    arg: 'DIR',
    schema: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .transform((s) => resolve(s)),
    fallback: () => resolve('data'),
    shown: './data',
    description: 'data directory (database, keys), resolved against the working directory',
    group: 'server',
  }),
  /** Without a trailing slash; `undefined` = derive from the listening address. */
  publicUrl: setting({
    flag: 'public-url',
    env: 'CONCLAVE_PUBLIC_URL',
    arg: 'URL',
    schema: publicUrlSchema,
    fallback: () => undefined,
    shown: 'http://HOST:PORT',
    description: 'what meeting links start with (default: the address the server listens on)',
    group: 'server',
  }),
  /** IPv4/IPv6 address the SFU announces in its ICE candidates. */
  mediaAddress: setting({
    flag: 'media-address',
    env: 'CONCLAVE_MEDIA_ADDRESS',
    arg: 'IP',
    schema: ipSchema,
    fallback: () => '127.0.0.1',
    description: 'IPv4 or IPv6 address the SFU announces in its ICE candidates',
    group: 'server',
  }),
  /** Inclusive UDP port range for the SFU. */
  mediaPorts: setting({
    flag: 'media-ports',
    env: 'CONCLAVE_MEDIA_PORTS',
    arg: 'A-B',
    schema: portRangeSchema,
    fallback: () => ({ min: 40000, max: 40999 }),
    shown: '40000-40999',
    description: 'UDP ports of the SFU (an inclusive range)',
    group: 'server',
  }),
  sfuWorkers: setting({
    flag: 'sfu-workers',
    env: 'CONCLAVE_SFU_WORKERS',
    arg: 'N',
    schema: integer(1, 256),
    fallback: () => Math.min(2, availableParallelism()),
    shown: 'min(2, CPUs)',
    description: 'SFU worker processes',
    group: 'server',
  }),
  /** How often the server asks an E2EE meeting to make an empty MLS commit (new media keys). */
  rekeySeconds: setting({
    flag: 'rekey-seconds',
    env: 'CONCLAVE_REKEY_SECONDS',
    arg: 'N',
    // Below 10 s a meeting would spend its time committing; a day is a generous upper bound.
    schema: integer(10, 86400),
    fallback: () => 300,
    description: 'how often an E2EE meeting makes an empty MLS commit (new media keys)',
    group: 'server',
  }),
  logLevel: setting({
    flag: 'log-level',
    env: 'CONCLAVE_LOG_LEVEL',
    arg: 'LEVEL',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { errorMap: () => ({ message: `must be one of ${LOG_LEVELS.join(', ')}` }) })),
    fallback: () => 'info',
    description: `one of ${LOG_LEVELS.join(', ')}`,
    group: 'server',
  }),
  trustProxy: setting({
    flag: 'trust-proxy',
    env: 'CONCLAVE_TRUST_PROXY',
    arg: 'VALUE',
    schema: trustProxySchema,
    fallback: () => false,
    description:
      'whose X-Forwarded-For to believe: true (every hop), false, or a list of proxy addresses/CIDRs (or loopback, linklocal, uniquelocal)',
    group: 'server',
  }),
  /** PEM certificate chain for HTTPS; with `tlsKey`, the server speaks only HTTPS (http/tls.ts). */
  tlsCert: setting({
    flag: 'tls-cert',
    env: 'CONCLAVE_TLS_CERT',
    arg: 'FILE',
    schema: filePathSchema,
    fallback: () => undefined,
    shown: 'none (HTTP)',
    description: 'PEM certificate (chain) file: serve HTTPS and WSS instead of HTTP (needs tlsKey)',
    group: 'server',
  }),
  /** PEM private key of `tlsCert`. */
  tlsKey: setting({
    flag: 'tls-key',
    env: 'CONCLAVE_TLS_KEY',
    arg: 'FILE',
    schema: filePathSchema,
    fallback: () => undefined,
    shown: 'none (HTTP)',
    description: 'PEM private key file of tlsCert (needs tlsCert)',
    group: 'server',
  }),
  /** How SMS codes are delivered: `console` (the server log; default) or `http` (a gateway). */
  smsProvider: setting({
    flag: 'sms-provider',
    env: 'CONCLAVE_SMS_PROVIDER',
    arg: 'NAME',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['console', 'http'], { errorMap: () => ({ message: 'must be console or http' }) })),
    fallback: () => undefined,
    shown: 'console',
    description: 'how phone codes are sent: console (the server log) or http (a gateway)',
    group: 'phone',
  }),
  /** The gateway the `http` provider POSTs `{to, text}` to. */
  smsGatewayUrl: setting({
    flag: 'sms-gateway-url',
    env: 'CONCLAVE_SMS_GATEWAY_URL',
    arg: 'URL',
    schema: gatewayUrlSchema,
    fallback: () => undefined,
    shown: 'none',
    description: 'the gateway the http provider POSTs {to, text} to (needed by http)',
    group: 'phone',
  }),
  /** Sent as `Authorization: Bearer <token>` to the gateway when set. */
  smsGatewayToken: setting({
    flag: 'sms-gateway-token',
    env: 'CONCLAVE_SMS_GATEWAY_TOKEN',
    arg: 'TOKEN',
    schema: z.string().trim().min(1, 'must not be empty'),
    fallback: () => undefined,
    shown: 'none',
    description: 'Bearer token sent to the gateway (optional)',
    group: 'phone',
  }),
  /**
   * The phone-number key itself (base64 of 32 or more bytes), instead of a file; the variable
   * rather than the flag, which any user of the machine sees in the process list.
   */
  phoneSecret: setting({
    flag: 'phone-secret',
    env: 'CONCLAVE_PHONE_SECRET',
    arg: 'BASE64',
    schema: z
      .string()
      .trim()
      .refine(
        (s) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length >= 32,
        'must be at least 32 bytes of base64 (openssl rand -base64 32)',
      ),
    fallback: () => undefined,
    shown: 'none',
    description: 'the phone-number key itself (base64, 32+ bytes); set the variable: a flag shows in ps',
    group: 'phone',
  }),
  /**
   * File holding the phone-number key; `undefined` = the default file (verification/
   * phone-secret.ts: `$XDG_CONFIG_HOME/conclave/phone-secret.key`). Never inside the data dir.
   */
  phoneSecretFile: setting({
    flag: 'phone-secret-file',
    env: 'CONCLAVE_PHONE_SECRET_FILE',
    arg: 'FILE',
    schema: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .transform((s) => resolve(s)),
    fallback: () => undefined,
    shown: '~/.config/conclave/phone-secret.key',
    description: 'file holding the phone-number key, never inside the data dir (made 0600 if missing)',
    group: 'phone',
  }),
  /** How many accounts one phone number may unlock in a year; `undefined` = 3. */
  phoneUnlocksPerYear: setting({
    flag: 'phone-unlocks-per-year',
    env: 'CONCLAVE_PHONE_UNLOCKS_PER_YEAR',
    arg: 'N',
    schema: integer(1, 1000),
    fallback: () => undefined,
    shown: '3',
    description: 'accounts one phone number may unlock in a year',
    group: 'phone',
  }),
  maxSocketsPerAddress: limit(
    'max-sockets-per-address',
    1,
    100_000,
    64,
    'open signaling sockets from one IP address',
  ),
  maxSocketsPerNetwork: limit(
    'max-sockets-per-network',
    1,
    1_000_000,
    256,
    'open signaling sockets from one network',
  ),
  joinsPerMinutePerAddress: limit(
    'joins-per-minute-per-address',
    1,
    100_000,
    60,
    'join attempts per minute from one IP address',
  ),
  joinsPerMinutePerNetwork: limit(
    'joins-per-minute-per-network',
    1,
    1_000_000,
    240,
    'join attempts per minute from one network',
  ),
  maxWaiting: limit(
    'max-waiting',
    1,
    10_000,
    100,
    'waiting-room entries per meeting (apart from maxParticipants)',
  ),
  maxWaitingPerNetwork: limit(
    'max-waiting-per-network',
    1,
    10_000,
    20,
    'waiting-room entries per meeting from one network',
  ),
  maxSendBufferBytes: limit(
    'max-send-buffer-bytes',
    65_536,
    1 << 30,
    4 * 1024 * 1024,
    'unsent bytes a signaling socket may hold; past it the client is dropped as a slow consumer',
    '4194304 (4 MiB)',
  ),
  resumeSeconds: limit(
    'resume-seconds',
    5,
    86_400,
    120,
    'seconds a dropped participant’s resume token stays valid',
  ),
  passcodeFailuresPerNetwork: limit(
    'passcode-failures-per-network',
    1,
    1000,
    5,
    'wrong passcodes per meeting and network in 5 minutes',
  ),
  passcodeFailuresPerMeeting: limit(
    'passcode-failures-per-meeting',
    1,
    100_000,
    30,
    'wrong passcodes per meeting in 15 minutes, then passcode entry is locked',
  ),
  reportsPerAccountPerDay: limit(
    'reports-per-account-per-day',
    1,
    10_000,
    10,
    'reports (Report a User) one account may file in 24 hours',
  ),
  reportsPerNetworkPerDay: limit(
    'reports-per-network-per-day',
    1,
    10_000,
    5,
    'reports guests (no account) of one network may file in 24 hours',
  ),
  maxOpenReportsPerAccount: limit(
    'max-open-reports-per-account',
    1,
    100_000,
    20,
    'distinct reporters with an open report against one account; more reports against it are refused',
  ),
  /** How long a report's sealed evidence is kept (reports/retention.ts); its verdicts stay. */
  reportEvidenceDays: setting({
    flag: 'report-evidence-days',
    env: 'CONCLAVE_REPORT_EVIDENCE_DAYS',
    arg: 'N',
    schema: integer(1, 3650),
    fallback: () => 90,
    description: 'days a report’s sealed evidence is kept, then deleted (its verdicts stay)',
    group: 'server',
  }),
};

type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T, infer D> ? T | D : never;

/** The server's configuration: one field per setting, typed by its schema and default. */
export type ServerConfig = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

const KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The default of a setting as the help text and the docs show it. */
export function shownDefault(key: SettingKey): string {
  const s: Setting<unknown, unknown> = SETTINGS[key];
  return s.shown ?? String(s.fallback());
}

/** `conclave serve --help`'s list of settings: per group, each flag, variable and default, then what it does. */
export const CONFIG_HELP = ((): string => {
  const flag = (k: SettingKey) => `--${SETTINGS[k].flag} ${SETTINGS[k].arg}`;
  const flagWidth = Math.max(...KEYS.map((k) => flag(k).length));
  const envWidth = Math.max(...KEYS.map((k) => SETTINGS[k].env.length));
  const groups = Object.keys(SETTING_GROUPS) as (keyof typeof SETTING_GROUPS)[];
  return groups
    .map((group, i) => {
      const lines = KEYS.filter((k) => SETTINGS[k].group === group).map(
        (k) =>
          `  ${flag(k).padEnd(flagWidth)}  ${SETTINGS[k].env.padEnd(envWidth)}  ${shownDefault(k)}\n` +
          `      ${SETTINGS[k].description}`,
      );
      const title = SETTING_GROUPS[group] + (i === 0 ? ' (flag, environment variable, default)' : '');
      return `${title}:\n${lines.join('\n')}`;
    })
    .join('\n');
})();

/**
 * Reads the configuration. `argv` holds only the flags (no node path, script or subcommand).
 * Throws `ConfigError` for an unknown flag, a positional argument, or a value that does not parse.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  let flags: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(KEYS.map((k) => [SETTINGS[k].flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }

  const read = (key: SettingKey): unknown => {
    const s: Setting<unknown, unknown> = SETTINGS[key];
    const fromFlag = flags[s.flag];
    const fromEnv = env[s.env];
    const source =
      fromFlag !== undefined
        ? { raw: fromFlag, where: `--${s.flag}` }
        : fromEnv !== undefined && fromEnv !== ''
          ? { raw: fromEnv, where: s.env }
          : undefined;
    if (!source) return s.fallback();
    const result = s.schema.safeParse(source.raw);
    if (!result.success) {
      const reason = result.error.issues[0]?.message ?? 'is not valid';
      throw new ConfigError(
        `Invalid setting ${key} (${source.where}=${JSON.stringify(source.raw)}): ${reason}`,
      );
    }
    return result.data;
  };

  // Each value comes from its own setting's schema or default, so it has that setting's type.
  const config = Object.fromEntries(KEYS.map((k) => [k, read(k)])) as ServerConfig;
  if (config.phoneSecret !== undefined && config.phoneSecretFile !== undefined) {
    throw new ConfigError(
      'Invalid setting phoneSecret/phoneSecretFile: set the phone-number key (CONCLAVE_PHONE_SECRET) or its file (CONCLAVE_PHONE_SECRET_FILE), not both',
    );
  }
  if (config.smsProvider === 'http' && !config.smsGatewayUrl) {
    throw new ConfigError(
      'Invalid setting smsProvider (http): needs smsGatewayUrl (--sms-gateway-url or CONCLAVE_SMS_GATEWAY_URL)',
    );
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError(
      'Invalid setting tlsCert/tlsKey: HTTPS needs both a certificate (--tls-cert or CONCLAVE_TLS_CERT) and its key (--tls-key or CONCLAVE_TLS_KEY)',
    );
  }
  if (config.tlsCert !== undefined && config.publicUrl?.startsWith('http:')) {
    throw new ConfigError(
      `Invalid setting publicUrl (${config.publicUrl}): the server serves HTTPS (tlsCert), so its public URL must be https`,
    );
  }
  return config;
}
