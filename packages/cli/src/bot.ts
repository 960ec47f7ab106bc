import { parseArgs } from 'node:util';
import { AccountApi } from '@conclave/client';
import { accountClientOptions, Bot, type BotReport, type FrameTransport } from '@conclave/client/node';
import { NativeMediaPeer, stopNativeMedia } from '@conclave/client/media';

const USAGE = `usage: conclave bot --server URL --meeting ID|new [--count N] [--seconds S] [--json]
                   [--passcode P] [--host-secret S] [--standard] [--email E]

  N bot participants join the meeting, publish synthetic audio and video for S seconds
  (E2EE meetings: through SFrame with keys from MLS) and report, per bot: frames sent,
  frames decrypted per other bot, decrypt failures, MLS epochs seen and the security code.
  --meeting new creates a meeting (E2EE unless --standard); the first bot is its host.
  Creating a meeting needs an account: --email E with its password in the environment
  variable CONCLAVE_PASSWORD (E2EE hosting needs a paid plan or the phone check:
  \`conclave admin plan E paid\`). With an account the first bot joins as that account,
  with its device key in the key directory; the others join as guests.
  With --json the last line of output is one JSON object.`;

export interface BotRunResult {
  meetingId: string;
  bots: BotReport[];
}

/** Signs a bot's account in; bots cannot answer a TOTP step-up. */
export async function signIn(server: string, email: string, password: string): Promise<AccountApi> {
  const api = new AccountApi({ serverUrl: server });
  const result = await api.signIn(email, password);
  if (result.status === 'totp_required') {
    throw new Error(
      `${email}: the sign-in asks for an authenticator code, which bots cannot give; use an account without TOTP for bots`,
    );
  }
  return api;
}

/** Runs the bots and returns their reports; used by the CLI, tests and benchmarks. */
export async function runBots(opts: {
  server: string;
  meeting: string;
  count: number;
  seconds: number;
  passcode?: string;
  hostSecret?: string;
  mode?: 'e2ee' | 'standard';
  /** The account that creates the meeting (`meeting: 'new'`) and that the first bot joins as. */
  account?: { email: string; password: string };
  log?: (line: string) => void;
}): Promise<BotRunResult> {
  const log = opts.log ?? (() => undefined);
  const api = opts.account ? await signIn(opts.server, opts.account.email, opts.account.password) : undefined;
  let meetingId = opts.meeting;
  let hostSecret = opts.hostSecret;
  if (meetingId === 'new') {
    if (!api) {
      throw new Error('creating a meeting needs an account: pass --email and set CONCLAVE_PASSWORD');
    }
    const m = await api.createMeeting({ mode: opts.mode ?? 'e2ee', title: 'bots' }).catch((e: unknown) => {
      throw new Error(`cannot create a meeting: ${(e as Error).message}`);
    });
    meetingId = m.meeting.id;
    hostSecret = m.hostSecret;
    log(`created meeting ${meetingId}`);
  }
  const loopbackOnly = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(opts.server).hostname);
  const bots: Bot[] = [];
  try {
    for (let i = 0; i < opts.count; i++) {
      const bot = new Bot({
        serverUrl: opts.server,
        meetingId,
        name: `bot-${i + 1}`,
        hostSecret: i === 0 ? hostSecret : undefined,
        passcode: opts.passcode,
        transport: (): FrameTransport => new NativeMediaPeer({ loopbackOnly }),
        clientOptions: i === 0 && api ? await accountClientOptions(api, `bot-${i + 1}`) : undefined,
      });
      bots.push(bot);
      const state = await bot.start();
      log(`${bot.id} ${state}`);
    }
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    // Reports are taken while the bots are still in the meeting (leaving drops the keys and code).
    return { meetingId, bots: bots.map((b) => b.report()) };
  } finally {
    await Promise.all(bots.map((b) => b.stop().catch(() => undefined)));
    stopNativeMedia();
  }
}

export async function botCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        meeting: { type: 'string', default: 'new' },
        count: { type: 'string', default: '3' },
        seconds: { type: 'string', default: '10' },
        passcode: { type: 'string' },
        'host-secret': { type: 'string' },
        standard: { type: 'boolean', default: false },
        email: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = Number(values.count);
  const seconds = Number(values.seconds);
  if (!values.server || !/^https?:\/\//.test(values.server)) {
    console.error(`--server must be the server's http(s) URL\n\n${USAGE}`);
    return 2;
  }
  if (!Number.isInteger(count) || count < 1 || count > 200) {
    console.error('--count must be an integer from 1 to 200');
    return 2;
  }
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    console.error('--seconds must be a number of seconds from 0 to 3600');
    return 2;
  }
  const password = process.env.CONCLAVE_PASSWORD;
  if (values.email && !password) {
    console.error('--email needs the password in the environment variable CONCLAVE_PASSWORD');
    return 2;
  }
  if (values.meeting === 'new' && !values.email) {
    console.error(
      `--meeting new needs an account that may host: --email E with CONCLAVE_PASSWORD\n\n${USAGE}`,
    );
    return 2;
  }
  const account = values.email && password ? { email: values.email, password } : undefined;
  let result: BotRunResult;
  try {
    result = await runBots({
      server: values.server,
      meeting: values.meeting,
      count,
      seconds,
      passcode: values.passcode,
      hostSecret: values['host-secret'],
      mode: values.standard ? 'standard' : 'e2ee',
      account,
      log: (l) => console.log(l),
    });
  } catch (e) {
    // Refusals (wrong password, no E2EE entitlement, …) are the user's to fix: no stack trace.
    console.error(`conclave bot: ${(e as Error).message}`);
    return 1;
  }
  console.log(`meeting ${result.meetingId}`);
  for (const b of result.bots) {
    const got = Object.entries(b.decryptedFrames)
      .map(([k, n]) => `${k}:${n}`)
      .join(' ');
    console.log(
      `${b.id}: sent ${b.framesSent}, decrypted {${got}}, failures ${b.decryptFailures}, epochs ${b.epochs}, code ${b.securityCode || '-'}`,
    );
  }
  if (values.json) console.log(JSON.stringify(result));
  return 0;
}
