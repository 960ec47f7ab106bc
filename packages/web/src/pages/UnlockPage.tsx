import { useId, useState, useSyncExternalStore, type FormEvent } from 'react';
import type { VerificationToken } from '@conclave/client';
import { accountApi } from '../account/api.js';
import { pendingRedeems, REDEEM_DELAY_MINUTES, type RedeemState } from '../account/pending-token.js';
import { useAccount } from '../account/store.js';
import {
  AppLink,
  CodeInput,
  ErrorBox,
  formatSeconds,
  useFocusOnMount,
  useNow,
} from '../components/common.js';
import { hasCode, humanError, type HumanError } from '../errors.js';
import { AccountStates, ENTITLEMENT_TEXT } from './AccountPage.js';

type Step =
  | { kind: 'number' }
  | { kind: 'code'; verificationId: string; expiresAt: number; resendAt: number; attemptsLeft: number };

/**
 * `/account/unlock`: the one-time phone check that lets a free account host E2EE meetings. The
 * number and the code go to the server without cookies (nothing in them names the account);
 * the token they earn is redeemed on the account minutes later (account/pending-token.ts).
 */
export function UnlockPage() {
  const account = useAccount();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [step, setStep] = useState<Step>({ kind: 'number' });
  const redeem = useSyncExternalStore(pendingRedeems.subscribe, pendingRedeems.get);
  const signedIn = account.status === 'signed_in' ? account.me : undefined;
  const entitled = signedIn?.entitlement.e2ee ?? false;
  // The redeem state of this account (another account's, in this browser, is not shown).
  const mine: RedeemState =
    redeem.kind !== 'none' && signedIn && redeem.accountId === signedIn.account.id
      ? redeem
      : { kind: 'none' };

  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        Unlock end-to-end encryption
      </h1>
      <AccountStates account={account} returnTo="/account/unlock" />
      {signedIn && mine.kind === 'done' && <Unlocked />}
      {signedIn && mine.kind !== 'done' && entitled && (
        <section className="card" aria-labelledby="unlocked-h">
          <h2 id="unlocked-h">Already unlocked</h2>
          <p className="status-ok">{ENTITLEMENT_TEXT[signedIn.entitlement.reason]}</p>
          <AppLink to="/" className="button primary">
            Start a meeting
          </AppLink>
        </section>
      )}
      {signedIn && mine.kind !== 'done' && !entitled && (
        <>
          {mine.kind === 'none' && <Explanation />}
          {mine.kind === 'none' ? (
            <PhoneCheck
              step={step}
              setStep={setStep}
              onToken={(token) => {
                pendingRedeems.keep(token, signedIn.account.id);
                setStep({ kind: 'number' });
              }}
            />
          ) : (
            <RedeemStatus state={mine} />
          )}
        </>
      )}
    </main>
  );
}

function Explanation() {
  return (
    <section className="card" aria-labelledby="how-h">
      <h2 id="how-h">How it works</h2>
      <p>
        Free accounts can host Standard meetings straight away. To host end-to-end encrypted meetings, show
        once that you have a mobile phone. This keeps people from making endless throwaway accounts: one
        number can unlock at most three accounts a year.
      </p>
      <ol>
        <li>You enter your mobile number, and Conclave sends it a 6-digit code by text message.</li>
        <li>
          You enter the code. Your browser then gets a token that the server signs <em>blindly</em>: it signs
          without seeing the token.
        </li>
        <li>
          A few minutes later (at a random time) your browser hands the token to your account, and end-to-end
          encryption is unlocked.
        </li>
      </ol>
      <h3>What the server keeps</h3>
      <ul>
        <li>
          <strong>Not your number.</strong> It is used to send the text message and then forgotten: it is not
          stored and not written to the server’s logs.
        </li>
        <li>
          A keyed hash of the number (a fingerprint that cannot be turned back into the number without a
          secret key on the server) and a count of how many accounts it unlocked this year.
        </li>
        <li>
          On your account, only the fact that it is unlocked. Because the token was signed blindly, the server
          cannot tell which number unlocked which account.
        </li>
        <li>
          Your number and the code are sent without your account’s cookies, so those requests do not say who
          you are; the unlock comes later so that its time does not tell either.
        </li>
      </ul>
    </section>
  );
}

