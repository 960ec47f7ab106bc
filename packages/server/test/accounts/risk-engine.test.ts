import { describe, expect, it } from 'vitest';
import {
  assessRisk,
  DEFAULT_RISK_CONFIG,
  ipPrefix,
  isDisposableEmail,
  riskConfig,
  type RiskAction,
  type RiskDecision,
  type RiskFacts,
} from '../../src/index.js';

const HOUR = 3_600_000;

/** A sign-in that raises nothing: known device and network, no failures, no reports. */
const calm: Record<RiskAction, RiskFacts> = {
  signin: {
    knownDevice: true,
    knownNetwork: true,
    accountFailures: 0,
    networkFailures: 0,
    openReports: 0,
    secondFactor: false,
  },
  signup: { networkFailures: 0, networkSignups: 0, disposableEmail: false, secondFactor: false },
  verification_start: {
    knownNetwork: true,
    networkFailures: 0,
    accountAgeMs: 30 * 24 * HOUR,
    openReports: 0,
    disposableEmail: false,
    secondFactor: false,
  },
  meeting_create: { networkFailures: 0, accountAgeMs: 30 * 24 * HOUR, openReports: 0, secondFactor: false },
};

interface Row {
  name: string;
  action: RiskAction;
  facts: Partial<RiskFacts>;
  score: number;
  decision: RiskDecision;
  /** Signals expected among the reasons (in order). */
  signals: string[];
}

