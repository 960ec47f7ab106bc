import { z } from 'zod';
import { b64Schema, idSchema, PROTOCOL_VERSION } from './signaling.js';

/**
 * HTTP bodies of accounts, sessions, device keys, TOTP and the one-time phone verification.
 * Every route answers errors with the shared `errorResponse` shape.
 *
 * Cookies (set by the server; see packages/server/src/accounts/cookies.ts): a session cookie
 * (HttpOnly), a CSRF cookie (readable by the page) and a device cookie (HttpOnly). Every
 * POST/DELETE under `/api/auth`, `/api/devices` and `/api/verification/redeem` must carry the
 * CSRF cookie's value in the `x-csrf-token` header (double submit); `GET /api/auth/csrf` hands
 * one out. The phone check's `start` and `check` carry no cookie and no CSRF header: they are
 * sent without credentials and with `PHONE_CHECK_DEVICE_HEADER` instead.
 */

const v = z.literal(PROTOCOL_VERSION);

/** The header that must repeat the CSRF cookie on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'email address is longer than 254 characters')
  .email('must be an email address');

/** NIST SP 800-63B: at least 8 characters; we ask for 10. Long passphrases are welcome. */
export const passwordSchema = z
  .string()
  .min(10, 'password must have at least 10 characters')
  .max(256, 'password must have at most 256 characters');

export const planSchema = z.enum(['free', 'paid']);
export type Plan = z.infer<typeof planSchema>;
export const accountRoleSchema = z.enum(['user', 'admin']);
export type AccountRole = z.infer<typeof accountRoleSchema>;

/** A 6-digit one-time code (SMS or TOTP). */
export const otpCodeSchema = z.string().regex(/^[0-9]{6}$/, 'must be 6 digits');

/**
 * Who may host what. `reason`:
 * - `guest`: not signed in — may join, may not host;
 * - `paid`: plan `paid` — standard and E2EE;
 * - `phone_verified`: free plan with a redeemed verification token — standard and E2EE;
 * - `verification_required`: free plan — standard only until the one-time phone check.
 */
export const hostingEntitlementSchema = z.object({
  standard: z.boolean(),
  e2ee: z.boolean(),
  reason: z.enum(['guest', 'paid', 'phone_verified', 'verification_required']),
});
export type HostingEntitlement = z.infer<typeof hostingEntitlementSchema>;

export const accountSchema = z.object({
  id: idSchema,
  email: z.string(),
  displayName: z.string(),
  plan: planSchema,
  role: accountRoleSchema,
  createdAt: z.string(),
  totpEnabled: z.boolean(),
  /** A verification token was redeemed on this account (the E2EE unlock for free plans). */
  phoneVerified: z.boolean(),
});
export type Account = z.infer<typeof accountSchema>;

/** GET /api/me, and the answer to a completed sign-up / sign-in / redeem. */
export const meResponse = z.object({
  v,
  account: accountSchema,
  entitlement: hostingEntitlementSchema,
  /** Present when the server has just set a new CSRF cookie (sign-in, sign-up). */
  csrfToken: z.string().optional(),
});
export type MeResponse = z.infer<typeof meResponse>;

/** GET /api/auth/csrf */
export const csrfResponse = z.object({ v, csrfToken: z.string() });

/**
 * POST /api/auth/signup → 202 `okResponse` for every e-mail, whether it had an account or not
 * (an existing account is left as it was); no session: sign in next with the same e-mail and
 * password.
 */
export const signupRequest = z.object({
  v,
  email: emailSchema,
  password: passwordSchema,
  displayName: z.string().trim().max(64).default(''),
});
export type SignupRequest = z.infer<typeof signupRequest>;

/** POST /api/auth/signin */
export const signinRequest = z.object({
  v,
  email: emailSchema,
  // No length rule on sign-in: old passwords may predate the current rule.
  password: z.string().min(1).max(256),
  /** The TOTP code sent with the password, after an answer `step_up_required`. */
  totp: otpCodeSchema.optional(),
});
export type SigninRequest = z.infer<typeof signinRequest>;

/** The answer to a sign-in that needs a second factor: send the code with the ticket. */
export const stepUpResponse = z.object({
  v,
  stepUp: z.literal('totp'),
  ticket: z.string(),
  expiresInSeconds: z.number().int(),
});
export type StepUpResponse = z.infer<typeof stepUpResponse>;

/** POST /api/auth/signin → `meResponse` or `stepUpResponse`. */
export const signinResponse = z.union([meResponse, stepUpResponse]);

/** POST /api/auth/signin/totp */
export const signinTotpRequest = z.object({ v, ticket: z.string().min(16).max(128), code: otpCodeSchema });

/** POST /api/auth/password */
export const passwordChangeRequest = z.object({
  v,
  currentPassword: z.string().min(1).max(256),
  newPassword: passwordSchema,
});

