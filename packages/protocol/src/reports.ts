import { z } from 'zod';
import { b64Schema, displayNameSchema, idSchema, PROTOCOL_VERSION } from './signaling.js';

/**
 * Report a User (issue 13): what a reporter's client sends, what moderators read, and the MLS
 * application payloads that make the evidence checkable.
 *
 * Evidence is what the reporter chose to take out of the encryption: selected chat messages with
 * the material a third party needs to check their MLS signatures, a media clip of one
 * participant with the key material of that clip's KIDs only and the sender's signed frame
 * attestations, and screenshots (never verifiable: marked "unverified"). The server checks the
 * evidence on arrival, stores the result in clear and the evidence itself sealed (HPKE) to the
 * moderators' public key: the server process alone cannot read it afterwards.
 */

const v = z.literal(PROTOCOL_VERSION);

/** Largest report request body (a 60 s clip of one camera at the bitrates we send fits). */
export const MAX_REPORT_BYTES = 24 * 1024 * 1024;
export const MAX_REPORT_TEXT = 2000;
export const MAX_REPORT_CHAT_MESSAGES = 50;
export const MAX_REPORT_PROOFS = 16;
export const MAX_REPORT_SCREENSHOTS = 3;
/** Largest screenshot (PNG or JPEG), base64 characters. */
export const MAX_SCREENSHOT_CHARS = 3 * 1024 * 1024;
export const MAX_CLIP_FRAMES = 6000;
export const MAX_CLIP_MS = 60_000;
export const MAX_CLIP_ATTESTATIONS = 300;
/** How long after a meeting its participants can still report from the end screen (kept on their device). */
export const REPORT_AFTER_MEETING_DAYS = 7;

export const reportReasonSchema = z.enum([
  'harassment',
  'hate',
  'sexual_content',
  'spam',
  'impersonation',
  'other',
]);
export type ReportReason = z.infer<typeof reportReasonSchema>;

// ------------------------------------------------------------------ MLS application payloads

/**
 * The plaintext of every MLS application message of a meeting (JSON, UTF-8): chat, and each
 * sender's frame attestations (once a second per stream it sends). Decoded with this schema by
 * every receiver and by the report verifier (the chat text a moderator reads is the one the
 * sender signed).
 */
export const e2eeAppPayloadSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('chat'),
    text: z.string().min(1).max(4000),
    sentAt: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('attestation'),
    /** An encoded AttestationBody (packages/crypto/src/evidence/attestation.ts). */
    body: b64Schema.max(16 * 1024),
    /** SignWithLabel(sender's leaf signature key, "Conclave frame attestation", body). */
    signature: b64Schema.max(256),
  }),
]);
export type E2eeAppPayload = z.infer<typeof e2eeAppPayloadSchema>;

// ------------------------------------------------------------------ evidence

/**
 * Who a group's leaves were in one epoch: the GroupContext (which carries the tree hash and
 * which every member signs under) and the public ratchet tree, both TLS-encoded. A verifier
 * recomputes the tree hash, so the leaf a signature is checked against is the one that was in
 * the group.
 */
export const membershipProofSchema = z.object({
  groupContext: b64Schema.max(64 * 1024),
  ratchetTree: b64Schema.max(4 * 1024 * 1024),
});
export type MembershipProofWire = z.infer<typeof membershipProofSchema>;

/** One chat message of an E2EE meeting as its sender's leaf key signed it. */
export const mlsChatEvidenceSchema = z.object({
  kind: z.literal('mls_chat'),
  /** Index into `evidence.proofs`: the epoch the message was sent in. */
  proof: z
    .number()
    .int()
    .min(0)
    .max(MAX_REPORT_PROOFS - 1),
  /** The TLS-encoded FramedContent (group, epoch, sender leaf, application data). */
  framedContent: b64Schema.max(64 * 1024),
  /** FramedContentAuthData's signature over FramedContentTBS. */
  signature: b64Schema.max(256),
});

/**
 * One chat message of a standard meeting: the server relayed it in clear and sealed it (an HMAC
 * with a server key over meeting, sender and text); the seal proves the server relayed exactly this.
 */
