import { parseArgs } from 'node:util';
import { Bot, type BotReport, type FrameTransport } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import { createMeetingResponse, errorResponse } from '@conclave/protocol';

const USAGE = `usage: conclave bot --server URL --meeting ID|new [--count N] [--seconds S] [--json]
                   [--passcode P] [--host-secret S] [--standard]

  N bot participants join the meeting, publish synthetic audio and video for S seconds
  (E2EE meetings: through SFrame with keys from MLS) and report, per bot: frames sent,
  frames decrypted per other bot, decrypt failures, MLS epochs seen and the security code.
  --meeting new creates a meeting (E2EE unless --standard); the first bot is its host.
  With --json the last line of output is one JSON object.`;

export interface BotRunResult {
  meetingId: string;
  bots: BotReport[];
}

async function createMeeting(
  server: string,
  mode: 'e2ee' | 'standard',
): Promise<{ id: string; hostSecret: string }> {
  const res = await fetch(new URL('/api/meetings', server), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ v: 1, mode, title: 'bots' }),
  });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const err = errorResponse.safeParse(body);
    throw new Error(
      `cannot create a meeting: ${err.success ? err.data.error.message : `HTTP ${res.status}`}`,
    );
  }
  const parsed = createMeetingResponse.parse(body);
  return { id: parsed.meeting.id, hostSecret: parsed.hostSecret };
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
  log?: (line: string) => void;
}): Promise<BotRunResult> {
  const log = opts.log ?? (() => undefined);
  let meetingId = opts.meeting;
  let hostSecret = opts.hostSecret;
  if (meetingId === 'new') {
    const m = await createMeeting(opts.server, opts.mode ?? 'e2ee');
    meetingId = m.id;
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
        transport: (): FrameTransport => new NodeMediaPeer({ loopbackOnly }),
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
  const result = await runBots({
    server: values.server,
    meeting: values.meeting,
    count,
    seconds,
    passcode: values.passcode,
    hostSecret: values['host-secret'],
    mode: values.standard ? 'standard' : 'e2ee',
    log: (l) => console.log(l),
  });
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
