import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

export const LOAD_USAGE = `usage: conclave load (--embedded | --server URL) [--members N] [--processes N]
                    [--media | --no-media] [--churn R] [--seconds S] [--join-rate R]
                    [--last-n N] [--speakers K] [--audio-fps F] [--video-fps F] [--attestation]
                    [--meeting ID|new] [--email E] [--passcode P] [--host-secret S]
                    [--standard] [--json]

  Bot participants, spread over child processes, join one meeting until it has N members
  (--join-rate R joins per second, default 5), stay S seconds (default 10) with R leaves and
  as many joins per minute (--churn, default 0; spread evenly: per 60/R s a leave, then half
  of that later a join, never the host), and the tool reports:
    join latency p50/p95/max: from a bot's join request until its E2EE is active and it has
      decrypted a first frame from every sender the SFU forwards to it (media_status: video
      of the last-N speakers and pinned, audio of the top speakers; every sender until the
      SFU says); --no-media: until E2EE is active;
    rekey on leave: from a leave until every remaining member is in an epoch without it;
    decrypt failures and frames without a key, summed over all bots; whether every member
      decrypted, in the last 3 s, every sender shown to it;
    server CPU (% of one core) and RSS: --embedded, the server process (this one) and its
      SFU workers; --server, not measured (its /healthz does not show them);
    CPU and RSS of each bot process.

  --embedded          start a server in this process (SQLite in a temporary folder)
  --server URL        a running server (its limits on sockets and joins per address apply)
  --meeting ID|new    the meeting (default new: created by the tool; with --server it needs
                      --email E and the password in CONCLAVE_PASSWORD, with E2EE hosting)
  --members N         target meeting size (default 10, 1-1000)
  --processes N       bot processes (default one per core)
  --no-media          signaling and MLS only (no peer connections)
  --last-n N          each bot shows the last N speakers (media_view, default 9)
  --speakers K        the K longest-present bots speak (audio level -20 dBov), the others
                      are silent (-127 dBov): the SFU forwards audio of the top 3 and video of
                      the last-N from it (default 3)
  --join-timeout S    a join not complete after S seconds counts as failed (default 60)
  --audio-fps F       audio frames per second per bot (default 10)
  --video-fps F       video frames per second per bot (default 5)
  --attestation       a new meeting signs frames (attestation); off by default: every member
                      verifies 2 signed messages a second from every other member, work that
                      grows with N² when the bots share a few cores
  --standard          a new meeting is a standard (non-E2EE) one
  --json              the last line of output is one JSON object with every figure

  CONCLAVE_LOAD_CPU_PROF=DIR makes every bot process write a V8 CPU profile into DIR.`;

export interface LoadOptions {
  target: { kind: 'embedded' } | { kind: 'server'; url: string };
  /** 'new', or the id of an existing meeting. */
  meeting: string;
  members: number;
  processes: number;
  media: boolean;
  /** Leaves (and as many joins) per minute once the meeting has `members`. */
  churnPerMinute: number;
  /** Steady state after the target size is reached. */
  seconds: number;
  /** Joins started per second while the meeting grows. */
  joinRate: number;
  lastN: number;
  /** A join not complete after this long (ms) has failed. */
  joinTimeoutMs: number;
  /** How many bots speak at a time (the longest present). */
  speakers: number;
  audioFps: number;
  videoFps: number;
  attestation: boolean;
  mode: 'e2ee' | 'standard';
  email: string | undefined;
  password: string | undefined;
  passcode: string | undefined;
  hostSecret: string | undefined;
  json: boolean;
}

export type ParsedLoadArgs =
  { kind: 'run'; options: LoadOptions } | { kind: 'help' } | { kind: 'error'; message: string };

/** A number flag: in [min, max], an integer when `integer`. */
function numberFlag(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (raw === undefined) return fallback;
  const n = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max)
    throw new Error(
      `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not "${raw}"`,
    );
  return n;
}

