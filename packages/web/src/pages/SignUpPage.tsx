import { useId, useState, type FormEvent } from 'react';
import type { MeResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountStore } from '../account/store.js';
import { AppLink, ErrorBox, useFocusOnMount } from '../components/common.js';
import {
  secondStepAfter,
  SignInSecondStep,
  ticketStep,
  type SecondStep,
} from '../components/SignInSecondStep.js';
import { hasCode, humanError, type HumanError } from '../errors.js';
import { navigate, takeReturnTo } from '../router.js';

const MIN_PASSWORD = 10;

type FieldErrors = Partial<Record<'email' | 'password', string>>;

/**
 * The server accepts every sign-up alike (it never says whether the address has an account)
 * and the page then signs in with the same address and password: this is what it says when
 * that sign-in fails, i.e. when the address has an account with another password.
 */
const NOT_SIGNED_IN: HumanError = {
  code: 'invalid_credentials',
  title: 'Conclave could not sign you in with this e-mail address and password.',
  next: 'If you created an account with this address before, sign in with the password you chose then. Otherwise check the address and try again.',
};

function finish(me: MeResponse): void {
  accountStore.setMe(me);
  navigate(takeReturnTo('/'), { replace: true });
}

/**
 * `/signup`: display name, e-mail, password (at least 10 characters); then the sign-in with
 * them, which for an address that already has an account may ask for its authenticator code.
 */
export function SignUpPage() {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const ids = useId();
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const [second, setSecond] = useState<SecondStep | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const errs: FieldErrors = {};
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) {
      errs.email = 'Enter an e-mail address such as name@example.org.';
    }
    if (password.length < MIN_PASSWORD) {
      errs.password = `Use at least ${MIN_PASSWORD} characters (you typed ${password.length}).`;
    }
    setFieldErrors(errs);
    if (errs.email || errs.password) {
      document.getElementById(errs.email ? `${ids}-email` : `${ids}-pw`)?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const r = await accountApi.signUp({
        email: email.trim(),
        password,
        displayName: displayName.trim() || undefined,
      });
      if (r.status === 'signed_in') {
        finish(r.me);
        return;
      }
      setSecond(ticketStep(r));
    } catch (err) {
      const next = secondStepAfter(err, email.trim(), password);
      if (next) setSecond(next);
      else setError(hasCode(err, 'invalid_credentials') ? NOT_SIGNED_IN : humanError(err));
    } finally {
      setBusy(false);
    }
  };

  const described = (field: keyof FieldErrors, hint?: string) =>
    [hint, fieldErrors[field] ? `${ids}-${field}-err` : undefined].filter(Boolean).join(' ') || undefined;

  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        Create a free account
      </h1>
      <p>
        An account lets you host meetings. People you invite join with the meeting link and need no account.
      </p>
      {second ? (
        <SignInSecondStep
          step={second}
          onSignedIn={finish}
          onRestart={(err) => {
            setSecond(undefined);
            setError(err);
          }}
          note={<p>Signing in with this e-mail address needs the code from an authenticator app.</p>}
        />
      ) : (
        <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${ids}-h`}>
          <h2 id={`${ids}-h`} className="visually-hidden">
            Your account details
          </h2>
          <div className="field">
            <label htmlFor={`${ids}-name`}>Display name</label>
            <input
              id={`${ids}-name`}
              value={displayName}
              maxLength={64}
              autoComplete="name"
              aria-describedby={`${ids}-name-d`}
              onChange={(e) => setDisplayName(e.target.value)}
            />
            <p className="hint" id={`${ids}-name-d`}>
              Optional. Suggested as your name when you join a meeting.
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${ids}-email`}>E-mail address</label>
            <input
              id={`${ids}-email`}
              type="email"
              value={email}
              required
              autoComplete="email"
              aria-invalid={fieldErrors.email ? true : undefined}
              aria-describedby={described('email')}
              onChange={(e) => setEmail(e.target.value)}
            />
            {fieldErrors.email && (
              <p className="field-error" id={`${ids}-email-err`}>
                {fieldErrors.email}
              </p>
            )}
          </div>
          <div className="field">
            <label htmlFor={`${ids}-pw`}>Password</label>
            <input
              id={`${ids}-pw`}
              type="password"
              value={password}
              required
              minLength={MIN_PASSWORD}
              autoComplete="new-password"
              aria-invalid={fieldErrors.password ? true : undefined}
              aria-describedby={described('password', `${ids}-pw-d`)}
              onChange={(e) => setPassword(e.target.value)}
            />
            <p className="hint" id={`${ids}-pw-d`}>
              At least {MIN_PASSWORD} characters. A few unrelated words make a strong password that is easy to
              remember.
            </p>
            {fieldErrors.password && (
              <p className="field-error" id={`${ids}-password-err`}>
                {fieldErrors.password}
              </p>
            )}
          </div>
          {error && (
            <ErrorBox error={error}>
              {error.code === 'invalid_credentials' && (
                <p>
                  <AppLink to="/signin">Sign in instead</AppLink>
                </p>
              )}
            </ErrorBox>
          )}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating your account…' : 'Create account'}
          </button>
        </form>
      )}
      <p>
        Have an account already? <AppLink to="/signin">Sign in</AppLink>.
      </p>
    </main>
  );
}
