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