export const serverChatEvidenceSchema = z.object({
  kind: z.literal('server_chat'),
  from: idSchema,
  displayName: z.string().max(128),
  text: z.string().min(1).max(4000),
  sentAt: z.number().int().nonnegative(),
  seal: b64Schema.max(128),
});

export const chatEvidenceSchema = z.discriminatedUnion('kind', [
  mlsChatEvidenceSchema,
  serverChatEvidenceSchema,
]);
export type ChatEvidence = z.infer<typeof chatEvidenceSchema>;

export const mediaContextSchema = z.enum(['audio', 'camera', 'screen', 'screenAudio']);

/** A signed attestation as its sender sent it (the MLS payload's body and signature). */
export const attestationEvidenceSchema = z.object({
  proof: z
    .number()
    .int()
    .min(0)
    .max(MAX_REPORT_PROOFS - 1),
  body: b64Schema.max(16 * 1024),
  signature: b64Schema.max(256),
});

/** A clip of one participant's media as this client received it: SFrame ciphertext, untouched. */
export const clipSchema = z.object({
  /** The reported sender's leaf index (frames under another leaf's KID are refused). */
  leafIndex: z.number().int().min(0).max(65535),
  frames: z
    .array(
      z.object({
        /** Received at, ms since the Unix epoch (the reporter's clock). */
        at: z.number().int().nonnegative(),
        codec: z.enum(['vp8', 'opus']),
        data: b64Schema.max(1024 * 1024),
      }),
    )
    .min(1)
    .max(MAX_CLIP_FRAMES),
  /** sframe_key and sframe_salt of each KID in the clip (RFC 9605 §4.4.2): nothing else of the epoch. */
  keys: z
    .array(
      z.object({ kid: z.string().regex(/^[0-9]{1,20}$/), key: b64Schema.max(128), salt: b64Schema.max(128) }),
    )
    .min(1)
    .max(64),
  attestations: z.array(attestationEvidenceSchema).min(1).max(MAX_CLIP_ATTESTATIONS),
});
export type ClipEvidence = z.infer<typeof clipSchema>;

export const screenshotSchema = z.object({
  mime: z.enum(['image/png', 'image/jpeg']),
  data: b64Schema.max(MAX_SCREENSHOT_CHARS),
  capturedAt: z.number().int().nonnegative(),
});

export const reportEvidenceSchema = z.object({
  proofs: z.array(membershipProofSchema).max(MAX_REPORT_PROOFS).default([]),
  chat: z.array(chatEvidenceSchema).max(MAX_REPORT_CHAT_MESSAGES).default([]),
  clip: clipSchema.optional(),
  screenshots: z.array(screenshotSchema).max(MAX_REPORT_SCREENSHOTS).default([]),
});
export type ReportEvidence = z.infer<typeof reportEvidenceSchema>;

// ------------------------------------------------------------------ submitting

/**
 * POST /api/reports: a signed-in account (session cookie + CSRF header) or a guest (no cookie;
 * limited per network). The reported participant is named by what the reporter's client saw:
 * its MLS signature key (E2EE meetings) and/or its participant id; the server resolves the
 * account from the key directory (or the meeting's records), never from the reporter's word.
 */
export const submitReportRequest = z.object({
  v,
  meetingId: idSchema,
  reported: z.object({
    participantId: idSchema.optional(),
    /** The reported member's MLS leaf signature key (Ed25519, base64). */
    signatureKey: b64Schema.max(64).optional(),
    displayName: displayNameSchema,
  }),
  reason: reportReasonSchema,
  text: z.string().trim().max(MAX_REPORT_TEXT).default(''),
  evidence: reportEvidenceSchema.default({}),
});
export type SubmitReportRequest = z.infer<typeof submitReportRequest>;

/** What the server (and again the moderator's page) found for one piece of evidence. */
export const evidenceVerdictSchema = z.enum([
  /** Signed by a device key registered to the reported account (key directory). */
  'account_key',
  /** Signed by a key that is in the meeting's group but registered to no account. */
  'guest_key',
  /** A standard meeting's chat, sealed by this server when it relayed it. */
  'server_relayed',
  /** Every frame decrypts and matches the sender's signed attestations. */
  'verified',
  /** A screenshot: nothing can check it. */
  'unverified',
  'does_not_verify',
]);
export type EvidenceVerdict = z.infer<typeof evidenceVerdictSchema>;

