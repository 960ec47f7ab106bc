/**
 * Messages between the Sfu facade (parent process) and its worker processes.
 *
 * The channel uses Node's 'advanced' serialization (structured clone), so tap payloads travel as
 * Uint8Array without base64. Both sides validate what they receive with these schemas: a worker
 * may be half-dead or compromised by a bug, and the parent must not trust its shapes blindly.
 */
import { z } from 'zod';
import { iceCandidateSchema, streamInfoSchema as wireStreamInfoSchema } from '@conclave/protocol';

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

/** Parent → worker requests; each is answered by exactly one `result` with the same id. */
export const requestSchema = z.discriminatedUnion('op', [
  z.object({ id: z.number().int(), op: z.literal('init'), config: workerConfigSchema }),
  z.object({ id: z.number().int(), op: z.literal('join'), ...target }),
  z.object({ id: z.number().int(), op: z.literal('publishOffer'), ...target, sdp }),
  z.object({ id: z.number().int(), op: z.literal('subscribeAnswer'), ...target, sdp }),
  z.object({
    id: z.number().int(),
    op: z.literal('addIce'),
    ...target,
    pc: pcKindSchema,
    candidate: iceCandidateSchema,
  }),
  z.object({ id: z.number().int(), op: z.literal('setReceiving'), ...target, allowed: z.boolean() }),
  z.object({
    id: z.number().int(),
    op: z.literal('setMuted'),
    ...target,
    kind: mediaKindSchema,
    muted: z.boolean(),
  }),
  z.object({
    id: z.number().int(),
    op: z.literal('setPreferredLayer'),
    ...target,
    publisherId: id,
    /** A simulcast rid, or null for the default policy (the highest active layer). */
    rid: z.string().max(64).nullable(),
  }),
  z.object({ id: z.number().int(), op: z.literal('leave'), ...target }),
  z.object({ id: z.number().int(), op: z.literal('closeMeeting'), meetingId: id }),
  z.object({ id: z.number().int(), op: z.literal('stats') }),
  z.object({ id: z.number().int(), op: z.literal('shutdown') }),
]);
export type WorkerRequest = z.infer<typeof requestSchema>;
export type WorkerOp = WorkerRequest['op'];
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request without its correlation id, as the facade builds it. */
export type RequestBody = DistributiveOmit<WorkerRequest, 'id'>;

export const workerStatsSchema = z.object({
  pid: z.number().int(),
  cpuUserMicros: z.number(),
  cpuSystemMicros: z.number(),
  rssBytes: z.number(),
  packetsIn: z.number(),
  packetsForwarded: z.number(),
  meetings: z.number().int(),
  participants: z.number().int(),
});
export type WorkerStats = z.infer<typeof workerStatsSchema>;

/** What each op's successful result carries. */
export const resultSchemas = {
  init: z.null(),
  join: z.null(),
  publishOffer: sdp,
  subscribeAnswer: z.null(),
  addIce: z.null(),
  setReceiving: z.null(),
  setMuted: z.null(),
  setPreferredLayer: z.null(),
  leave: z.null(),
  closeMeeting: z.null(),
  stats: workerStatsSchema,
  shutdown: z.null(),
} as const satisfies Record<WorkerOp, z.ZodTypeAny>;
export type ResultOf<Op extends WorkerOp> = z.infer<(typeof resultSchemas)[Op]>;

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
  /** ok: value holds the op's result (checked against resultSchemas); otherwise error says why. */
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
  z.object({
    type: z.literal('log'),
    level: z.enum(['info', 'warn', 'error']),
    obj: z.record(z.unknown()),
    msg: z.string().optional(),
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
