/**
 * A bot process of `conclave load` (forked by the coordinator, bot-pool.ts): runs the SDK's
 * `Bot`s it is told to start, times their joins and the rekeys after others' leaves, and
 * answers the coordinator's requests (ipc.ts). It exits when the coordinator says `stop` or
 * when its IPC channel closes (the coordinator died): it never outlives the coordinator.
 */
import { Bot, type FrameTransport } from '@conclave/client/node';
import { NativeMediaPeer, type BotMediaPeer } from '@conclave/client/media';
import {
  botConfigSchema,
  loadOps,
  loadRequestSchema,
  type BotConfig,
  type BotMessage,
  type Coverage,
  type JoinResult,
  type JoinTimes,
  type LoadParsedArgs,
  type LoadOp,
  type LoadResult,
} from './ipc.js';
import { wallClockMs } from './stats.js';

/** How often pending joins and rekeys are checked (ms). */
const POLL_MS = 5;

/** Audio levels a bot sends (dBov): a speaker's, and silence. */
const SPEAKING_DBOV = -20;
const SILENT_DBOV = -127;

interface Running {
  bot: Bot;
  /** Its current media peer (a new one after a media reset) and whether it speaks. */
  peer: BotMediaPeer | undefined;
  speaking: boolean;
  /** Frames its peer received (before decryption). */
  framesIn: number;
  /** When a frame of each sender (by name) was last seen decrypted, and the count then. */
  lastDecrypt: Map<string, { count: number; at: number }>;
}

interface Watch {
  leaver: string;
  /** Per watched bot: the epoch when the watch began, and when it got past the leaver (wallClockMs). */
  bots: Map<string, { epoch: bigint | undefined; at: number | null; gone: boolean }>;
}

