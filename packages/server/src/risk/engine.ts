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
  /** Failed sign-in steps (password, TOTP) of this account in the failure window. */
  accountFailures?: number;
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

/** `no_second_factor` marks a step-up turned into a denial. */
export interface RiskReason {
  signal: RiskSignal | 'no_second_factor';
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
            `${f.accountFailures} failed sign-in steps for this account in ${failureWindow}`,
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
  let decision: RiskDecision =
    score >= config.thresholds.deny ? 'deny' : score >= config.thresholds.stepUp ? 'step_up' : 'allow';
  if (decision === 'step_up' && (action === 'signup' || !facts.secondFactor)) {
    decision = 'deny';
    reasons.push({
      signal: 'no_second_factor',
      points: 0,
      detail:
        action === 'signup'
          ? 'a sign-up has no second factor to ask for'
          : 'a second factor would be needed and the account has none (enrol TOTP)',
    });
  }
  return { action, score, decision, reasons };
}
