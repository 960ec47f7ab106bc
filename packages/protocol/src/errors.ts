/**
 * Stable error codes. Clients switch on `code`; `message` is a human sentence for logs and UI.
 * Never renumber or rename: add new codes instead — with a row in ERROR_CATALOGUE below (the
 * type check fails without one).
 */
export const ERROR_CODES = [
  'bad_request', // the message is not valid JSON or does not match its schema
  'unsupported_version', // the message's `v` is not one this server speaks
  'message_too_large',
  'unknown_meeting',
  'meeting_ended',
  'meeting_locked',
  'meeting_full',
  'wrong_passcode',
  'rate_limited',
  'not_joined', // a meeting message before a successful join
  'forbidden', // the sender's role may not do this
  'unknown_participant',
  'denied', // the host denied entry
  'removed', // the host removed this participant
  'stale_epoch', // a handshake message for an epoch other than the current one
  'group_exists', // a second group creation for the same meeting session
  'no_group', // an MLS message before the meeting's group exists
  'bad_mls_message', // an MLS message whose framing does not parse or does not match the meeting
  'not_e2ee', // an MLS operation in a standard-mode meeting
  'media_error', // the SFU could not process an offer/answer/candidate
  'internal_error',
  // Accounts, verification and risk (packages/server/src/accounts, verification, risk):
  'unauthenticated', // no valid session (signed out, expired, or never signed in)
  'invalid_credentials', // wrong email or password
  'email_taken', // no longer answered: sign-up answers alike for every e-mail (kept, never reused)
  'csrf_failed', // the x-csrf-token header is missing or does not match the CSRF cookie
  'risk_denied', // the risk engine refused the action (see the auth-event log)
  'step_up_required', // the action needs a TOTP code: repeat it with one
  'invalid_totp',
  'totp_not_enrolled',
  'totp_already_enabled',
  'invalid_phone_number', // does not parse or is not a valid number
  'phone_number_refused', // premium-rate, VoIP, or not a mobile number
  'phone_quota_exceeded', // this number has unlocked as many accounts as it may this year
  'wrong_code', // wrong SMS code
  'verification_expired', // the code expired or the verification does not exist
  'too_many_attempts',
  'sms_failed', // the SMS provider could not send the code
  'invalid_token', // a verification token whose signature does not verify
  'token_spent', // a verification token that was already redeemed
  'already_verified', // this account can host E2EE meetings already
  'device_key_conflict', // the device id is registered with another key
  'unknown_device',
  'e2ee_not_entitled', // E2EE hosting needs a paid plan or the one-time phone check
  // Admission and resource limits (docs/architecture.md, "Threat model and limits"):
  'too_many_connections', // too many open sockets or join attempts from this address or network
  'waiting_room_full', // the meeting's waiting room (or its share for this network) is full
  'passcode_locked', // too many wrong passcodes for this meeting: passcode entry is paused
  'media_capacity', // the SFU has no free media ports: the participant stays without media
  'credential_mismatch', // the join's name, device or account differs from its MLS key package's credential
  'resume_rejected', // the resume token expired, was revoked, or belongs to another device
  // The MLS group (docs/architecture.md, "The MLS group"):
  'invalid_commit', // a commit that does not verify or breaks the group policy (not fanned out)
  'not_your_turn', // a commit from a member the delivery service did not ask, or for something it did not ask
  'commit_pending', // the previous commit is still being confirmed by the members: wait for the next request
  'duplicate_device', // this device (its MLS signature key) is already in the meeting
  'group_violation', // this member sent a commit the other members could not process: it leaves the group
  // Moderation (packages/server/src/moderation):
  'account_suspended', // a moderator suspended this account (until the date in the message)
  'account_banned', // a moderator banned this account from this server
  'key_banned', // this MLS signature key was banned from every meeting of this server
  'unknown_report',
  'report_decided', // a dismissal of a report on which action was already taken
  // Report a User (packages/server/src/reports):
  'report_self', // a report against the reporter's own account or device key
  'report_duplicate', // the reporter has an open report against this participant in this meeting
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What the catalogue knows of a code: the HTTP status it answers with, and a default sentence. */
export interface ErrorSpec {
  status: number;
  message: string;
}

/**
 * The error catalogue: every code's HTTP status and default message. The HTTP API takes the
 * status of every error answer from here (packages/server/src/http/errors.ts); a route gives a
 * more precise message when it has one. Codes that only the signaling WebSocket sends carry 400
 * (what an HTTP route would have answered for them before the catalogue); on the WebSocket the
 * status is not sent.
 */
export const ERROR_CATALOGUE: Readonly<Record<ErrorCode, ErrorSpec>> = {
  bad_request: { status: 400, message: 'the request is not valid' },
  unsupported_version: { status: 400, message: 'this protocol version is not supported' },
  message_too_large: { status: 413, message: 'the message is too large' },
  unknown_meeting: { status: 404, message: 'no such meeting' },
  meeting_ended: { status: 409, message: 'the meeting has ended' },
  meeting_locked: { status: 409, message: 'the meeting is locked' },
  meeting_full: { status: 409, message: 'the meeting is full' },
  wrong_passcode: { status: 403, message: 'wrong passcode' },
  rate_limited: { status: 429, message: 'too many requests: try again later' },
  not_joined: { status: 400, message: 'join a meeting first' },
  forbidden: { status: 403, message: 'not allowed' },
  unknown_participant: { status: 404, message: 'no such participant in this meeting' },
  denied: { status: 403, message: 'the host denied entry' },
  removed: { status: 403, message: 'the host removed this participant' },
  stale_epoch: { status: 400, message: 'this message is for another epoch of the group' },
  group_exists: { status: 400, message: 'the meeting has a group already' },
  no_group: { status: 400, message: 'the meeting has no group yet' },
  bad_mls_message: { status: 400, message: 'the MLS message does not parse or does not match the meeting' },
  not_e2ee: { status: 400, message: 'this is a standard-mode meeting: there is no MLS group' },
  media_error: { status: 500, message: 'the media server could not process this' },
  internal_error: { status: 500, message: 'internal error' },
  unauthenticated: { status: 401, message: 'sign in first' },
  invalid_credentials: { status: 401, message: 'wrong e-mail or password' },
  email_taken: { status: 409, message: 'an account with this e-mail exists; sign in instead' },
  csrf_failed: { status: 403, message: 'missing or wrong CSRF header' },
  risk_denied: { status: 403, message: 'refused as unusual; try again later' },
  step_up_required: { status: 401, message: 'this needs a code from your authenticator app' },
  invalid_totp: { status: 401, message: 'wrong authenticator code' },
  totp_not_enrolled: { status: 409, message: 'no authenticator app is enrolled' },
  totp_already_enabled: { status: 409, message: 'an authenticator app is enrolled already' },
  invalid_phone_number: { status: 400, message: 'this is not a valid phone number' },
  phone_number_refused: { status: 400, message: 'only mobile numbers can receive the code' },
  phone_quota_exceeded: { status: 403, message: 'this number has unlocked enough accounts this year' },
  wrong_code: { status: 400, message: 'wrong code' },
  verification_expired: {
    status: 410,
    message: 'this code has expired or does not exist; ask for a new one',
  },
  too_many_attempts: { status: 429, message: 'too many wrong codes; ask for a new code' },
  sms_failed: { status: 502, message: 'the code could not be sent; try again later' },
  invalid_token: { status: 400, message: 'this verification token is not valid' },
  token_spent: { status: 409, message: 'this verification token was already redeemed' },
  already_verified: { status: 409, message: 'this account can host E2EE meetings already' },
  device_key_conflict: { status: 409, message: 'this device id is registered with another key' },
  unknown_device: { status: 404, message: 'no such device key' },
  e2ee_not_entitled: {
    status: 403,
    message: 'end-to-end encrypted meetings need a paid plan or the phone check',
  },
  too_many_connections: { status: 400, message: 'too many connections from this address or network' },
  waiting_room_full: { status: 400, message: 'the waiting room is full' },
  passcode_locked: { status: 400, message: 'too many wrong passcodes: passcode entry is paused' },
  media_capacity: { status: 400, message: 'the server has no free media ports: try again later' },
  credential_mismatch: { status: 400, message: 'the join does not match its key package credential' },
  resume_rejected: { status: 400, message: 'the resume token is not valid' },
  invalid_commit: { status: 400, message: 'the commit does not verify or breaks the group policy' },
  not_your_turn: { status: 400, message: 'the delivery service did not ask this member for this commit' },
  commit_pending: { status: 400, message: 'the previous commit is still being confirmed' },
  duplicate_device: { status: 400, message: 'this device is already in the meeting' },
  group_violation: { status: 400, message: 'the other members could not process this commit' },
  account_suspended: { status: 403, message: 'this account is suspended' },
  account_banned: { status: 403, message: 'this account is banned from this server' },
  key_banned: { status: 403, message: 'this device key is banned from this server' },
  unknown_report: { status: 404, message: 'no such report' },
  report_decided: { status: 409, message: 'action was already taken on this report' },
  report_self: { status: 400, message: 'you cannot report yourself' },
  report_duplicate: {
    status: 409,
    message: 'you have reported this participant in this meeting already; moderators will look at it',
  },
};

/**
 * HTTP answers whose status is not their code's, each named: clients and the API's tests see
 * these pairs, so they stay; every other error answer takes its code's status.
 */
export const HTTP_ERROR_VARIANTS = {
  /** No route for the method and path (the protocol has no `not_found` code). */
  no_route: { code: 'bad_request', status: 404, message: 'no such route' },
  /** A wrong code while confirming an authenticator enrolment: a bad field, not a failed sign-in. */
  invalid_totp_enrolment: { code: 'invalid_totp', status: 400, message: 'wrong authenticator code' },
} as const satisfies Record<string, { code: ErrorCode } & ErrorSpec>;

export type HttpErrorVariant = keyof typeof HTTP_ERROR_VARIANTS;

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && CODES.has(value);
}

/**
 * The one base of our errors that carry a stable code (the protocol's and the server's). `Code`
 * may be widened by a family with codes of its own. The HTTP API answers a thrown `CodedError`
 * with its code's catalogue status, and anything else (a code that is not an ErrorCode
 * included) with `internal_error`. `packages/crypto` imports nothing of ours and has its own
 * small base (`CryptoError`).
 */
export class CodedError<Code extends string = ErrorCode> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CodedError';
  }
}

/** A request or message the server refuses, thrown below a handler (the meeting store, rooms). */
export class ProtocolError extends CodedError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'ProtocolError';
  }
}