/**
 * Reads `conclave load`'s flags (and CONCLAVE_PASSWORD from `env`). Every value is checked; the
 * first wrong one is named in the error.
 */
export function parseLoadArgs(argv: string[], env: Record<string, string | undefined>): ParsedLoadArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        embedded: { type: 'boolean', default: false },
        server: { type: 'string' },
        meeting: { type: 'string', default: 'new' },
        members: { type: 'string' },
        processes: { type: 'string' },
        media: { type: 'boolean', default: true },
        churn: { type: 'string' },
        seconds: { type: 'string' },
        'join-rate': { type: 'string' },
        'last-n': { type: 'string' },
        speakers: { type: 'string' },
        'join-timeout': { type: 'string' },
        'audio-fps': { type: 'string' },
        'video-fps': { type: 'string' },
        attestation: { type: 'boolean', default: false },
        standard: { type: 'boolean', default: false },
        email: { type: 'string' },
        passcode: { type: 'string' },
        'host-secret': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
  if (values.help) return { kind: 'help' };
  try {
    if (values.embedded === (values.server !== undefined))
      throw new Error('give either --embedded or --server URL');
    let target: LoadOptions['target'] = { kind: 'embedded' };
    if (values.server !== undefined) {
      let url: URL;
      try {
        url = new URL(values.server);
      } catch {
        throw new Error(`--server must be the server's http(s) URL, not "${values.server}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new Error(`--server must be the server's http(s) URL, not "${values.server}"`);
      target = { kind: 'server', url: url.origin };
    }
    const meeting = values.meeting;
    if (meeting !== 'new' && !/^[A-Za-z0-9_-]{1,64}$/.test(meeting))
      throw new Error(`--meeting must be "new" or a meeting id, not "${meeting}"`);
    if (target.kind === 'embedded' && meeting !== 'new')
      throw new Error('--embedded starts an empty server: its meeting is always new (drop --meeting)');
    const password = env.CONCLAVE_PASSWORD;
    if (values.email !== undefined && !password)
      throw new Error('--email needs the password in the environment variable CONCLAVE_PASSWORD');
    if (target.kind === 'server' && meeting === 'new' && values.email === undefined)
      throw new Error(
        '--meeting new on a running server needs an account that may host: --email E with CONCLAVE_PASSWORD',
      );
    if (meeting !== 'new' && (values.standard || values.attestation))
      throw new Error(
        '--standard and --attestation choose how a new meeting is created: the meeting given has its own',
      );
    if (values.standard && values.attestation)
      throw new Error('--attestation is for E2EE meetings: a --standard meeting has no frame attestation');
    const members = numberFlag('members', values.members, 10, 1, 1000, true);
    const options: LoadOptions = {
      target,
      meeting,
      members,
      processes: numberFlag('processes', values.processes, availableParallelism(), 1, 64, true),
      media: values.media,
      churnPerMinute: numberFlag('churn', values.churn, 0, 0, 600, false),
      seconds: numberFlag('seconds', values.seconds, 10, 0, 86_400, false),
      joinRate: numberFlag('join-rate', values['join-rate'], 5, 0.1, 100, false),
      lastN: numberFlag('last-n', values['last-n'], 9, 0, 49, true),
      speakers: numberFlag('speakers', values.speakers, 3, 0, 1000, true),
      joinTimeoutMs: 1000 * numberFlag('join-timeout', values['join-timeout'], 60, 1, 600, false),
      audioFps: numberFlag('audio-fps', values['audio-fps'], 10, 1, 50, false),
      videoFps: numberFlag('video-fps', values['video-fps'], 5, 1, 30, false),
      attestation: values.attestation,
      mode: values.standard ? 'standard' : 'e2ee',
      email: values.email,
      password: values.email !== undefined ? password : undefined,
      passcode: values.passcode,
      hostSecret: values['host-secret'],
      json: values.json,
    };
    if (options.churnPerMinute > 0 && members < 2)
      throw new Error('--churn needs --members 2 or more (the host stays; somebody else leaves)');
    return { kind: 'run', options };
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
}