export const chatVerdictSchema = z.object({
  verdict: evidenceVerdictSchema,
  /** Why it does not verify, or what was checked. */
  detail: z.string(),
  /** The signed text (only when the signature verifies). */
  text: z.string().optional(),
  sentAt: z.number().optional(),
  senderName: z.string().optional(),
});

export const clipVerdictSchema = z.object({
  verdict: evidenceVerdictSchema,
  detail: z.string(),
  frames: z.number().int(),
  verifiedFrames: z.number().int(),
  /** Wall-clock span of the clip, ms. */
  durationMs: z.number().int(),
  senderName: z.string().optional(),
});

export const reportVerificationSchema = z.object({
  chat: z.array(chatVerdictSchema),
  clip: clipVerdictSchema.optional(),
  screenshots: z.number().int(),
  /** The reported account the evidence's keys belong to, when the key directory says so. */
  signerAccountId: z.string().optional(),
});
export type ReportVerification = z.infer<typeof reportVerificationSchema>;

export const reportStatusSchema = z.enum(['open', 'dismissed', 'actioned']);

export const submitReportResponse = z.object({
  v,
  report: z.object({
    id: z.string(),
    status: reportStatusSchema,
    verification: reportVerificationSchema,
    /** False when the server has no moderation key: the verdicts are kept, the evidence is not. */
    evidenceKept: z.boolean(),
  }),
});

// ------------------------------------------------------------------ moderation

export const moderationActionSchema = z.enum([
  'dismiss',
  'warn',
  'suspend',
  'ban',
  'revoke_e2ee',
  'end_meetings',
]);
export type ModerationAction = z.infer<typeof moderationActionSchema>;

/** POST /api/admin/reports/:id/actions (admin only). `days`: for `suspend` (1–365). */
export const moderationActionRequest = z.object({
  v,
  action: moderationActionSchema,
  days: z.number().int().min(1).max(365).optional(),
  note: z.string().trim().max(1000).default(''),
});
export type ModerationActionRequest = z.infer<typeof moderationActionRequest>;

/** What the reporter sees of its reports on its account page (GET /api/reports/mine). */
export const myReportSchema = z.object({
  id: z.string(),
  meetingId: z.string(),
  reportedName: z.string(),
  reason: reportReasonSchema,
  createdAt: z.string(),
  status: reportStatusSchema,
  /** The outcome in words ("the account was suspended", "no action was taken"), once decided. */
  outcome: z.string().optional(),
});
export const myReportsResponse = z.object({ v, reports: z.array(myReportSchema) });

/** A report as the moderation queue lists it (GET /api/admin/reports?status=&account=&meeting=). */
export const adminReportSummarySchema = z.object({
  id: z.string(),
  status: reportStatusSchema,
  reason: reportReasonSchema,
  meetingId: z.string(),
  createdAt: z.string(),
  reportedName: z.string(),
  /** The reported account, when the server could resolve it (key directory or meeting records). */
  reportedAccount: z.object({ id: z.string(), email: z.string(), displayName: z.string() }).optional(),
  /** A guest's MLS signature key (base64), when the reported was a guest. */
  reportedGuestKey: z.string().optional(),
  reporter: z.object({ kind: z.enum(['account', 'guest']), displayName: z.string().optional() }),
  /** The verdicts in one line each ("3 chat messages: signed by the account's device key", ...). */
  verificationSummary: z.array(z.string()),
});
export const adminReportListResponse = z.object({ v, reports: z.array(adminReportSummarySchema) });

/** An entry of the moderation audit log. */
export const moderationLogEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  /** Who acted: an admin account's e-mail, or "cli" for `conclave admin reports act`. */
  actor: z.string(),
  action: z.union([moderationActionSchema, z.enum(['evidence_opened', 'evidence_expired', 'lifted'])]),
  reportId: z.string().optional(),
  accountId: z.string().optional(),
  detail: z.string(),
});

