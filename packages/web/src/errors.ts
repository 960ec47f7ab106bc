import { ConclaveError } from '@conclave/client';

/** An error as the user reads it: what happened, and what to do next. */
export interface HumanError {
  title: string;
  next: string;
  /** The stable code, for support and tests. */
  code: string;
  /** The server's own sentence, where it adds something (how long to wait, why it refused). */
  detail?: string;
}

const BY_CODE: Record<string, Omit<HumanError, 'code'>> = {
  wrong_passcode: {
    title: 'That passcode is not right.',
    next: 'Check the passcode with the host and try again.',
  },
  unknown_meeting: {
    title: 'This meeting does not exist.',
    next: 'Check that the link is complete, or ask the host for a new link.',
  },
  meeting_ended: {
    title: 'This meeting has ended.',
    next: 'Ask the host to start a new meeting and send you its link.',
  },
  meeting_locked: {
    title: 'The host has locked this meeting.',
    next: 'Ask the host to unlock it, then try again.',
  },
  meeting_full: {
    title: 'This meeting is full.',
    next: 'Try again when somebody leaves, or ask the host to raise the limit.',
  },
  rate_limited: {
    title: 'Too many attempts in a short time.',
    next: 'Wait a minute, then try again.',
  },
  denied: {
    title: 'The host did not let you in.',
    next: 'If you think this is a mistake, contact the host and ask to be admitted.',
  },
  connection_failed: {
    title: 'Conclave cannot reach its server.',
    next: 'Check your internet connection, then try again.',
  },
  bad_request: {
    title: 'The server did not accept what this page sent.',
    next: 'Reload the page and try again; if it keeps happening, the server may run a different version.',
  },
  unsupported_version: {
    title: 'This page and the server speak different versions.',
    next: 'Reload the page to get the current version.',
  },
  internal_error: {
    title: 'The server ran into a problem.',
    next: 'Try again in a moment. If it keeps happening, tell whoever runs this server.',
  },
  // Admission and resource limits
  too_many_connections: {
    title: 'Too many connections to this server from your network.',
    next: 'Close other Conclave tabs or windows, wait a few minutes, then try again. On a shared network (an office, a school) other people may be joining too.',
  },
  waiting_room_full: {
    title: 'The waiting room of this meeting is full.',
    next: 'Wait a few minutes until the host has let people in, then try again.',
  },
  passcode_locked: {
    title: 'Joining with the passcode is paused for this meeting.',
    next: 'Too many wrong passcodes were tried. Try again later, or ask the host: changing the passcode ends the pause.',
  },
  media_capacity: {
    title: 'The server has no room for more audio and video right now.',
    next: 'You can stay in the meeting without audio and video: nobody sees or hears you, and you do not see or hear the others. Chat still works. To try again, leave and rejoin in a few minutes.',
  },
  credential_mismatch: {
    title:
      'The server refused this page’s encryption identity: its name or account does not match the key the page sent.',
    next: 'Reload the page and join again. If it keeps happening, tell whoever runs this server.',
  },
  resume_rejected: {
    title: 'The meeting did not take you back after your connection dropped.',
    next: 'The host must let you in again.',
  },
  // Accounts
  unauthenticated: {
    title: 'You are not signed in.',
    next: 'Sign in, or create a free account, to host meetings. Guests can still join any meeting with its link.',
  },
  invalid_credentials: {
    title: 'That e-mail address and password do not match an account.',
    next: 'Check both and try again. No account yet? Create one: it is free.',
  },
  csrf_failed: {
    title: 'The security check of this page failed.',
    next: 'Reload the page and try again (this happens after signing in or out in another tab).',
  },
  risk_denied: {
    title: 'Conclave refused this because it looks unusual for your account.',
    next: 'Try again later, or from a device and network you have used before. With an authenticator app set up on your account page, you can confirm such requests with a code instead.',
  },
  step_up_required: {
    title: 'Please confirm that it is you.',
    next: 'Enter the 6-digit code from your authenticator app, then try again.',
  },
  invalid_totp: {
    title: 'That authenticator code is not right.',
    next: 'Enter the current 6-digit code from your authenticator app. Codes change every 30 seconds and each one works only once.',
  },
  totp_not_enrolled: {
    title: 'Your account has no authenticator app set up.',
    next: 'Set one up on your account page first.',
  },
  totp_already_enabled: {
    title: 'An authenticator app is set up on your account already.',
    next: 'To use another app, turn two-step sign-in off first, then set it up again.',
  },
  e2ee_not_entitled: {
    title: 'Your free account cannot host end-to-end encrypted meetings yet.',
    next: 'Unlock end-to-end encryption once with a free phone check, or create a Standard meeting instead.',
  },
  // The one-time phone check
  invalid_phone_number: {
    title: 'That is not a phone number Conclave can use.',
    next: 'Type the number in international format, starting with + and the country code (for example +44 7400 123456), or give its country.',
  },
  phone_number_refused: {
    title: 'This number cannot be used for the check.',
    next: 'Use a mobile phone number. Premium-rate, internet (VoIP) and landline numbers are not accepted.',
  },
  phone_quota_exceeded: {
    title: 'This number has already unlocked as many accounts as it may this year.',
    next: 'Use another mobile number.',
  },
  wrong_code: {
    title: 'That code is not right.',
    next: 'Check the text message and type its 6 digits again.',
  },
  verification_expired: {
    title: 'This code has expired.',
    next: 'Ask for a new code.',
  },
  too_many_attempts: {
    title: 'Too many wrong codes.',
    next: 'Ask for a new code, then type it carefully.',
  },
  sms_failed: {
    title: 'The text message could not be sent.',
    next: 'Check the number, then try again in a few minutes.',
  },
  invalid_token: {
    title: 'The unlock token did not verify.',
    next: 'Do the phone check again. If it keeps happening, tell whoever runs this server.',
  },
  token_spent: {
    title: 'This unlock token was used already.',
    next: 'Do the phone check again for this account.',
  },
  already_verified: {
    title: 'End-to-end encryption is unlocked for this account already.',
    next: 'You can host end-to-end encrypted meetings now.',
  },
  device_key_conflict: {
    title: 'This device’s key does not match the one registered for it.',
    next: 'Reload the page and try again.',
  },
  // Report a User and moderation
  report_self: {
    title: 'You cannot report yourself.',
    next: 'Choose someone else from the meeting.',
  },
  report_duplicate: {
    title: 'You have reported this person in this meeting already.',
    next: 'The moderators will look at your first report; you see their decision on your account page.',
  },
  message_too_large: {
    title: 'The report is too large to send.',
    next: 'Attach a shorter clip, fewer messages or no screenshot, then send it again.',
  },
  forbidden: {
    title: 'You are not allowed to do this.',
    next: 'Only an administrator of this server (in a meeting: its host) may do this.',
  },
  account_suspended: {
    title: 'This account is suspended by the moderators of this server.',
    next: 'It cannot sign in, host or join meetings until the suspension ends.',
  },
  account_banned: {
    title: 'This account is banned from this server.',
    next: 'It can no longer sign in, host or join meetings here.',
  },
  key_banned: {
    title: 'This device’s encryption key is banned from this server’s meetings.',
    next: 'The moderators of this server banned it.',
  },
  unknown_report: {
    title: 'There is no such report.',
    next: 'Go back to the list of reports.',
  },
  report_decided: {
    title: 'Action was already taken on this report, so it cannot be dismissed.',
    next: 'Reload the report to see what was decided.',
  },
};

/** Codes whose server message says something the fixed text cannot (a wait, the reasons of a refusal). */
const SHOW_SERVER_MESSAGE = new Set([
  'rate_limited',
  'account_suspended',
  'too_many_connections',
  'passcode_locked',
  'risk_denied',
  'phone_number_refused',
  'invalid_phone_number',
]);

/** A `ConclaveError` (SDK, HTTP API or signaling) or anything else thrown, as the user reads it. */
export function humanError(e: unknown): HumanError {
  const code = e instanceof ConclaveError ? e.code : 'unknown';
  const known = BY_CODE[code];
  if (known) {
    const detail = SHOW_SERVER_MESSAGE.has(code) && e instanceof Error && e.message ? e.message : undefined;
    return detail ? { ...known, code, detail } : { ...known, code };
  }
  const detail = e instanceof Error && e.message ? ` (${e.message})` : '';
  return {
    title: `Something went wrong${detail}.`,
    next: 'Try again. If it keeps happening, reload the page.',
    code,
  };
}

/** True when `e` is a ConclaveError with one of `codes`. */
export function hasCode(e: unknown, ...codes: string[]): boolean {
  return e instanceof ConclaveError && codes.includes(e.code);
}
