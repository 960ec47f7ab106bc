/**
 * Every weight and threshold of the risk engine, in one object. A decision is the sum of the
 * points of the signals that apply to the action:
 *
 *   score >= thresholds.deny    → deny
 *   score >= thresholds.stepUp  → step_up (a TOTP code), or deny when the account has no
 *                                 second factor (and always for sign-up: there is none yet)
 *   otherwise                   → allow
 *
 * Defaults and what they mean (windows: failures 15 min, sign-ups 24 h):
 *
 * | signal          | points                                              | counts for             |
 * |-----------------|-----------------------------------------------------|------------------------|
 * | newDevice       | 15: this device cookie never signed in to the account | signin               |
 * | newNetwork      | 15: this IPv4 /24 or IPv6 /64 never did either      | signin, verification   |
 * | accountFailures | 10 per failed sign-in step of the account beyond the first, max 60 | signin  |
 * | networkFailures | 5 per failed step from the network beyond the first 3, max 60 | all four     |
 * | networkSignups  | 15 per earlier sign-up from the network beyond 3, max 60 | signup            |
 * | newAccount      | 20: the account is younger than 24 h                | verification, meeting  |
 * | openReports     | 25 per open report, max 100                         | signin, verification, meeting |
 * | disposableEmail | 30: the e-mail domain is on the disposable list     | signup, verification   |
 *
 * ("verification" = verification_start, "meeting" = meeting_create; the exact lists are in
 * `actions` below.) Thresholds: step_up at 40, deny at 80. So, by default:
 * - a new phone on a new network signs in (30), even after one mistyped password; after two
 *   (40) it needs TOTP, and without TOTP it is refused until the failures are 15 min old;
 * - password guessing against an account or from a network is stopped within a few tries;
 * - up to 4 sign-ups a day from one network pass, the 5th and 6th only with a normal e-mail
 *   address, the 7th is refused; a disposable address alone (30) may sign up;
 * - an account less than a day old with a disposable address (50) needs TOTP to start the
 *   phone check; two open reports (50) need TOTP for anything, four (100) are refused.
 */
export interface RiskConfig {
  thresholds: { stepUp: number; deny: number };
  windows: { failuresMs: number; signupsMs: number };
  signals: {
    newDevice: { points: number };
    newNetwork: { points: number };
    accountFailures: PerCount;
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

export const RISK_ACTIONS = ['signin', 'signup', 'verification_start', 'meeting_create'] as const;
export type RiskAction = (typeof RISK_ACTIONS)[number];

export type RiskSignal = keyof RiskConfig['signals'];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const DEFAULT_RISK_CONFIG: RiskConfig = {
  thresholds: { stepUp: 40, deny: 80 },
  windows: { failuresMs: 15 * MINUTE, signupsMs: 24 * HOUR },
  signals: {
    newDevice: { points: 15 },
    newNetwork: { points: 15 },
    accountFailures: { free: 1, pointsEach: 10, max: 60 },
    networkFailures: { free: 3, pointsEach: 5, max: 60 },
    networkSignups: { free: 3, pointsEach: 15, max: 60 },
    newAccount: { points: 20, youngerThanMs: 24 * HOUR },
    openReports: { free: 0, pointsEach: 25, max: 100 },
    disposableEmail: { points: 30 },
  },
  actions: {
    signin: ['newDevice', 'newNetwork', 'accountFailures', 'networkFailures', 'openReports'],
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