function PhoneCheck({
  step,
  setStep,
  onToken,
}: {
  step: Step;
  setStep: (s: Step) => void;
  onToken: (t: VerificationToken) => void;
}) {
  const ids = useId();
  const now = useNow(1000);
  const [phoneNumber, setPhoneNumber] = useState('');
  const [country, setCountry] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();

  const send = async (e?: FormEvent) => {
    e?.preventDefault();
    if (phoneNumber.trim().length < 3) {
      setError({
        code: 'phone_required',
        title: 'Please enter your mobile number.',
        next: 'Start with + and the country code, for example +44 7400 123456.',
      });
      return;
    }
    if (country && !/^[A-Za-z]{2}$/.test(country)) {
      setError({
        code: 'country_format',
        title: 'The country is a two-letter code.',
        next: 'For example GB, DE or US, or leave it empty and start the number with +.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // Sent without cookies: nothing in this request names the account (see the SDK).
      const r = await accountApi.startPhoneVerification({
        phoneNumber: phoneNumber.trim(),
        country: country ? country.toUpperCase() : undefined,
      });
      const t = Date.now();
      setCode('');
      setStep({
        kind: 'code',
        verificationId: r.verificationId,
        expiresAt: t + r.expiresInSeconds * 1000,
        resendAt: t + r.resendAfterSeconds * 1000,
        attemptsLeft: r.attempts,
      });
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  const check = async (e: FormEvent) => {
    e.preventDefault();
    if (step.kind !== 'code') return;
    if (!/^\d{6}$/.test(code)) {
      setError({
        code: 'code_format',
        title: 'The code has 6 digits.',
        next: 'Type the 6 digits of the text message.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      // Sent without cookies too; the token is redeemed later, on the account.
      const token = await accountApi.checkPhoneCode(step.verificationId, code);
      onToken(token);
    } catch (err) {
      setError(humanError(err));
      setCode('');
      if (hasCode(err, 'wrong_code')) setStep({ ...step, attemptsLeft: Math.max(0, step.attemptsLeft - 1) });
      if (hasCode(err, 'too_many_attempts')) setStep({ ...step, attemptsLeft: 0 });
      if (hasCode(err, 'verification_expired')) setStep({ ...step, expiresAt: Date.now() });
    } finally {
      setBusy(false);
    }
  };

  if (step.kind === 'number') {
    return (
      <section className="card" aria-labelledby={`${ids}-h`}>
        <h2 id={`${ids}-h`}>Your mobile number</h2>
        <form onSubmit={(e) => void send(e)} noValidate>
          <div className="field">
            <label htmlFor={`${ids}-phone`}>Mobile number</label>
            <input
              id={`${ids}-phone`}
              type="tel"
              value={phoneNumber}
              autoComplete="tel"
              required
              aria-describedby={`${ids}-phone-d`}
              onChange={(e) => setPhoneNumber(e.target.value)}
            />
            <p className="hint" id={`${ids}-phone-d`}>
              Start with + and the country code, for example +44 7400 123456. Premium-rate, internet (VoIP)
              and landline numbers cannot be used.
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-country`}>Country (optional)</label>
            <input
              id={`${ids}-country`}
              value={country}
              maxLength={2}
              autoComplete="country"
              className="short"
              aria-describedby={`${ids}-country-d`}
              onChange={(e) => setCountry(e.target.value.replace(/[^A-Za-z]/g, '').toUpperCase())}
            />
            <p className="hint" id={`${ids}-country-d`}>
              Only for a number without +: its two-letter country code, such as GB, DE or US.
            </p>
          </div>
          {error && <ErrorBox error={error} />}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Sending…' : 'Send code'}
          </button>
        </form>
      </section>
    );
  }

  // `now` ticks once a second; a step set since the last tick must not show more than its full time.
  const t = Math.max(now, Date.now());
  const expired = t >= step.expiresAt;
  const canResend = t >= step.resendAt;
  const noAttempts = step.attemptsLeft <= 0;
  return (
    <section className="card" aria-labelledby={`${ids}-ch`}>
      <h2 id={`${ids}-ch`}>Enter the code</h2>
      <p>
        Conclave sent a text message with a 6-digit code to <strong>{phoneNumber.trim()}</strong>.
      </p>
      <ul className="code-status" data-testid="code-status">
        <li data-testid="code-expiry">
          {expired
            ? 'This code has expired: ask for a new one.'
            : `The code expires in ${formatSeconds((step.expiresAt - t) / 1000)}.`}
        </li>
        <li data-testid="code-attempts">
          {noAttempts
            ? 'No attempts left for this code: ask for a new one.'
            : `${step.attemptsLeft} ${step.attemptsLeft === 1 ? 'attempt' : 'attempts'} left.`}
        </li>
        <li id={`${ids}-resend-d`} data-testid="code-resend">
          {canResend
            ? 'No message? You can ask for a new code.'
            : `You can ask for a new code in ${formatSeconds((step.resendAt - t) / 1000)}.`}
        </li>
      </ul>
      <form onSubmit={(e) => void check(e)} noValidate>
        <div className="field">
          <label htmlFor={`${ids}-code`}>Code from the text message</label>
          <CodeInput
            id={`${ids}-code`}
            value={code}
            onChange={setCode}
            autoFocus
            disabled={expired || noAttempts}
          />
        </div>
        {error && <ErrorBox error={error} />}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || expired || noAttempts}>
            {busy ? 'Checking…' : 'Check code'}
          </button>
          <button
            type="button"
            disabled={busy || !canResend}
            aria-describedby={`${ids}-resend-d`}
            onClick={() => void send()}
          >
            Send a new code
          </button>
          <button
            type="button"
            onClick={() => {
              setError(undefined);
              setStep({ kind: 'number' });
            }}
          >
            Use another number
          </button>
        </div>
      </form>
    </section>
  );
}

/** "in about 7 minutes" / "in less than a minute". */
function inAbout(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (ms < 60_000 || minutes < 1) return 'in less than a minute';
  return `in about ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
}

function RedeemStatus({ state }: { state: Exclude<RedeemState, { kind: 'none' } | { kind: 'done' }> }) {
  const now = useNow(1000);
  const { min, max } = REDEEM_DELAY_MINUTES;
  if (state.kind === 'waiting') {
    return (
      <section className="card" aria-labelledby="confirmed-h" data-testid="unlock-pending">
        <h2 id="confirmed-h">Your phone number is confirmed</h2>
        <p role="status" data-testid="unlock-eta">
          Your phone number is confirmed. To keep the server from linking it to your account, your account is
          unlocked {inAbout(state.redeemAt - Math.max(now, Date.now()))} — you can close this page; it also
          happens at your next sign-in.
        </p>
        <p className="hint">
          The wait is drawn at random between {min} and {max} minutes, so the time of the unlock does not
          point to the time of your phone check. Your browser keeps the signed token until then.
        </p>
      </section>
    );
  }
  if (state.kind === 'redeeming') {
    return (
      <section className="card" aria-busy="true">
        <h2>Unlocking…</h2>
        <p role="status">Your browser is handing the signed token to your account.</p>
      </section>
    );
  }
  const canRetry = state.retryAt !== undefined;
  return (
    <section className="card">
      <h2>The unlock did not finish</h2>
      <ErrorBox error={state.error}>
        {canRetry && (
          <p>
            Your browser keeps the signed token, so you do not need a new code: it tries again{' '}
            {inAbout(state.retryAt! - Math.max(now, Date.now()))}, or now.
          </p>
        )}
      </ErrorBox>
      <div className="actions">
        {canRetry ? (
          <button type="button" className="primary" onClick={() => pendingRedeems.retry()}>
            Try again
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => pendingRedeems.dismiss()}>
            Start the phone check again
          </button>
        )}
      </div>
    </section>
  );
}

function Unlocked() {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <section className="card success" aria-labelledby="done-h" data-testid="unlock-done">
      <h2 id="done-h" tabIndex={-1} ref={heading}>
        End-to-end encryption is unlocked
      </h2>
      <p>
        Your account can now host end-to-end encrypted meetings. The server knows that it is unlocked, not
        which number unlocked it.
      </p>
      <AppLink to="/" className="button primary">
        Start a meeting
      </AppLink>
    </section>
  );
}
