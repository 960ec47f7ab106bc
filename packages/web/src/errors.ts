import { ConclaveError } from '@conclave/client';

/** An error as the user reads it: what happened, and what to do next. */
export interface HumanError {
  title: string;
  next: string;
  /** The stable code, for support and tests. */
  code: string;
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
};

/** An HTTP API error body `{v, error: {code, message}}`, or a network failure ('connection_failed'). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function humanError(e: unknown): HumanError {
  const code = e instanceof ConclaveError || e instanceof ApiError ? e.code : 'unknown';
  const known = BY_CODE[code];
  if (known) return { ...known, code };
  const detail = e instanceof Error && e.message ? ` (${e.message})` : '';
  return {
    title: `Something went wrong${detail}.`,
    next: 'Try again. If it keeps happening, reload the page.',
    code,
  };
}
