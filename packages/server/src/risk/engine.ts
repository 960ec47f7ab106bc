import {
  DEFAULT_RISK_CONFIG,
  type PerCount,
  type RiskAction,
  type RiskConfig,
  type RiskSignal,
} from './config.js';

export type RiskDecision = 'allow' | 'step_up' | 'deny';

/**
 * What is known about one attempt. A signal counts only when its action lists it (config.ts)
 * and its fact is present; a missing fact (e.g. no account yet at sign-up) adds nothing.
 */
export interface RiskFacts {
  /** The device cookie has signed in to this account before. */
  knownDevice?: boolean;
  /** The client's network (IPv4 /24, IPv6 /64) has signed in to this account before. */
  knownNetwork?: boolean;
  /**
   * Failed sign-in steps (wrong password or TOTP code, unknown e-mail) for this e-mail from this
   * network in the failure window: of the account, or of the e-mail when it has none.
   */
  accountFailures?: number;
  /** The same from every other network. */
  accountFailuresElsewhere?: number;
  /** Failed sign-in steps from this network in the failure window. */
  networkFailures?: number;
  /** Sign-ups from this network in the sign-up window (before this one). */
  networkSignups?: number;
  accountAgeMs?: number;
  openReports?: number;
  disposableEmail?: boolean;
  /** The account has a second factor (TOTP) it can be asked for. */
  secondFactor: boolean;
}

/**
 * A rule on top of the score (config.ts), recorded with the reasons (0 points):
 * - `no_second_factor`: a step-up turned into a denial (no TOTP, or a sign-up);
 * - `new_device_and_network`: a sign-in of an account with TOTP from a new device on a new
 *   network, stepped up whatever its score;
 * - `failures_elsewhere`: a sign-in attempt that only failures from other networks made a
 *   denial, stepped up instead;
 * - `lockout`: a new device on a new network while the e-mail has `lockoutFailures` failures.
 */
export type RiskRule = 'no_second_factor' | 'new_device_and_network' | 'failures_elsewhere' | 'lockout';

export interface RiskReason {
  signal: RiskSignal | RiskRule;
  points: number;
  detail: string;
}

export interface RiskAssessment {
  action: RiskAction;
  score: number;
  decision: RiskDecision;
  reasons: RiskReason[];
}

function perCount(rule: PerCount, count: number): number {
  return Math.min(rule.max, Math.max(0, count - rule.free) * rule.pointsEach);
}

/** Neither the device nor the network has signed in to the account (always so without an account). */
function untrusted(f: RiskFacts): boolean {
  return f.knownDevice === false && f.knownNetwork === false;
}

function hours(ms: number): string {
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
}

/** The points and explanation of one signal, or undefined when it does not fire. */
function evaluate(signal: RiskSignal, f: RiskFacts, c: RiskConfig): RiskReason | undefined {
  const s = c.signals;
  const failureWindow = `${Math.round(c.windows.failuresMs / 60_000)} min`;
  const fire = (points: number, detail: string): RiskReason | undefined =>
    points > 0 ? { signal, points, detail } : undefined;
  switch (signal) {
    case 'newDevice':
      return f.knownDevice === false ? fire(s.newDevice.points, 'first sign-in from this device') : undefined;
    case 'newNetwork':
      return f.knownNetwork === false
        ? fire(s.newNetwork.points, 'first sign-in from this network')
        : undefined;
    case 'accountFailures':
      return f.accountFailures === undefined
        ? undefined
        : fire(
            perCount(s.accountFailures, f.accountFailures),
            `${f.accountFailures} failed sign-in steps from this network in ${failureWindow}`,
          );
    case 'accountFailuresElsewhere':
      // Only a new device on a new network: somebody else's guesses never lock the owner's
      // known device or network out.
      return f.accountFailuresElsewhere === undefined || !untrusted(f)
        ? undefined
        : fire(
            perCount(s.accountFailuresElsewhere, f.accountFailuresElsewhere),
            `${f.accountFailuresElsewhere} failed sign-in steps from other networks in ${failureWindow}`,
          );
    case 'networkFailures':
      return f.networkFailures === undefined
        ? undefined
        : fire(
            perCount(s.networkFailures, f.networkFailures),
            `${f.networkFailures} failed sign-in steps from this network in ${failureWindow}`,
          );
    case 'networkSignups':
      return f.networkSignups === undefined
        ? undefined
        : fire(
            perCount(s.networkSignups, f.networkSignups),
            `${f.networkSignups} sign-ups from this network in ${hours(c.windows.signupsMs)}`,
          );
    case 'newAccount':
      return f.accountAgeMs !== undefined && f.accountAgeMs < s.newAccount.youngerThanMs
        ? fire(s.newAccount.points, `account is ${hours(f.accountAgeMs)} old`)
        : undefined;
    case 'openReports':
      return f.openReports === undefined
        ? undefined
        : fire(perCount(s.openReports, f.openReports), `${f.openReports} open reports against this account`);
    case 'disposableEmail':
      return f.disposableEmail ? fire(s.disposableEmail.points, 'disposable e-mail domain') : undefined;
  }
}

/**
 * Scores one attempt. Pure: the same facts and configuration give the same answer, so every
 * decision can be explained from its reasons (they are stored with it in `auth_events`).
 * The rules on top of the score are in config.ts's comment.
 */
export function assessRisk(
  action: RiskAction,
  facts: RiskFacts,
  config: RiskConfig = DEFAULT_RISK_CONFIG,
): RiskAssessment {
  const reasons: RiskReason[] = [];
  for (const signal of config.actions[action]) {
    const reason = evaluate(signal, facts, config);
    if (reason) reasons.push(reason);
  }
  const score = reasons.reduce((sum, r) => sum + r.points, 0);
  const t = config.thresholds;
  const rule = (signal: RiskRule, detail: string) => reasons.push({ signal, points: 0, detail });
  let decision: RiskDecision = score >= t.deny ? 'deny' : score >= t.stepUp ? 'step_up' : 'allow';

  if (action === 'signin_attempt') {
    // Before the password: nothing of the account may matter but what every e-mail has, so the
    // second factor is not looked at (a step-up here asks for the code with the password).
    const failures = (facts.accountFailures ?? 0) + (facts.accountFailuresElsewhere ?? 0);
    const elsewhere = reasons.find((r) => r.signal === 'accountFailuresElsewhere')?.points ?? 0;
    if (untrusted(facts) && failures >= t.lockoutFailures) {
      decision = 'deny';
      rule('lockout', `${failures} failed sign-in steps for this e-mail: new devices on new networks wait`);
    } else if (decision === 'deny' && score - elsewhere < t.deny) {
      decision = 'step_up';
      rule('failures_elsewhere', 'failures from other networks ask for the second factor, never refuse');
    }
    return { action, score, decision, reasons };
  }

  if (action === 'signin' && facts.secondFactor && untrusted(facts) && decision === 'allow') {
    decision = 'step_up';
    rule('new_device_and_network', 'a new device on a new network needs the second factor');
  }
  if (decision === 'step_up' && (action === 'signup' || !facts.secondFactor)) {
    decision = 'deny';
    rule(
      'no_second_factor',
      action === 'signup'
        ? 'a sign-up has no second factor to ask for'
        : 'a second factor would be needed and the account has none (enrol TOTP)',
    );
  }
  return { action, score, decision, reasons };
}