/** GET /api/admin/reports/:id — the evidence stays sealed: the moderator's page opens it with the moderators' key. */
export const adminReportResponse = z.object({
  v,
  report: adminReportSummarySchema.extend({
    text: z.string(),
    verification: reportVerificationSchema,
    /** HPKE-sealed evidence (base64 of the box; see packages/crypto/src/evidence/evidence-box.ts); absent once expired. */
    sealedEvidence: z.string().optional(),
    evidenceExpiresAt: z.string().optional(),
  }),
  /** The reported account's history: earlier reports, actions, risk signals (never a phone number). */
  history: z.object({
    reports: z.array(adminReportSummarySchema),
    actions: z.array(moderationLogEntrySchema),
    account: z
      .object({
        status: z.enum(['active', 'suspended', 'banned']),
        suspendedUntil: z.string().optional(),
        createdAt: z.string(),
        plan: z.string(),
        e2eeEntitled: z.boolean(),
        openReports: z.number().int(),
        recentAuthEvents: z.array(
          z.object({ at: z.string(), action: z.string(), outcome: z.string(), reasons: z.array(z.string()) }),
        ),
      })
      .optional(),
  }),
});
export const moderationLogResponse = z.object({ v, entries: z.array(moderationLogEntrySchema) });

export type AdminReportListResponse = z.infer<typeof adminReportListResponse>;
export type ModerationLogResponse = z.infer<typeof moderationLogResponse>;

/** Largest page of the moderation queue and of the audit log. */
export const MAX_ADMIN_PAGE = 200;
const pageFields = {
  limit: z.coerce.number().int().min(1).max(MAX_ADMIN_PAGE).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
};

/**
 * The query string of GET /api/admin/reports: `account` is an e-mail or an account id; newest
 * first, `limit` (≤ MAX_ADMIN_PAGE) from `offset`.
 */
export const adminReportListQuery = z.object({
  status: reportStatusSchema.optional(),
  account: z.string().trim().min(1).max(320).optional(),
  meeting: idSchema.optional(),
  ...pageFields,
});
export type AdminReportListQuery = z.infer<typeof adminReportListQuery>;

/** The query string of GET /api/admin/moderation-log (newest first). */
export const moderationLogQuery = z.object({
  account: z.string().trim().min(1).max(320).optional(),
  report: z.string().min(1).max(64).optional(),
  ...pageFields,
});
export type ModerationLogQuery = z.infer<typeof moderationLogQuery>;

/** The answer to POST /api/admin/reports/:id/actions: the log entry written and the report's decision. */
export const moderationActionResponse = z.object({
  v,
  ok: z.literal(true),
  entry: moderationLogEntrySchema,
  report: z.object({ id: z.string(), status: reportStatusSchema, outcome: z.string().optional() }),
});
export type ModerationActionResponse = z.infer<typeof moderationActionResponse>;

/**
 * GET /api/account/notices (signed in): the moderators' warnings to this account, newest first.
 * The text is the server's sentence (reason and date of the report), never the moderator's note.
 */
export const accountNoticesResponse = z.object({
  v,
  warnings: z.array(
    z.object({ id: z.number().int(), at: z.string(), reason: reportReasonSchema, text: z.string() }),
  ),
});
export type AccountNoticesResponse = z.infer<typeof accountNoticesResponse>;
/** GET /api/admin/moderation-key: the moderators' HPKE public key (base64), for the console to match the key file loaded. */
export const moderationKeyResponse = z.object({
  v,
  publicKey: z.string().nullable(),
  createdAt: z.string().nullable(),
});

export type SubmitReportResponse = z.infer<typeof submitReportResponse>;
export type MyReport = z.infer<typeof myReportSchema>;
export type AdminReportSummary = z.infer<typeof adminReportSummarySchema>;
export type AdminReportResponse = z.infer<typeof adminReportResponse>;
export type ModerationLogEntry = z.infer<typeof moderationLogEntrySchema>;
export type ModerationKeyResponse = z.infer<typeof moderationKeyResponse>;
