/**
 * Every weight and threshold of the risk engine, in one object. A decision is the sum of the
 * points of the signals that apply to the action, then the rules below:
 *
 *   score >= thresholds.deny    → deny
 *   score >= thresholds.stepUp  → step_up (a TOTP code), or deny when the account has no
 *                                 second factor (and always for sign-up: there is none yet)
 *   otherwise                   → allow
 *
 * A sign-in is assessed twice (engine.ts):
 * - `signin_attempt`, before the password, from facts every e-mail has whether it has an
 *   account or not (an e-mail without one has a new device and network, and its failures are
 *   counted in memory: risk/unknown-emails.ts), so the answer says nothing about the account.
 *   It ignores the second factor: the scores above mean deny; step_up ("the password alone is
 *   not enough": the client sends the TOTP code with the password, which an account without
 *   TOTP cannot do); allow (the password is checked). Two rules on top: failures from other
 *   networks never make it a deny (a step-up instead) unless the e-mail has
 *   `thresholds.lockoutFailures` failed steps in the window, which refuses every new device on
 *   a new network; failures from other networks count only for a new device on a new network.
 * - `signin`, after the right password, from the account: the scores above, and a new device
 *   on a new network of an account with TOTP always steps up (a phished password is not
 *   enough), whatever lower score it has.
 *
 * Defaults and what they mean (windows: failures 15 min, sign-ups 24 h):
 *
 * | signal                   | points                                                        | counts for            |
 * |--------------------------|---------------------------------------------------------------|-----------------------|
 * | newDevice                | 15: this device cookie never signed in to the account         | signin_attempt, signin |
 * | newNetwork               | 15: this IPv4 /24 or IPv6 /64 never did either                | signin_attempt, signin, verification |
 * | accountFailures          | 10 per failed sign-in step for the e-mail from this network beyond the first, max 60 | signin_attempt |
 * | accountFailuresElsewhere | 5 per failed sign-in step for the e-mail from other networks beyond the first 3, max 60; only for a new device on a new network | signin_attempt |
 * | networkFailures          | 5 per failed step from the network beyond the first 3, max 60 | all but signin        |
 * | networkSignups           | 15 per earlier sign-up from the network beyond 3, max 60      | signup                |
 * | newAccount               | 20: the account is younger than 24 h                          | verification, meeting |
 * | openReports              | 25 per open report, max 100                                   | signin, verification, meeting |
 * | disposableEmail          | 30: the e-mail domain is on the disposable list               | signup, verification  |
 *
 * ("verification" = verification_start, "meeting" = meeting_create; the exact lists are in
 * `actions` below; "failed sign-in steps" are wrong passwords, unknown e-mails and wrong TOTP
 * codes of sign-ins.) Thresholds: step_up at 40, deny at 80, lockout at 30 failed steps.
 * So, by default:
 * - a new phone on a new network signs in with the password (30) — with a TOTP code too when
 *   the account has TOTP; after two wrong passwords from its network (40) the password alone is
 *   not enough (without TOTP: wait 15 min, or use a known device or network); after five
 *   (80) that network is refused for the e-mail;
 * - failures from other networks: none count for a known device or a known network (the
 *   owner's laptop at home is never locked out by somebody else's guesses); for a new device
 *   on a new network, 5 or more ask for the code with the password, 30 or more refuse;
 * - password guessing against an e-mail or from a network is stopped within a few tries, and
 *   the answers are the same whether the e-mail has an account;
 * - up to 4 sign-ups a day from one network pass, the 5th and 6th only with a normal e-mail
 *   address, the 7th is refused; a disposable address alone (30) may sign up;
 * - an account less than a day old with a disposable address (50) needs TOTP to start the
 *   phone check; two open reports (50) need TOTP for anything, four (100) are refused.
 */
export interface RiskConfig {
  /** `lockoutFailures`: failed sign-in steps of an e-mail (all networks) that refuse new devices on new networks. */
  thresholds: { stepUp: number; deny: number; lockoutFailures: number };
  windows: { failuresMs: number; signupsMs: number };
  signals: {
    newDevice: { points: number };
    newNetwork: { points: number };
    accountFailures: PerCount;
    accountFailuresElsewhere: PerCount;
    networkFailures: PerCount;
    networkSignups: PerCount;
    newAccount: { points: number; youngerThanMs: number };
    openReports: PerCount;
    disposableEmail: { points: number };
  };
  /** Which signals count for which action. */
  actions: Record<RiskAction, readonly RiskSignal[]>;
}

/** `pointsEach` for every count above `free`, capped at `max`. */
export interface PerCount {
  free: number;
  pointsEach: number;
  max: number;
}

/** `signin_attempt`: a sign-in before its password is checked; `signin`: after the right password. */
export const RISK_ACTIONS = [
  'signin_attempt',
  'signin',
  'signup',
  'verification_start',
  'meeting_create',
] as const;
export type RiskAction = (typeof RISK_ACTIONS)[number];

export type RiskSignal = keyof RiskConfig['signals'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const DEFAULT_RISK_CONFIG: RiskConfig = {
  thresholds: { stepUp: 40, deny: 80, lockoutFailures: 30 },
  windows: { failuresMs: 15 * MINUTE, signupsMs: 24 * HOUR },
  signals: {
    newDevice: { points: 15 },
    newNetwork: { points: 15 },
    accountFailures: { free: 1, pointsEach: 10, max: 60 },
    accountFailuresElsewhere: { free: 3, pointsEach: 5, max: 60 },
    networkFailures: { free: 3, pointsEach: 5, max: 60 },
    networkSignups: { free: 3, pointsEach: 15, max: 60 },
    newAccount: { points: 20, youngerThanMs: 24 * HOUR },
    openReports: { free: 0, pointsEach: 25, max: 100 },
    disposableEmail: { points: 30 },
  },
  actions: {
    signin_attempt: [
      'newDevice',
      'newNetwork',
      'accountFailures',
      'accountFailuresElsewhere',
      'networkFailures',
    ],
    signin: ['newDevice', 'newNetwork', 'openReports'],
    signup: ['networkFailures', 'networkSignups', 'disposableEmail'],
    verification_start: ['newNetwork', 'networkFailures', 'newAccount', 'openReports', 'disposableEmail'],
    meeting_create: ['networkFailures', 'newAccount', 'openReports'],
  },
};

/** `DEFAULT_RISK_CONFIG` with some parts replaced (tests, operators). */
export function riskConfig(
  overrides: {
    thresholds?: Partial<RiskConfig['thresholds']>;
    windows?: Partial<RiskConfig['windows']>;
    signals?: Partial<RiskConfig['signals']>;
    actions?: Partial<RiskConfig['actions']>;
  } = {},
): RiskConfig {
  const d = DEFAULT_RISK_CONFIG;
  return {
    thresholds: { ...d.thresholds, ...overrides.thresholds },
    windows: { ...d.windows, ...overrides.windows },
    signals: { ...d.signals, ...overrides.signals },
    actions: { ...d.actions, ...overrides.actions },
  };
}