// Each row changes the calm facts of its action; the expected numbers follow from the
// documented defaults in risk/config.ts (step-up at 40, deny at 80).
const ROWS: Row[] = [
  // sign-in
  { name: 'nothing unusual', action: 'signin', facts: {}, score: 0, decision: 'allow', signals: [] },
  {
    name: 'new device',
    action: 'signin',
    facts: { knownDevice: false },
    score: 15,
    decision: 'allow',
    signals: ['newDevice'],
  },
  {
    name: 'new network',
    action: 'signin',
    facts: { knownNetwork: false },
    score: 15,
    decision: 'allow',
    signals: ['newNetwork'],
  },
  {
    name: 'new device and network (a new phone abroad) still signs in',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false },
    score: 30,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork'],
  },
  {
    name: '… plus one mistyped password: still allowed (the first failure is free)',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 1 },
    score: 30,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork'],
  },
  {
    name: '… plus two failed attempts: step-up, with TOTP',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 2, secondFactor: true },
    score: 40,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailures'],
  },
  {
    name: '… the same without TOTP is denied',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 2, secondFactor: false },
    score: 40,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailures', 'no_second_factor'],
  },
  {
    name: '4 account failures',
    action: 'signin',
    facts: { accountFailures: 4 },
    score: 30,
    decision: 'allow',
    signals: ['accountFailures'],
  },
  {
    name: '5 account failures: step-up',
    action: 'signin',
    facts: { accountFailures: 5, secondFactor: true },
    score: 40,
    decision: 'step_up',
    signals: ['accountFailures'],
  },
  {
    name: 'account failures are capped at 60',
    action: 'signin',
    facts: { accountFailures: 50, secondFactor: true },
    score: 60,
    decision: 'step_up',
    signals: ['accountFailures'],
  },
  {
    name: 'capped failures from a new device and network: deny even with TOTP',
    action: 'signin',
    facts: { accountFailures: 50, knownDevice: false, knownNetwork: false, secondFactor: true },
    score: 90,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailures'],
  },
  {
    name: '3 network failures are free',
    action: 'signin',
    facts: { networkFailures: 3 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: '11 network failures',
    action: 'signin',
    facts: { networkFailures: 11, secondFactor: true },
    score: 40,
    decision: 'step_up',
    signals: ['networkFailures'],
  },
  {
    name: 'a credential-stuffing network (+ new device and network): deny',
    action: 'signin',
    facts: { networkFailures: 100, knownDevice: false, knownNetwork: false, secondFactor: true },
    score: 90,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'networkFailures'],
  },
  {
    name: 'two open reports: step-up',
    action: 'signin',
    facts: { openReports: 2, secondFactor: true },
    score: 50,
    decision: 'step_up',
    signals: ['openReports'],
  },
  // sign-up
  { name: 'plain sign-up', action: 'signup', facts: {}, score: 0, decision: 'allow', signals: [] },
  {
    name: 'disposable e-mail alone may sign up',
    action: 'signup',
    facts: { disposableEmail: true },
    score: 30,
    decision: 'allow',
    signals: ['disposableEmail'],
  },
  {
    name: '3 sign-ups from the network are free',
    action: 'signup',
    facts: { networkSignups: 3 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: '5 earlier sign-ups from the network',
    action: 'signup',
    facts: { networkSignups: 5 },
    score: 30,
    decision: 'allow',
    signals: ['networkSignups'],
  },
  {
    name: '6 earlier sign-ups from the network: no second factor at sign-up, so deny',
    action: 'signup',
    facts: { networkSignups: 6 },
    score: 45,
    decision: 'deny',
    signals: ['networkSignups', 'no_second_factor'],
  },
  {
    name: 'disposable e-mail from a busy network: deny',
    action: 'signup',
    facts: { disposableEmail: true, networkSignups: 4 },
    score: 45,
    decision: 'deny',
    signals: ['networkSignups', 'disposableEmail', 'no_second_factor'],
  },
  {
    name: 'sign-ups are capped at 60, plus disposable: deny outright',
    action: 'signup',
    facts: { disposableEmail: true, networkSignups: 100 },
    score: 90,
    decision: 'deny',
    signals: ['networkSignups', 'disposableEmail'],
  },
  {
    name: 'device/network novelty does not count at sign-up',
    action: 'signup',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 9 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  // verification start
  {
    name: 'established account',
    action: 'verification_start',
    facts: {},
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: 'account younger than a day',
    action: 'verification_start',
    facts: { accountAgeMs: 2 * HOUR },
    score: 20,
    decision: 'allow',
    signals: ['newAccount'],
  },
  {
    name: 'new account with a disposable e-mail: step-up',
    action: 'verification_start',
    facts: { accountAgeMs: 2 * HOUR, disposableEmail: true, secondFactor: true },
    score: 50,
    decision: 'step_up',
    signals: ['newAccount', 'disposableEmail'],
  },
  {
    name: 'new account, disposable e-mail, new network, no TOTP: deny',
    action: 'verification_start',
    facts: { accountAgeMs: 2 * HOUR, disposableEmail: true, knownNetwork: false },
    score: 65,
    decision: 'deny',
    signals: ['newNetwork', 'newAccount', 'disposableEmail', 'no_second_factor'],
  },
  {
    name: 'four open reports: deny',
    action: 'verification_start',
    facts: { openReports: 4, secondFactor: true },
    score: 100,
    decision: 'deny',
    signals: ['openReports'],
  },
  // meeting creation
  {
    name: 'established account',
    action: 'meeting_create',
    facts: {},
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: 'new account alone',
    action: 'meeting_create',
    facts: { accountAgeMs: HOUR },
    score: 20,
    decision: 'allow',
    signals: ['newAccount'],
  },
  {
    name: 'new account with an open report: step-up',
    action: 'meeting_create',
    facts: { accountAgeMs: HOUR, openReports: 1, secondFactor: true },
    score: 45,
    decision: 'step_up',
    signals: ['newAccount', 'openReports'],
  },
  {
    name: 'disposable e-mail does not count for meetings',
    action: 'meeting_create',
    facts: { disposableEmail: true },
    score: 0,
    decision: 'allow',
    signals: [],
  },
];

describe('risk engine (DEFAULT_RISK_CONFIG)', () => {
  it.each(ROWS)('$action: $name → $decision ($score)', (row) => {
    const a = assessRisk(row.action, { ...calm[row.action], ...row.facts });
    expect(a.score).toBe(row.score);
    expect(a.decision).toBe(row.decision);
    expect(a.reasons.map((r) => r.signal)).toEqual(row.signals);
    for (const r of a.reasons) expect(r.detail.length).toBeGreaterThan(0);
    expect(a.reasons.reduce((s, r) => s + r.points, 0)).toBe(a.score);
  });

  it('a missing fact adds nothing (sign-in of an unknown e-mail)', () => {
    const a = assessRisk('signin', { networkFailures: 0, secondFactor: false });
    expect(a).toMatchObject({ score: 0, decision: 'allow', reasons: [] });
  });

  it('thresholds and weights come from the one configuration object', () => {
    const strict = riskConfig({ thresholds: { stepUp: 10 }, signals: { newDevice: { points: 50 } } });
    expect(
      assessRisk('signin', { ...calm.signin, knownDevice: false, secondFactor: true }, strict),
    ).toMatchObject({
      score: 50,
      decision: 'step_up',
    });
    expect(assessRisk('signin', { ...calm.signin, knownDevice: false }, DEFAULT_RISK_CONFIG).decision).toBe(
      'allow',
    );
    const noDevice = riskConfig({ actions: { signin: ['newNetwork'] } });
    expect(assessRisk('signin', { ...calm.signin, knownDevice: false }, noDevice).score).toBe(0);
  });
});

describe('risk signals helpers', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:203.0.113.77', '203.0.113.0/24'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
  ])('ipPrefix(%s) = %s', (ip, prefix) => {
    expect(ipPrefix(ip)).toBe(prefix);
  });

  it('knows disposable e-mail domains (and their subdomains) from the maintained list', () => {
    expect(isDisposableEmail('someone@guerrillamail.com')).toBe(true);
    expect(isDisposableEmail('someone@x.guerrillamail.com')).toBe(true);
    expect(isDisposableEmail('someone@GuerrillaMail.COM')).toBe(true);
    expect(isDisposableEmail('someone@example.org')).toBe(false);
    expect(isDisposableEmail('someone@gmail.com')).toBe(false);
  });
});
