import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * Server configuration. Every setting comes from, in order of precedence: a command-line flag,
 * an environment variable, a default. Empty environment variables count as unset.
 *
 * | setting        | flag              | environment              | default                                  |
 * |----------------|-------------------|--------------------------|------------------------------------------|
 * | port           | --port            | CONCLAVE_PORT            | 8080 (0 = any free port)                 |
 * | host           | --host            | CONCLAVE_HOST            | 127.0.0.1                                |
 * | dataDir        | --data-dir        | CONCLAVE_DATA_DIR        | ./data (resolved against the cwd)        |
 * | publicUrl      | --public-url      | CONCLAVE_PUBLIC_URL      | http://<host>:<actual port>              |
 * | mediaAddress   | --media-address   | CONCLAVE_MEDIA_ADDRESS   | 127.0.0.1                                |
 * | mediaPorts     | --media-ports     | CONCLAVE_MEDIA_PORTS     | 40000-40999                              |
 * | sfuWorkers     | --sfu-workers     | CONCLAVE_SFU_WORKERS     | min(2, available CPUs)                   |
 * | rekeySeconds   | --rekey-seconds   | CONCLAVE_REKEY_SECONDS   | 300                                      |
 * | logLevel       | --log-level       | CONCLAVE_LOG_LEVEL       | info                                     |
 * | trustProxy     | --trust-proxy     | CONCLAVE_TRUST_PROXY     | false                                    |
 *
 * Phone verification (accounts):
 *
 * | setting             | flag                     | environment                     | default                   |
 * |---------------------|--------------------------|---------------------------------|---------------------------|
 * | smsProvider         | --sms-provider           | CONCLAVE_SMS_PROVIDER           | console (codes in log)    |
 * | smsGatewayUrl       | --sms-gateway-url        | CONCLAVE_SMS_GATEWAY_URL        | none (needed by `http`)   |
 * | smsGatewayToken     | --sms-gateway-token      | CONCLAVE_SMS_GATEWAY_TOKEN      | none (Bearer token)       |
 * | phoneSecretFile     | --phone-secret-file      | CONCLAVE_PHONE_SECRET_FILE      | <dataDir>/phone-hmac.key  |
 * | phoneUnlocksPerYear | --phone-unlocks-per-year | CONCLAVE_PHONE_UNLOCKS_PER_YEAR | 3                         |
 *
 * Limits on what one client can make the server hold (admission issue; see docs/architecture.md,
 * "Threat model and limits"). A network is an IPv4 /24 or an IPv6 /64.
 *
 * | setting                    | flag                             | environment                               | default |
 * |----------------------------|----------------------------------|-------------------------------------------|---------|
 * | maxSocketsPerAddress       | --max-sockets-per-address        | CONCLAVE_MAX_SOCKETS_PER_ADDRESS          | 64      |
 * | maxSocketsPerNetwork       | --max-sockets-per-network        | CONCLAVE_MAX_SOCKETS_PER_NETWORK          | 256     |
 * | joinsPerMinutePerAddress   | --joins-per-minute-per-address   | CONCLAVE_JOINS_PER_MINUTE_PER_ADDRESS     | 60      |
 * | joinsPerMinutePerNetwork   | --joins-per-minute-per-network   | CONCLAVE_JOINS_PER_MINUTE_PER_NETWORK     | 240     |
 * | maxWaiting                 | --max-waiting                    | CONCLAVE_MAX_WAITING                      | 100     |
 * | maxWaitingPerNetwork       | --max-waiting-per-network        | CONCLAVE_MAX_WAITING_PER_NETWORK          | 20      |
 * | maxSendBufferBytes         | --max-send-buffer-bytes          | CONCLAVE_MAX_SEND_BUFFER_BYTES            | 4 MiB   |
 * | resumeSeconds              | --resume-seconds                 | CONCLAVE_RESUME_SECONDS                   | 120     |
 * | passcodeFailuresPerNetwork | --passcode-failures-per-network  | CONCLAVE_PASSCODE_FAILURES_PER_NETWORK    | 5       |
 * | passcodeFailuresPerMeeting | --passcode-failures-per-meeting  | CONCLAVE_PASSCODE_FAILURES_PER_MEETING    | 30      |
 *
 * Sockets count open signaling WebSockets; joins count join attempts (a token bucket refilled
 * per minute). `maxWaiting` is the waiting-room cap of one meeting, counted apart from
 * `maxParticipants` (which counts admitted participants only). `maxSendBufferBytes`: a socket
 * whose unsent data grows past this is a slow consumer and is dropped (the SDK reconnects with
 * its resume token). `resumeSeconds`: how long after a participant's connection dropped its
 * resume token still works. Wrong passcodes: at most `passcodeFailuresPerNetwork` per network
 * and meeting in 5 minutes; `passcodeFailuresPerMeeting` wrong passcodes in 15 minutes lock
 * passcode entry of that meeting for the rest of the window (the host is told).
 *
 * The SMS and phone settings are `undefined` when not set and the accounts code applies the
 * defaults above (accounts/accounts.ts, verification/service.ts). The phone secret is the HMAC
 * key of phone numbers: kept in a file of its own (created 0600 on first use) rather than in the
 * database, so a copy of the database alone cannot be searched for known numbers.
 *
 * `publicUrl` is `undefined` when not set: the server then derives it from the address it
 * actually listens on (so `--port 0` gives correct meeting links).
 *
 * `trustProxy` (not in the first design list, added because per-IP rate limits are useless
 * behind a reverse proxy without it): `false`, `true` (trust every hop: only when the server
 * is reachable solely through the proxy), or a comma-separated list of proxy addresses/CIDRs
 * or the names `loopback`, `linklocal`, `uniquelocal` (as understood by `proxy-addr`).
 */
