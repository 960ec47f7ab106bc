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
import { UnknownEmailFailures } from '../../src/risk/unknown-emails.js';

const HOUR = 3_600_000;

/** Attempts that raise nothing: known device and network, no failures, no reports. */
const calm: Record<RiskAction, RiskFacts> = {
  signin_attempt: {
    knownDevice: true,
    knownNetwork: true,
    accountFailures: 0,
    accountFailuresElsewhere: 0,
    networkFailures: 0,
    secondFactor: false,
  },
  signin: { knownDevice: true, knownNetwork: true, openReports: 0, secondFactor: false },
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
  // sign-in, before the password (the same for every e-mail: the second factor is not looked at)
  {
    name: 'nothing unusual',
    action: 'signin_attempt',
    facts: {},
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: 'new device and network (a new phone abroad, or an e-mail without an account)',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false },
    score: 30,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork'],
  },
  {
    name: '… plus one mistyped password: the first failure is free',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 1 },
    score: 30,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork'],
  },
  {
    name: '… plus two from this network: the password alone is not enough',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 2 },
    score: 40,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailures'],
  },
  {
    name: '… the same with TOTP enrolled (not looked at before the password)',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 2, secondFactor: true },
    score: 40,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailures'],
  },
  {
    name: 'guessing from one network: five failures there refuse it',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 5, networkFailures: 5 },
    score: 80,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailures', 'networkFailures'],
  },
  {
    name: '… also with TOTP enrolled',
    action: 'signin_attempt',
    facts: {
      knownDevice: false,
      knownNetwork: false,
      accountFailures: 5,
      networkFailures: 5,
      secondFactor: true,
    },
    score: 80,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailures', 'networkFailures'],
  },
  {
    name: 'the owner mistyping twice on a known device',
    action: 'signin_attempt',
    facts: { accountFailures: 2 },
    score: 10,
    decision: 'allow',
    signals: ['accountFailures'],
  },
  {
    name: 'failures from other networks do not count on a known device',
    action: 'signin_attempt',
    facts: { accountFailuresElsewhere: 50 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: '… nor for a new device on a known network',
    action: 'signin_attempt',
    facts: { knownDevice: false, accountFailuresElsewhere: 50 },
    score: 15,
    decision: 'allow',
    signals: ['newDevice'],
  },
  {
    name: 'new device and network, 4 failures elsewhere: the password is enough',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailuresElsewhere: 4 },
    score: 35,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork', 'accountFailuresElsewhere'],
  },
  {
    name: 'new device and network, 5 failures elsewhere: the code with the password',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailuresElsewhere: 5 },
    score: 40,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailuresElsewhere'],
  },
  {
    name: 'failures elsewhere past the deny score: a step-up, never a refusal',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailuresElsewhere: 20 },
    score: 90,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailuresElsewhere', 'failures_elsewhere'],
  },
  {
    name: '… also on top of a busy network, as long as the network alone does not refuse',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailuresElsewhere: 20, networkFailures: 11 },
    score: 130,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'accountFailuresElsewhere', 'networkFailures', 'failures_elsewhere'],
  },
  {
    name: 'a real distributed brute force (30 failures): new devices on new networks are refused',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailuresElsewhere: 30, secondFactor: true },
    score: 90,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailuresElsewhere', 'lockout'],
  },
  {
    name: '… counting this network’s failures too',
    action: 'signin_attempt',
    facts: { knownDevice: false, knownNetwork: false, accountFailures: 3, accountFailuresElsewhere: 27 },
    score: 110,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'accountFailures', 'accountFailuresElsewhere', 'lockout'],
  },
  {
    name: '… while the owner’s known device still signs in',
    action: 'signin_attempt',
    facts: { knownNetwork: false, accountFailuresElsewhere: 500 },
    score: 15,
    decision: 'allow',
    signals: ['newNetwork'],
  },
  {
    name: '3 network failures are free',
    action: 'signin_attempt',
    facts: { networkFailures: 3 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: '11 network failures: the code with the password',
    action: 'signin_attempt',
    facts: { networkFailures: 11 },
    score: 40,
    decision: 'step_up',
    signals: ['networkFailures'],
  },
  {
    name: 'a credential-stuffing network (+ new device and network): deny',
    action: 'signin_attempt',
    facts: { networkFailures: 100, knownDevice: false, knownNetwork: false, secondFactor: true },
    score: 90,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'networkFailures'],
  },
  // sign-in, after the right password
  { name: 'nothing unusual', action: 'signin', facts: {}, score: 0, decision: 'allow', signals: [] },
  {
    name: 'new device',
    action: 'signin',
    facts: { knownDevice: false, secondFactor: true },
    score: 15,
    decision: 'allow',
    signals: ['newDevice'],
  },
  {
    name: 'new network',
    action: 'signin',
    facts: { knownNetwork: false, secondFactor: true },
    score: 15,
    decision: 'allow',
    signals: ['newNetwork'],
  },
  {
    name: 'new device and network without TOTP: the password is all there is',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false },
    score: 30,
    decision: 'allow',
    signals: ['newDevice', 'newNetwork'],
  },
  {
    name: 'new device and network with TOTP: always a step-up (a phished password is not enough)',
    action: 'signin',
    facts: { knownDevice: false, knownNetwork: false, secondFactor: true },
    score: 30,
    decision: 'step_up',
    signals: ['newDevice', 'newNetwork', 'new_device_and_network'],
  },
  {
    name: 'failures do not count once the password is right (they counted before it)',
    action: 'signin',
    facts: { accountFailures: 50, accountFailuresElsewhere: 50, networkFailures: 100 },
    score: 0,
    decision: 'allow',
    signals: [],
  },
  {
    name: 'two open reports: step-up',
    action: 'signin',
    facts: { openReports: 2, secondFactor: true },
    score: 50,
    decision: 'step_up',
    signals: ['openReports'],
  },
  {
    name: 'two open reports without TOTP: deny',
    action: 'signin',
    facts: { openReports: 2 },
    score: 50,
    decision: 'deny',
    signals: ['openReports', 'no_second_factor'],
  },
  {
    name: 'a deny stays a deny from a new device and network with TOTP',
    action: 'signin',
    facts: { openReports: 4, knownDevice: false, knownNetwork: false, secondFactor: true },
    score: 130,
    decision: 'deny',
    signals: ['newDevice', 'newNetwork', 'openReports'],
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

  it('a missing fact adds nothing', () => {
    const a = assessRisk('signin_attempt', { networkFailures: 0, secondFactor: false });
    expect(a).toMatchObject({ score: 0, decision: 'allow', reasons: [] });
  });

  it('before the password, neither the second factor nor reports change anything (they would tell an account apart)', () => {
    const counts = [0, 1, 2, 3, 5, 8, 13, 20, 29, 30, 60];
    let compared = 0;
    for (const known of [true, false])
      for (const accountFailures of counts)
        for (const accountFailuresElsewhere of counts)
          for (const networkFailures of [0, 4, 11, 100]) {
            const facts = {
              knownDevice: known,
              knownNetwork: known,
              accountFailures,
              accountFailuresElsewhere,
              networkFailures,
            };
            const plain = assessRisk('signin_attempt', { ...facts, secondFactor: false });
            const account = assessRisk('signin_attempt', { ...facts, secondFactor: true, openReports: 4 });
            expect(account).toEqual(plain);
            compared++;
          }
    expect(compared).toBe(2 * counts.length * counts.length * 4);
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

describe('failed sign-ins of e-mails without an account (memory only)', () => {
  it('counts them per e-mail (any case), this network apart from the others, within the window', () => {
    let now = 1_000_000;
    const log = new UnknownEmailFailures(15 * 60_000, () => now);
    log.record('Nobody@Example.org', '192.0.2.0/24');
    log.record('nobody@example.org', '192.0.2.0/24');
    log.record('nobody@example.org', '198.51.100.0/24');
    log.record('other@example.org', '192.0.2.0/24');
    expect(log.count('nobody@example.org', '192.0.2.0/24')).toEqual({ here: 2, elsewhere: 1 });
    expect(log.count('NOBODY@example.org', '198.51.100.0/24')).toEqual({ here: 1, elsewhere: 2 });
    expect(log.count('third@example.org', '192.0.2.0/24')).toEqual({ here: 0, elsewhere: 0 });
    now += 10 * 60_000;
    log.record('nobody@example.org', '203.0.113.0/24');
    now += 6 * 60_000;
    // The first three are 16 minutes old now.
    expect(log.count('nobody@example.org', '192.0.2.0/24')).toEqual({ here: 0, elsewhere: 1 });
    expect(log.count('other@example.org', '192.0.2.0/24')).toEqual({ here: 0, elsewhere: 0 });
  });

  it('keeps a bounded number of e-mails, dropping the ones whose last failure is oldest', () => {
    const log = new UnknownEmailFailures(15 * 60_000, () => 0, 3);
    for (const e of ['a', 'b', 'c']) log.record(`${e}@example.org`, 'net');
    log.record('a@example.org', 'net');
    log.record('d@example.org', 'net');
    expect(log.count('b@example.org', 'net').here).toBe(0);
    expect(log.count('a@example.org', 'net').here).toBe(2);
    expect(log.count('c@example.org', 'net').here).toBe(1);
    expect(log.count('d@example.org', 'net').here).toBe(1);
  });
});
