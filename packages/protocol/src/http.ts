import { z } from 'zod';
import { otpCodeSchema } from './accounts.js';
import { ERROR_CODES } from './errors.js';
import { meetingInfoSchema, modeSchema, PROTOCOL_VERSION } from './signaling.js';

const v = z.literal(PROTOCOL_VERSION);

/**
 * POST /api/meetings: needs a signed-in account (session cookie) and the CSRF header; E2EE needs
 * the account's E2EE entitlement (paid plan or the phone check). `totp`: the authenticator code,
 * when the risk engine asked for one (`step_up_required`).
 */
export const createMeetingRequest = z.object({
  v,
  title: z.string().trim().max(200).default(''),
  mode: modeSchema.default('e2ee'),
  passcode: z.string().min(6, 'passcode must have at least 6 characters').max(64).optional(),
  waitingRoom: z.boolean().default(false),
  muteOnEntry: z.boolean().default(false),
  maxParticipants: z.number().int().min(2).max(1000).default(100),
  allowScreenShare: z.boolean().default(true),
  /** Frame attestation (report evidence); off trades verifiable clips for deniability. */
  attestation: z.boolean().default(true),
  totp: otpCodeSchema.optional(),
});
export type CreateMeetingRequest = z.infer<typeof createMeetingRequest>;

export const createMeetingResponse = z.object({
  v,
  meeting: meetingInfoSchema,
  /** Link for participants. */
  joinUrl: z.string(),
  /** Link for the host: carries the host secret in the URL fragment (never sent to the server in requests for pages). */
  hostUrl: z.string(),
  /** Host rights in the meeting (host link, host controls of the API); shown once. */
  hostSecret: z.string(),
});
export type CreateMeetingResponse = z.infer<typeof createMeetingResponse>;

/** GET /api/meetings/:id */
export const meetingResponse = z.object({ v, meeting: meetingInfoSchema });

/** PATCH /api/meetings/:id (header `x-host-secret`) */
export const updateMeetingRequest = z.object({
  v,
  title: z.string().trim().max(200).optional(),
  passcode: z.string().min(6, 'passcode must have at least 6 characters').max(64).nullable().optional(),
  waitingRoom: z.boolean().optional(),
  muteOnEntry: z.boolean().optional(),
  maxParticipants: z.number().int().min(2).max(1000).optional(),
  allowScreenShare: z.boolean().optional(),
  attestation: z.boolean().optional(),
  locked: z.boolean().optional(),
});
export type UpdateMeetingRequest = z.infer<typeof updateMeetingRequest>;

/** Every HTTP error body. */
export const errorResponse = z.object({
  v,
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }),
});
export type ErrorResponse = z.infer<typeof errorResponse>;

/** GET /healthz */
export const healthResponse = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSeconds: z.number(),
  /**
   * The SFU's UDP media ports (absent without an SFU): every participant reserves
   * `perParticipant` of them at join; `participantCapacity` is how many participants fit when
   * none is in. A join that does not fit fails with `media_capacity`.
   */
  media: z
    .object({
      ports: z.object({
        total: z.number().int().min(0),
        used: z.number().int().min(0),
        free: z.number().int().min(0),
      }),
      perParticipant: z.number().int().min(1),
      participantCapacity: z.number().int().min(0),
    })
    .optional(),
});