export interface ServerConfig {
  port: number;
  host: string;
  /** Absolute path. */
  dataDir: string;
  /** Without a trailing slash; `undefined` = derive from the listening address. */
  publicUrl: string | undefined;
  /** IPv4/IPv6 address the SFU announces in its ICE candidates. */
  mediaAddress: string;
  /** Inclusive UDP port range for the SFU. */
  mediaPorts: { min: number; max: number };
  sfuWorkers: number;
  /** How often the server asks an E2EE meeting to make an empty MLS commit (new media keys). */
  rekeySeconds: number;
  logLevel: LogLevel;
  trustProxy: boolean | string[];
  /** How SMS codes are delivered: `console` (the server log; default) or `http` (a gateway). */
  smsProvider: 'console' | 'http' | undefined;
  /** The gateway the `http` provider POSTs `{to, text}` to. */
  smsGatewayUrl: string | undefined;
  /** Sent as `Authorization: Bearer <token>` to the gateway when set. */
  smsGatewayToken: string | undefined;
  /** File holding the phone-number HMAC key; `undefined` = `<dataDir>/phone-hmac.key`. */
  phoneSecretFile: string | undefined;
  /** How many accounts one phone number may unlock in a year; `undefined` = 3. */
  phoneUnlocksPerYear: number | undefined;
  /** Open signaling sockets from one IP address. */
  maxSocketsPerAddress: number;
  /** Open signaling sockets from one network (IPv4 /24, IPv6 /64). */
  maxSocketsPerNetwork: number;
  /** Join attempts per minute from one IP address. */
  joinsPerMinutePerAddress: number;
  /** Join attempts per minute from one network. */
  joinsPerMinutePerNetwork: number;
  /** Waiting-room entries per meeting (apart from `maxParticipants`). */
  maxWaiting: number;
  /** Waiting-room entries per meeting from one network. */
  maxWaitingPerNetwork: number;
  /** Unsent bytes a signaling socket may hold before it is dropped as a slow consumer. */
  maxSendBufferBytes: number;
  /** Seconds a dropped participant's resume token stays valid. */
  resumeSeconds: number;
  /** Wrong passcodes per meeting and network in 5 minutes. */
  passcodeFailuresPerNetwork: number;
  /** Wrong passcodes per meeting in 15 minutes before passcode entry is locked. */
  passcodeFailuresPerMeeting: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting that does not parse. `message` names the setting, where it came from and what it got. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
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

interface Setting<K extends keyof ServerConfig> {
  flag: string;
  env: string;
  schema: z.ZodType<ServerConfig[K], z.ZodTypeDef, string>;
  /** Used when neither the flag nor the variable is set. */
  fallback: () => ServerConfig[K];
}

const SETTINGS: { [K in keyof ServerConfig]: Setting<K> } = {
  port: { flag: 'port', env: 'CONCLAVE_PORT', schema: integer(0, 65535), fallback: () => 8080 },
  host: { flag: 'host', env: 'CONCLAVE_HOST', schema: hostSchema, fallback: () => '127.0.0.1' },
  dataDir: {
    flag: 'data-dir',
    env: 'CONCLAVE_DATA_DIR',
    schema: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .transform((s) => resolve(s)),
    fallback: () => resolve('data'),
  },
  publicUrl: {
    flag: 'public-url',
    env: 'CONCLAVE_PUBLIC_URL',
    schema: publicUrlSchema,
    fallback: () => undefined,
  },
  mediaAddress: {
    flag: 'media-address',
    env: 'CONCLAVE_MEDIA_ADDRESS',
    schema: ipSchema,
    fallback: () => '127.0.0.1',
  },
  mediaPorts: {
    flag: 'media-ports',
    env: 'CONCLAVE_MEDIA_PORTS',
    schema: portRangeSchema,
    fallback: () => ({ min: 40000, max: 40999 }),
  },
  sfuWorkers: {
    flag: 'sfu-workers',
    env: 'CONCLAVE_SFU_WORKERS',
    schema: integer(1, 256),
    fallback: () => Math.min(2, availableParallelism()),
  },
  rekeySeconds: {
    flag: 'rekey-seconds',
    env: 'CONCLAVE_REKEY_SECONDS',
    // Below 10 s a meeting would spend its time committing; a day is a generous upper bound.
    schema: integer(10, 86400),
    fallback: () => 300,
  },
  logLevel: {
    flag: 'log-level',
    env: 'CONCLAVE_LOG_LEVEL',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { errorMap: () => ({ message: `must be one of ${LOG_LEVELS.join(', ')}` }) })),
    fallback: () => 'info',
  },
  trustProxy: {
    flag: 'trust-proxy',
    env: 'CONCLAVE_TRUST_PROXY',
    schema: trustProxySchema,
    fallback: () => false,
  },
  smsProvider: {
    flag: 'sms-provider',
    env: 'CONCLAVE_SMS_PROVIDER',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['console', 'http'], { errorMap: () => ({ message: 'must be console or http' }) })),
    fallback: () => undefined,
  },
  smsGatewayUrl: {
    flag: 'sms-gateway-url',
    env: 'CONCLAVE_SMS_GATEWAY_URL',
    schema: gatewayUrlSchema,
    fallback: () => undefined,
  },
  smsGatewayToken: {
    flag: 'sms-gateway-token',
    env: 'CONCLAVE_SMS_GATEWAY_TOKEN',
    schema: z.string().trim().min(1, 'must not be empty'),
    fallback: () => undefined,
  },
  phoneSecretFile: {
    flag: 'phone-secret-file',
    env: 'CONCLAVE_PHONE_SECRET_FILE',
    schema: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .transform((s) => resolve(s)),
    fallback: () => undefined,
  },
  phoneUnlocksPerYear: {
    flag: 'phone-unlocks-per-year',
    env: 'CONCLAVE_PHONE_UNLOCKS_PER_YEAR',
    schema: integer(1, 1000),
    fallback: () => undefined,
  },
  maxSocketsPerAddress: limit('max-sockets-per-address', 1, 100_000, 64),
  maxSocketsPerNetwork: limit('max-sockets-per-network', 1, 1_000_000, 256),
  joinsPerMinutePerAddress: limit('joins-per-minute-per-address', 1, 100_000, 60),
  joinsPerMinutePerNetwork: limit('joins-per-minute-per-network', 1, 1_000_000, 240),
  maxWaiting: limit('max-waiting', 1, 10_000, 100),
  maxWaitingPerNetwork: limit('max-waiting-per-network', 1, 10_000, 20),
  maxSendBufferBytes: limit('max-send-buffer-bytes', 65_536, 1 << 30, 4 * 1024 * 1024),
  resumeSeconds: limit('resume-seconds', 5, 86_400, 120),
  passcodeFailuresPerNetwork: limit('passcode-failures-per-network', 1, 1000, 5),
  passcodeFailuresPerMeeting: limit('passcode-failures-per-meeting', 1, 100_000, 30),
};