function send(msg: BotMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

class BotProcess {
  private config: BotConfig | undefined;
  private readonly bots = new Map<string, Running>();
  private readonly watches = new Map<number, Watch>();
  private readonly warnings = new Map<string, number>();
  /** Counters of bots that have left (a leaving bot's figures are not lost). */
  private readonly departed = { framesSent: 0, decryptFailures: 0, framesWithoutKey: 0 };
  private readonly sampler = setInterval(() => this.sample(), 250);

  readonly handlers: { [O in LoadOp]: (args: LoadParsedArgs<O>) => Promise<LoadResult<O>> } = {
    init: async ({ config }) => {
      this.config = botConfigSchema.parse(config);
      return null;
    },
    join: (args) => this.join(args.bot, args.hostSecret, args.speaking),
    speak: async ({ bot, speaking }) => {
      const r = this.require(bot);
      r.speaking = speaking;
      r.peer?.setAudioLevel(speaking ? SPEAKING_DBOV : SILENT_DBOV);
      return null;
    },
    leave: async ({ bot }) => {
      const r = this.require(bot);
      this.bots.delete(bot);
      this.keep(r.bot);
      const at = wallClockMs();
      await r.bot.stop();
      return { at };
    },
    watch: async ({ watch, leaver }) => {
      const w: Watch = { leaver, bots: new Map() };
      for (const [name, r] of this.bots) {
        if (name === leaver || !r.bot.client.e2ee.active) continue;
        if (!r.bot.client.roster().some((m) => m.identity.displayName === leaver)) continue;
        w.bots.set(name, { epoch: r.bot.client.e2ee.epoch, at: null, gone: false });
      }
      this.watches.set(watch, w);
      return { bots: w.bots.size };
    },
    watchResult: async ({ watch, timeoutMs }) => {
      const w = this.watches.get(watch);
      if (!w) throw new Error(`no watch ${watch}`);
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline && !this.checkWatch(w)) await sleep(POLL_MS);
      this.watches.delete(watch);
      return [...w.bots].filter(([, s]) => !s.gone).map(([bot, s]) => ({ bot, at: s.at }));
    },
    coverage: async ({ windowMs }) => {
      this.sample();
      const now = wallClockMs();
      const out: Coverage[] = [];
      for (const [name, r] of this.bots) {
        const shown = this.shownSenders(r.bot, this.senders(r.bot, name));
        const missing = [...shown].filter((s) => {
          const seen = r.lastDecrypt.get(s);
          return !seen || now - seen.at > windowMs;
        });
        out.push({ bot: name, expected: shown.size, missing, status: r.bot.mediaStatus() !== undefined });
      }
      return out;
    },
    stats: async () => {
      const cpu = process.cpuUsage();
      let framesSent = this.departed.framesSent;
      let decryptFailures = this.departed.decryptFailures;
      let framesWithoutKey = this.departed.framesWithoutKey;
      for (const { bot } of this.bots.values()) {
        framesSent += bot.framesSent;
        decryptFailures += bot.decryptFailures;
        framesWithoutKey += bot.framesWithoutKey;
      }
      return {
        pid: process.pid,
        at: wallClockMs(),
        cpuMicros: cpu.user + cpu.system,
        rssBytes: process.memoryUsage.rss(),
        bots: this.bots.size,
        framesSent,
        decryptFailures,
        framesWithoutKey,
        warnings: [...this.warnings].sort((a, b) => b[1] - a[1]).slice(0, 10),
      };
    },
    stop: async () => {
      await this.stopAll();
      return null;
    },
  };

  async stopAll(): Promise<void> {
    clearInterval(this.sampler);
    const all = [...this.bots.values()];
    this.bots.clear();
    await Promise.all(all.map((r) => r.bot.stop().catch(() => undefined)));
  }

  private require(name: string): Running {
    const r = this.bots.get(name);
    if (!r) throw new Error(`no bot ${name} in this process`);
    return r;
  }

  private note(text: string): void {
    const key = text.replace(/\d+/g, '#').slice(0, 200);
    if (!this.warnings.has(key) && this.warnings.size >= 200) return;
    this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1);
  }

  private keep(bot: Bot): void {
    this.departed.framesSent += bot.framesSent;
    this.departed.decryptFailures += bot.decryptFailures;
    this.departed.framesWithoutKey += bot.framesWithoutKey;
  }

  private async join(name: string, hostSecret: string | undefined, speaking: boolean): Promise<JoinResult> {
    const c = this.config;
    if (!c) throw new Error('init first');
    if (this.bots.has(name)) throw new Error(`bot ${name} runs already`);
    const phases: JoinTimes = { joined: null, e2ee: null, connected: null, firstFrame: null, media: null };
    const t0 = performance.now();
    const since = () => performance.now() - t0;
    const bot = new Bot({
      serverUrl: c.serverUrl,
      meetingId: c.meetingId,
      name,
      hostSecret,
      passcode: c.passcode,
      audioFps: c.audioFps,
      videoFps: c.videoFps,
      transport: c.media
        ? (): FrameTransport => {
            const peer = new NativeMediaPeer({ loopbackOnly: c.loopbackOnly });
            // Every bot's audio carries a level, so the SFU can rank speakers (silent unless told).
            peer.setAudioLevel(r.speaking ? SPEAKING_DBOV : SILENT_DBOV);
            peer.onFrame(() => {
              r.framesIn++;
              if (phases.firstFrame === null) phases.firstFrame = since();
            });
            r.peer = peer;
            return peer;
          }
        : undefined,
      // A bot that loses its connection is gone (the run reports it), not silently rejoined.
      clientOptions: { reconnect: false },
    });
    bot.client.on('warning', (w) => this.note(w));
    bot.client.on('error', (code, message, ref) =>
      this.note(`server error ${code}${ref ? ` to ${ref}` : ''}: ${message}`),
    );
    if (c.media) bot.setView({ lastN: c.lastN });
    const r: Running = { bot, peer: undefined, speaking, framesIn: 0, lastDecrypt: new Map() };
    this.bots.set(name, r);
    const result = (ok: boolean, expected: number, decrypted: number, error?: string): JoinResult => ({
      bot: name,
      ok,
      ms: ok ? since() : null,
      phases,
      expected,
      decrypted,
      present: this.bots.get(name) === r,
      ...(error === undefined ? {} : { error }),
    });
    bot.client.on('state', (s) => {
      if (s === 'joined' && phases.joined === null) phases.joined = since();
    });
    /** A bot that is not in the meeting (refused, waiting, taken out) is stopped and forgotten. */
    const drop = async (expected: number, decrypted: number, error: string): Promise<JoinResult> => {
      if (this.bots.get(name) === r) {
        this.bots.delete(name);
        this.keep(bot);
        await bot.stop().catch(() => undefined);
      }
      return result(false, expected, decrypted, error);
    };
    try {
      const state = await bot.start();
      if (state !== 'joined') return drop(0, 0, 'the server put the bot in the waiting room');
    } catch (e) {
      return drop(0, 0, `join refused: ${(e as Error).message}`);
    }
    // Who was there when it got in: each of them must reach it (those who leave meanwhile drop out).
    let initial: Set<string> | undefined;
    let expected = 0;
    let decrypted = 0;
    const deadline = t0 + c.joinTimeoutMs;
    while (performance.now() < deadline) {
      if (this.bots.get(name) !== r)
        return result(false, expected, decrypted, 'it left before its join completed');
      const client = bot.client;
      if (client.state !== 'joined') return drop(expected, decrypted, `state ${client.state}`);
      if (phases.connected === null && r.peer?.connectionState('subscribe') === 'connected')
        phases.connected = since();
      const e2ee = client.e2ee;
      if (!e2ee.enabled || e2ee.active) {
        if (e2ee.enabled && phases.e2ee === null) phases.e2ee = since();
        if (!c.media) return result(true, 0, 0);
        initial ??= this.senders(bot, name);
        const now = this.senders(bot, name);
        const want = [...this.shownSenders(bot, now)].filter((s) => initial!.has(s));
        expected = want.length;
        decrypted = want.filter((s) => (bot.decrypted.get(s) ?? 0) > 0).length;
        if (decrypted === expected) {
          phases.media = since();
          return result(true, expected, decrypted);
        }
      }
      await sleep(POLL_MS);
    }
    const e = bot.client.e2ee;
    return result(
      false,
      expected,
      decrypted,
      `not complete after ${c.joinTimeoutMs} ms: state ${bot.client.state}, E2EE ${e.enabled ? (e.active ? 'active' : `not active (health ${e.health})`) : 'off'},` +
        ` roster ${bot.client.roster().length}, decrypted ${decrypted} of ${expected} shown senders,` +
        ` frames without key ${bot.framesWithoutKey}, decrypt failures ${bot.decryptFailures}` +
        (r.peer
          ? `; media: publish ${r.peer.connectionState('publish')}, subscribe ${r.peer.connectionState('subscribe')},` +
            ` ${r.peer.currentStreams().length} streams offered, ${r.framesIn} frames received`
          : ''),
    );
  }

  /** Names of the others in the meeting: the MLS roster (E2EE) or the server's participants. */
  private senders(bot: Bot, self: string): Set<string> {
    const names = bot.client.e2ee.enabled
      ? bot.client.roster().map((m) => m.identity.displayName)
      : bot.client
          .participants()
          .filter((p) => p.state === 'joined')
          .map((p) => p.displayName);
    const out = new Set(names);
    out.delete(self);
    return out;
  }

  /**
   * Of `senders`, those the SFU says it forwards to this bot (its `media_status`: audio of the
   * top speakers, video of the last-N and pinned); all of them until it has said.
   */
  private shownSenders(bot: Bot, senders: Set<string>): Set<string> {
    const status = bot.mediaStatus();
    if (!status) return senders;
    const ids = new Set(status.audio);
    for (const v of status.video) if (v.forwarded && v.source === 'camera') ids.add(v.participantId);
    const shown = new Set<string>();
    for (const p of bot.client.participants())
      if (ids.has(p.id) && senders.has(p.displayName)) shown.add(p.displayName);
    return shown;
  }

  /** True when every watched bot has got past the leaver (or left). */
  private checkWatch(w: Watch): boolean {
    let done = true;
    for (const [name, s] of w.bots) {
      if (s.at !== null || s.gone) continue;
      const r = this.bots.get(name);
      if (!r) {
        s.gone = true;
        continue;
      }
      const e2ee = r.bot.client.e2ee;
      if (
        e2ee.active &&
        e2ee.epoch !== s.epoch &&
        !r.bot.client.roster().some((m) => m.identity.displayName === w.leaver)
      ) {
        s.at = wallClockMs();
        continue;
      }
      if (e2ee.active) s.epoch = e2ee.epoch; // this epoch still has the leaver: look again at the next
      done = false;
    }
    return done;
  }

  /** Notes which senders each bot decrypted since the last sample. */
  private sample(): void {
    const now = wallClockMs();
    for (const r of this.bots.values()) {
      for (const [sender, count] of r.bot.decrypted) {
        const seen = r.lastDecrypt.get(sender);
        if (!seen || seen.count !== count) r.lastDecrypt.set(sender, { count, at: now });
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const me = new BotProcess();
let stopping = false;

async function exit(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(code), 5_000);
  await me.stopAll().catch(() => undefined);
  clearTimeout(timer);
  process.exit(code);
}

// Ctrl-C reaches the whole process group: the coordinator stops us (or its exit closes the channel).
process.on('SIGINT', () => undefined);
// One bot's stray rejection must not end the other bots of this process: it is reported.
process.on('unhandledRejection', (e) => {
  void send({
    type: 'warning',
    text: `unhandled rejection: ${String((e as Error)?.message ?? e).slice(0, 500)}`,
  });
});
process.on('disconnect', () => void exit(0));
process.on('message', (raw: unknown) => {
  const parsed = loadRequestSchema.safeParse(raw);
  if (!parsed.success) {
    void send({
      type: 'warning',
      text: `ignored a malformed request: ${parsed.error.message.slice(0, 500)}`,
    });
    return;
  }
  const { id, op, args } = parsed.data;
  void (async () => {
    try {
      const checked = loadOps[op].args.parse(args);
      const handler = me.handlers[op] as (a: unknown) => Promise<unknown>;
      const result = await handler(checked);
      await send({ type: 'answer', id, ok: true, result });
      if (op === 'stop') void exit(0);
    } catch (e) {
      await send({ type: 'answer', id, ok: false, error: String((e as Error).message ?? e).slice(0, 4000) });
    }
  })();
});
void send({ type: 'ready', pid: process.pid });