/** POST /api/auth/signup, /api/auth/signout, /api/auth/password: `{v, ok: true}`. */
export const okResponse = z.object({ v, ok: z.literal(true) });

/** POST /api/auth/totp/enroll → secret for an authenticator app (shown once, as text and QR code). */
export const totpEnrollResponse = z.object({ v, secret: z.string(), otpauthUri: z.string() });
/** POST /api/auth/totp/confirm and /api/auth/totp/disable */
export const totpCodeRequest = z.object({ v, code: otpCodeSchema });

/** An Ed25519 public key: 32 bytes in standard base64 (44 characters). */
export const ed25519PublicKeySchema = b64Schema.refine(
  (s) => s.length === 44 && s.endsWith('='),
  'must be a base64 Ed25519 public key (32 bytes)',
);

/** POST /api/devices: the signed-in device's MLS signature public key. */
export const registerDeviceRequest = z.object({ v, deviceId: idSchema, publicKey: ed25519PublicKeySchema });

export const deviceKeySchema = z.object({
  userId: idSchema,
  deviceId: idSchema,
  publicKey: z.string(),
  createdAt: z.string(),
});
export type DeviceKey = z.infer<typeof deviceKeySchema>;

/** GET /api/directory/:userId/:deviceId, and the answer to POST /api/devices. */
export const deviceKeyResponse = z.object({ v, device: deviceKeySchema });
/** GET /api/devices (the signed-in account's devices). */
export const devicesResponse = z.object({ v, devices: z.array(deviceKeySchema) });

/** The blind-signature suite of verification tokens (RFC 9474). */
export const VERIFICATION_TOKEN_SUITE = 'RSABSSA-SHA384-PSS-Randomized';
/** Token messages are 32 random bytes (the RFC's prepare prefix) + 32 random bytes of nonce. */
export const VERIFICATION_TOKEN_MESSAGE_BYTES = 64;

/** GET /api/verification/key */
export const verificationKeyResponse = z.object({
  v,
  suite: z.literal(VERIFICATION_TOKEN_SUITE),
  /** base64url SHA-256 of the SPKI; the same for every client (compare it to spot a per-user key). */
  keyId: z.string(),
  /** SubjectPublicKeyInfo DER, standard base64; import as RSA-PSS with SHA-384. */
  publicKey: b64Schema,
  modulusBits: z.number().int(),
});
export type VerificationKeyResponse = z.infer<typeof verificationKeyResponse>;

/**
 * The header `POST /api/verification/start` and `check` must carry: a random id the client keeps
 * for the phone check only (the web app in localStorage), never sent to any other route. The
 * server limits starts and checks per value; it names no account. Being a custom header it also
 * keeps other sites' pages from sending these requests (a CORS preflight the server refuses).
 */
export const PHONE_CHECK_DEVICE_HEADER = 'x-conclave-check-device';
/** 128 to 384 random bits, base64url. */
export const phoneCheckDeviceSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22,64}$/, 'must be 22 to 64 base64url characters (a random id)');

/** POST /api/verification/start: no session, no cookie, `PHONE_CHECK_DEVICE_HEADER`. */
export const verificationStartRequest = z.object({
  v,
  /** As typed; international format (+…) or national with `country`. */
  phoneNumber: z.string().trim().min(3).max(40),
  /** ISO 3166-1 alpha-2 region for national numbers, e.g. `DE`. */
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code')
    .transform((s) => s.toUpperCase())
    .optional(),
});
export type VerificationStartRequest = z.infer<typeof verificationStartRequest>;

export const verificationStartResponse = z.object({
  v,
  verificationId: z.string(),
  expiresInSeconds: z.number().int(),
  resendAfterSeconds: z.number().int(),
  attempts: z.number().int(),
});
export type VerificationStartResponse = z.infer<typeof verificationStartResponse>;

/**
 * POST /api/verification/check: the SMS code and the client's blinded token message. No session,
 * no cookie, `PHONE_CHECK_DEVICE_HEADER`: nothing in it names the account.
 */
export const verificationCheckRequest = z.object({
  v,
  verificationId: z.string().min(16).max(64),
  code: otpCodeSchema,
  blindedMessage: b64Schema,
});
export type VerificationCheckRequest = z.infer<typeof verificationCheckRequest>;

export const verificationCheckResponse = z.object({ v, keyId: z.string(), blindSignature: b64Schema });
export type VerificationCheckResponse = z.infer<typeof verificationCheckResponse>;

/** POST /api/verification/redeem (signed in, a separate request) → `meResponse`. */
export const verificationRedeemRequest = z.object({
  v,
  keyId: z.string().optional(),
  /** The prepared token message (64 bytes), standard base64. */
  message: b64Schema,
  /** The finalized RSA-PSS signature, standard base64. */
  signature: b64Schema,
});
export type VerificationRedeemRequest = z.infer<typeof verificationRedeemRequest>;