/** An integer limit whose environment variable is CONCLAVE_ + the flag in upper snake case. */
function limit<K extends LimitKey>(flag: string, min: number, max: number, fallback: number): Setting<K> {
  // ServerConfig[K] is `number` for every LimitKey; TypeScript cannot see that for a generic K.
  type Value = ServerConfig[K];
  return {
    flag,
    env: `CONCLAVE_${flag.toUpperCase().replace(/-/g, '_')}`,
    schema: integer(min, max) as z.ZodType<Value, z.ZodTypeDef, string>,
    fallback: () => fallback as Value,
  };
}

type LimitKey = {
  [K in keyof ServerConfig]: ServerConfig[K] extends number ? K : never;
}[keyof ServerConfig];

/** One line per setting, for `conclave serve --help`. */
export const CONFIG_HELP = `Settings (flag, environment variable, default):
  --port N             CONCLAVE_PORT           8080 (0 = any free port)
  --host ADDR          CONCLAVE_HOST           127.0.0.1
  --data-dir DIR       CONCLAVE_DATA_DIR       ./data
  --public-url URL     CONCLAVE_PUBLIC_URL     http://<host>:<port>
  --media-address IP   CONCLAVE_MEDIA_ADDRESS  127.0.0.1
  --media-ports A-B    CONCLAVE_MEDIA_PORTS    40000-40999
  --sfu-workers N      CONCLAVE_SFU_WORKERS    min(2, CPUs)
  --rekey-seconds N    CONCLAVE_REKEY_SECONDS  300
  --log-level LEVEL    CONCLAVE_LOG_LEVEL      info (${LOG_LEVELS.join(', ')})
  --trust-proxy VALUE  CONCLAVE_TRUST_PROXY    false (true, or a list of proxy addresses/CIDRs)
  --sms-provider NAME  CONCLAVE_SMS_PROVIDER   console (codes in the log), or http
  --sms-gateway-url URL  CONCLAVE_SMS_GATEWAY_URL  gateway for the http provider (POST {to, text})
  --sms-gateway-token T  CONCLAVE_SMS_GATEWAY_TOKEN  Bearer token for the gateway (optional)
  --phone-secret-file F  CONCLAVE_PHONE_SECRET_FILE  <data-dir>/phone-hmac.key
  --phone-unlocks-per-year N  CONCLAVE_PHONE_UNLOCKS_PER_YEAR  3
Limits (a network is an IPv4 /24 or an IPv6 /64):
  --max-sockets-per-address N        CONCLAVE_MAX_SOCKETS_PER_ADDRESS        64
  --max-sockets-per-network N        CONCLAVE_MAX_SOCKETS_PER_NETWORK        256
  --joins-per-minute-per-address N   CONCLAVE_JOINS_PER_MINUTE_PER_ADDRESS   60
  --joins-per-minute-per-network N   CONCLAVE_JOINS_PER_MINUTE_PER_NETWORK   240
  --max-waiting N                    CONCLAVE_MAX_WAITING                    100 per meeting
  --max-waiting-per-network N        CONCLAVE_MAX_WAITING_PER_NETWORK        20 per meeting
  --max-send-buffer-bytes N          CONCLAVE_MAX_SEND_BUFFER_BYTES          4194304 (then dropped)
  --resume-seconds N                 CONCLAVE_RESUME_SECONDS                 120 after a drop
  --passcode-failures-per-network N  CONCLAVE_PASSCODE_FAILURES_PER_NETWORK  5 per meeting in 5 min
  --passcode-failures-per-meeting N  CONCLAVE_PASSCODE_FAILURES_PER_MEETING  30 in 15 min, then locked`;

