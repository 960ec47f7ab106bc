/**
 * Messages between the Sfu facade (parent process) and its worker processes.
 *
 * The channel uses Node's 'advanced' serialization (structured clone), so tap payloads travel as
 * Uint8Array without base64. Both sides validate what they receive with these schemas: a worker
 * may be half-dead or compromised by a bug, and the parent must not trust its shapes blindly.
 */
import { z } from 'zod';
import {
  iceCandidateSchema,
  MAX_VIEW_TILES,
  mediaStatusMessage,
  mediaViewMessage,
  videoForwardingSchema,
  viewTileSchema,
  streamInfoSchema as wireStreamInfoSchema,
} from '@conclave/protocol';

export const pcKindSchema = z.enum(['publish', 'subscribe']);
export type PcKind = z.infer<typeof pcKindSchema>;
export const mediaKindSchema = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof mediaKindSchema>;

/** The wire's stream info; inside the SFU a participant id is any short string (tests use 'a'). */
const streamInfoSchema = wireStreamInfoSchema.extend({ participantId: z.string().min(1).max(128) });

/** Everything a worker needs to build its peer connections. */
export const workerConfigSchema = z.object({
  /** Slot of this worker (0..workers-1); a replacement keeps its slot. */
  worker: z.number().int().min(0),
  workers: z.number().int().min(1),
  announcedAddress: z.string().min(1),
  portRange: z.tuple([z.number().int().min(1).max(65535), z.number().int().min(1).max(65535)]),
  loopbackOnly: z.boolean(),
  tap: z.boolean(),
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

const id = z.string().min(1).max(128);
const target = { meetingId: id, participantId: id };
const sdp = z
  .string()
  .min(10)
  .max(256 * 1024);

/** A subscriber's view (the wire's `media_view`, defaults applied by the hub's parse). */
const viewFields = {
  lastN: mediaViewMessage.shape.lastN.removeDefault(),
  pinned: z.array(id).max(MAX_VIEW_TILES),
  tiles: z.array(viewTileSchema.extend({ participantId: id })).max(MAX_VIEW_TILES * 2),
  defaultHeight: mediaViewMessage.shape.defaultHeight.removeDefault(),
};

/** The wire's `media_status` without its envelope; participant ids as the SFU spells them. */
export const mediaStatusSchema = mediaStatusMessage.omit({ v: true, type: true }).extend({
  speakers: z.array(id).max(256),
  audio: z.array(id).max(256),
  video: z.array(videoForwardingSchema.extend({ participantId: id })).max(512),
});
export type MediaStatus = z.infer<typeof mediaStatusSchema>;

export const workerStatsSchema = z.object({
  pid: z.number().int(),
  cpuUserMicros: z.number(),
  cpuSystemMicros: z.number(),
  rssBytes: z.number(),
  packetsIn: z.number(),
  packetsForwarded: z.number(),
  /** Subscribe offers made since the worker started (each one a renegotiation). */
  subscribeOffers: z.number().int(),
  /** m-lines of all subscribe connections now. */
  subscribeMLines: z.number().int(),
  meetings: z.number().int(),
  participants: z.number().int(),
});
export type WorkerStats = z.infer<typeof workerStatsSchema>;

const op = <A extends z.ZodRawShape, R extends z.ZodTypeAny>(args: A, result: R) => ({
  args: z.object(args),
  result,
});

/**
 * Every operation of a worker, the one place it is listed: the fields of its request and what
 * its successful result carries. The worker validates requests against `args` and answers each
 * op with its handler (a record typed `OpHandlers`, so the compiler refuses a missing or an
 * extra op); the parent checks every result against `result`.
 */
export const ops = {
  init: op({ config: workerConfigSchema }, z.null()),
  /** `view`: the participant's view when the hub knows it at join (as `setView`). */
  join: op({ ...target, view: z.object(viewFields).optional() }, z.null()),
  /** The participant's publish offer; the result is the SFU's answer. */
  publishOffer: op({ ...target, sdp }, sdp),
  subscribeAnswer: op({ ...target, sdp }, z.null()),
  addIce: op({ ...target, pc: pcKindSchema, candidate: iceCandidateSchema }, z.null()),
  /** Media reaches the participant only while allowed (admitted members); off after a join. */
  setReceiving: op({ ...target, allowed: z.boolean() }, z.null()),
  /** While muted, the publisher's streams of that kind are not forwarded to anybody. */
  setMuted: op({ ...target, kind: mediaKindSchema, muted: z.boolean() }, z.null()),
  /**
   * Simulcast policy hook: the layer (rid) the participant should receive of `publisherId`'s
   * video, or null for the default (the highest active layer). Switches happen at key frames.
   */
  setPreferredLayer: op({ ...target, publisherId: id, rid: z.string().max(64).nullable() }, z.null()),
  /**
   * What the participant shows (its `media_view`): the worker forwards it the video of the
   * `lastN` recent speakers and the pinned ones, each at a layer that fits its tile
   * (selection.ts, view-policy.ts). Until the first one, everything is forwarded.
   */
  setView: op({ ...target, ...viewFields }, z.null()),
  leave: op(target, z.null()),
  closeMeeting: op({ meetingId: id }, z.null()),
  stats: op({}, workerStatsSchema),
  shutdown: op({}, z.null()),
};
export type Op = keyof typeof ops;
type OpArgs = { [O in Op]: z.infer<(typeof ops)[O]['args']> };
type OpResults = { [O in Op]: z.infer<(typeof ops)[O]['result']> };
export type ArgsOf<O extends Op> = OpArgs[O];
export type ResultOf<O extends Op> = OpResults[O];
/** What a worker implements: one handler per op, no more, no less. */
export type OpHandlers = { [O in Op]: (args: OpArgs[O]) => OpResults[O] | Promise<OpResults[O]> };

/** Parent → worker: one op with its arguments, answered by exactly one `result` with the same id. */
export type WorkerRequest = { [O in Op]: { id: number; op: O; args: OpArgs[O] } }[Op];

const envelopeSchema = z.object({ id: z.number().int(), op: z.string(), args: z.unknown() });
const isOp = (name: string): name is Op => Object.hasOwn(ops, name);

/** A request as the worker receives it, checked against its op's `args` schema. */
export function parseRequest(
  raw: unknown,
): { ok: true; request: WorkerRequest } | { ok: false; id: number; error: string } {
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) {
    const id =
      typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : -1;
    return { ok: false, id, error: envelope.error.issues[0]?.message ?? 'invalid' };
  }
  const { id, op: name, args } = envelope.data;
  if (!isOp(name)) return { ok: false, id, error: `unknown op ${name}` };
  const checked = ops[name].args.safeParse(args);
  if (!checked.success) return { ok: false, id, error: checked.error.issues[0]?.message ?? 'invalid' };
  // parsed with ops[name].args, so these are that op's arguments: TypeScript does not pair a
  // name of the union with its member by itself.
  return { ok: true, request: { id, op: name, args: checked.data } as WorkerRequest };
}

export const tapRecordSchema = z.object({
  meetingId: id,
  from: id,
  to: id,
  kind: mediaKindSchema,
  payloadType: z.number().int().min(0).max(127),
  sequenceNumber: z.number().int().min(0).max(0xffff),
  timestamp: z.number().int().min(0).max(0xffffffff),
  /** The RTP payload exactly as forwarded (for VP8: payload descriptor + frame bytes). */
  payload: z.instanceof(Uint8Array),
});
export type TapRecord = z.infer<typeof tapRecordSchema>;

/** Worker → parent messages. */
export const workerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  /** ok: value holds the op's result (checked against `ops[op].result`); otherwise error says why. */
  z.object({
    type: z.literal('result'),
    id: z.number().int(),
    ok: z.boolean(),
    value: z.unknown(),
    error: z.string().optional(),
  }),
  z.object({
    type: z.literal('subscribeOffer'),
    ...target,
    sdp,
    streams: z.array(streamInfoSchema),
  }),
  z.object({ type: z.literal('ice'), ...target, pc: pcKindSchema, candidate: iceCandidateSchema }),
  z.object({ type: z.literal('tap'), record: tapRecordSchema }),
  /** What the SFU forwards to the participant and why: the hub sends it as `media_status`. */
  z.object({ type: z.literal('mediaStatus'), ...target, status: mediaStatusSchema }),
  /**
   * One of the participant's peer connections failed for good (ICE or DTLS gave up, or the
   * participant closed it): its media session is dead until it is made anew. Sent once per
   * session; the hub makes it anew (room-media.ts, `connectionFailed`).
   */
  z.object({ type: z.literal('connectionFailed'), ...target, pc: pcKindSchema, state: z.string().max(64) }),
  z.object({
    type: z.literal('log'),
    level: z.enum(['info', 'warn', 'error']),
    obj: z.record(z.unknown()),
    msg: z.string().optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
