/**
 * Stable error codes. Clients switch on `code`; `message` is a human sentence for logs and UI.
 * Never renumber or rename: add new codes instead.
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
  'email_taken',
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
  'resume_rejected',
  // The MLS group (docs/architecture.md, "The MLS group"):
  'invalid_commit', // a commit that does not verify or breaks the group policy (not fanned out)
  'not_your_turn', // a commit from a member the delivery service did not ask, or for something it did not ask
  'commit_pending', // the previous commit is still being confirmed by the members: wait for the next request
  'duplicate_device', // this device (its MLS signature key) is already in the meeting
  'group_violation', // this member sent a commit the other members could not process: it leaves the group // the resume token expired, was revoked, or belongs to another device
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