/**
 * Reads the configuration. `argv` holds only the flags (no node path, script or subcommand).
 * Throws `ConfigError` for an unknown flag, a positional argument, or a value that does not parse.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  let flags: Record<string, string | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.values(SETTINGS).map((s) => [s.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }

  const read = <K extends keyof ServerConfig>(key: K): ServerConfig[K] => {
    const s: Setting<K> = SETTINGS[key];
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

  const config: ServerConfig = {
    port: read('port'),
    host: read('host'),
    dataDir: read('dataDir'),
    publicUrl: read('publicUrl'),
    mediaAddress: read('mediaAddress'),
    mediaPorts: read('mediaPorts'),
    sfuWorkers: read('sfuWorkers'),
    rekeySeconds: read('rekeySeconds'),
    logLevel: read('logLevel'),
    trustProxy: read('trustProxy'),
    smsProvider: read('smsProvider'),
    smsGatewayUrl: read('smsGatewayUrl'),
    smsGatewayToken: read('smsGatewayToken'),
    phoneSecretFile: read('phoneSecretFile'),
    phoneUnlocksPerYear: read('phoneUnlocksPerYear'),
    maxSocketsPerAddress: read('maxSocketsPerAddress'),
    maxSocketsPerNetwork: read('maxSocketsPerNetwork'),
    joinsPerMinutePerAddress: read('joinsPerMinutePerAddress'),
    joinsPerMinutePerNetwork: read('joinsPerMinutePerNetwork'),
    maxWaiting: read('maxWaiting'),
    maxWaitingPerNetwork: read('maxWaitingPerNetwork'),
    maxSendBufferBytes: read('maxSendBufferBytes'),
    resumeSeconds: read('resumeSeconds'),
    passcodeFailuresPerNetwork: read('passcodeFailuresPerNetwork'),
    passcodeFailuresPerMeeting: read('passcodeFailuresPerMeeting'),
  };
  if (config.smsProvider === 'http' && !config.smsGatewayUrl) {
    throw new ConfigError(
      'Invalid setting smsProvider (http): needs smsGatewayUrl (--sms-gateway-url or CONCLAVE_SMS_GATEWAY_URL)',
    );
  }
  return config;
}
