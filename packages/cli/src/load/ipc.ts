/**
 * Messages between `conclave load`'s coordinator and its bot processes (child_process IPC).
 * Not network wire types: both ends are this tool. Each side still checks what it receives with
 * these schemas, so a crashed or confused process is an error, never a wrong figure.
 *
 * The coordinator sends requests `{ id, op, args }`; the bot process answers each with exactly
 * one `{ id, ok: true, result }` or `{ id, ok: false, error }`. Apart from answers it sends
 * `ready` once and `warning` lines.
 */
import { z } from 'zod';

const name = z.string().min(1).max(64);

/** What every bot of a process needs: where to join and how to behave. */
export const botConfigSchema = z.object({
  serverUrl: z.string().url(),
  meetingId: z.string().min(1).max(64),
  passcode: z.string().max(64).optional(),
  media: z.boolean(),
  loopbackOnly: z.boolean(),
  lastN: z.number().int().min(0).max(49),
  audioFps: z.number().positive().max(50),
  videoFps: z.number().positive().max(30),
  /** A join not complete after this long is reported as failed. */
  joinTimeoutMs: z.number().int().positive(),
});
export type BotConfig = z.infer<typeof botConfigSchema>;

/** The phases of one join, ms after its join request (null: not reached). */
const joinTimesSchema = z.object({
  /** The server said `joined`. */
  joined: z.number().nullable(),
  /** E2EE active: the bot is in the MLS group and its key sink holds the epoch (E2EE only). */
  e2ee: z.number().nullable(),
  /** Media only: its subscribe connection came up, and its first frame (any sender) arrived. */
  connected: z.number().nullable(),
  firstFrame: z.number().nullable(),
  /** A first decrypted frame from every shown sender (media only). */
  media: z.number().nullable(),
});
export type JoinTimes = z.infer<typeof joinTimesSchema>;

export const joinResultSchema = z.object({
  bot: name,
  ok: z.boolean(),
  /** Join request → done (E2EE active and every shown sender decrypted). */
  ms: z.number().nullable(),
  phases: joinTimesSchema,
  /** Shown senders it waited for, and how many of them it had decrypted when it ended. */
  expected: z.number().int(),
  decrypted: z.number().int(),
  /** The bot still runs (a join that timed out stays in the meeting; a refused one is gone). */
  present: z.boolean(),
  error: z.string().max(2000).optional(),
});
export type JoinResult = z.infer<typeof joinResultSchema>;

export const coverageSchema = z.object({
  bot: name,
  /** Senders shown to it (MLS roster ∩ what the SFU says it forwards). */
  expected: z.number().int(),
  /** Those it decrypted nothing from in the window. */
  missing: z.array(name).max(1000),
  /** The SFU had sent its media_status (else every sender counts as shown). */
  status: z.boolean(),
});
export type Coverage = z.infer<typeof coverageSchema>;

export const processStatsSchema = z.object({
  pid: z.number().int(),
  at: z.number(),
  cpuMicros: z.number(),
  rssBytes: z.number(),
  bots: z.number().int(),
  framesSent: z.number().int(),
  decryptFailures: z.number().int(),
  framesWithoutKey: z.number().int(),
  /** The most frequent warnings of this process's bots (numbers replaced by #), with counts. */
  warnings: z.array(z.tuple([z.string().max(200), z.number().int()])).max(10),
});
export type ProcessStats = z.infer<typeof processStatsSchema>;

const op = <A extends z.ZodRawShape, R extends z.ZodTypeAny>(args: A, result: R) => ({
  args: z.object(args),
  result,
});

/** Every request a bot process answers, with its arguments and result. */
export const loadOps = {
  init: op({ config: botConfigSchema }, z.null()),
  /** Starts a bot and answers once its join is complete, failed or timed out. */
  join: op(
    { bot: name, hostSecret: z.string().max(256).optional(), speaking: z.boolean().default(false) },
    joinResultSchema,
  ),
  /**
   * The bot speaks (its audio carries a voice level of -20 dBov in the RFC 6464 extension) or
   * is silent (-127 dBov, no voice): the SFU ranks speakers by it.
   */
  speak: op({ bot: name, speaking: z.boolean() }, z.null()),
  /** Stops a bot; `at` is when its leave was sent (wallClockMs). */
  leave: op({ bot: name }, z.object({ at: z.number() })),
  /** Notes which bots of this process have `leaver` in their group now; answers at once. */
  watch: op({ watch: z.number().int(), leaver: name }, z.object({ bots: z.number().int() })),
  /**
   * Answers when each watched bot is in an epoch without the leaver and has its keys (E2EE
   * active), or left, or `timeoutMs` passed: when each got there (wallClockMs), null if not.
   */
  watchResult: op(
    { watch: z.number().int(), timeoutMs: z.number().int().positive() },
    z.array(z.object({ bot: name, at: z.number().nullable() })).max(1000),
  ),
  /** Per bot: the senders shown to it that it decrypted nothing from in the last `windowMs`. */
  coverage: op({ windowMs: z.number().int().positive() }, z.array(coverageSchema).max(1000)),
  stats: op({}, processStatsSchema),
  /** Every bot leaves; the process exits after answering. */
  stop: op({}, z.null()),
};
export type LoadOp = keyof typeof loadOps;
/** What a caller passes (defaults may be left out)… */
export type LoadArgs<O extends LoadOp> = z.input<(typeof loadOps)[O]['args']>;
/** …and what the handler gets (checked, defaults filled in). */
export type LoadParsedArgs<O extends LoadOp> = z.output<(typeof loadOps)[O]['args']>;
export type LoadResult<O extends LoadOp> = z.infer<(typeof loadOps)[O]['result']>;

const opNames = Object.keys(loadOps) as [LoadOp, ...LoadOp[]];

/** Coordinator → bot process (the args are checked against the op's schema on arrival). */
export const loadRequestSchema = z.object({
  id: z.number().int(),
  op: z.enum(opNames),
  args: z.unknown(),
});

/** Bot process → coordinator (a result is checked against its op's schema by the coordinator). */
export const botMessageSchema = z.union([
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  z.object({ type: z.literal('warning'), text: z.string().max(2000) }),
  z.object({ type: z.literal('answer'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    type: z.literal('answer'),
    id: z.number().int(),
    ok: z.literal(false),
    error: z.string().max(4000),
  }),
]);
export type BotMessage = z.infer<typeof botMessageSchema>;
