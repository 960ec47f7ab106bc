import { useId, useState, type FormEvent } from 'react';
import type { MeResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountName, accountStore, useAccount } from '../account/store.js';
import { AppLink, ErrorBox, useFocusOnMount } from '../components/common.js';
import {
  secondStepAfter,
  SignInSecondStep,
  ticketStep,
  type SecondStep,
} from '../components/SignInSecondStep.js';
import { humanError, type HumanError } from '../errors.js';
import { navigate, takeReturnTo } from '../router.js';

function finish(me: MeResponse): void {
  accountStore.setMe(me);
  navigate(takeReturnTo('/'), { replace: true });
}

/** `/signin`: e-mail and password, then — when the server asks for it — the authenticator code. */
export function SignInPage() {
  const account = useAccount();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const ids = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [second, setSecond] = useState<SecondStep | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();

  const submitPassword = async (e: FormEvent) => {
    e.preventDefault();
    if (!email.trim() || !password) {
      setError({
        code: 'missing_fields',
        title: 'Please enter your e-mail address and password.',
        next: 'Both are needed to sign in.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const r = await accountApi.signIn(email.trim(), password);
      if (r.status === 'signed_in') {
        finish(r.me);
        return;
      }
      setSecond(ticketStep(r));
      setPassword('');
    } catch (err) {
      const next = secondStepAfter(err, email.trim(), password);
      if (next) {
        setSecond(next);
        setPassword('');
      } else setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        Sign in
      </h1>
      {account.status === 'signed_in' && !second && (
        <p className="note">
          You are signed in as {accountName(account.me)}. Signing in again replaces that session.
        </p>
      )}
      {!second ? (
        <form
          className="card"
          onSubmit={(e) => void submitPassword(e)}
          noValidate
          aria-labelledby={`${ids}-h`}
        >
          <h2 id={`${ids}-h`} className="visually-hidden">
            E-mail address and password
          </h2>
          <div className="field">
            <label htmlFor={`${ids}-email`}>E-mail address</label>
            <input
              id={`${ids}-email`}
              type="email"
              value={email}
              required
              autoComplete="username"
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-pw`}>Password</label>
            <input
              id={`${ids}-pw`}
              type="password"
              value={password}
              required
              autoComplete="current-password"
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {error && <ErrorBox error={error} />}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      ) : (
        <SignInSecondStep
          step={second}
          onSignedIn={finish}
          onRestart={(err) => {
            setSecond(undefined);
            setError(err);
          }}
        />
      )}
      <p>
        No account yet? <AppLink to="/signup">Create a free account</AppLink>. Joining a meeting needs no
        account.
      </p>
    </main>
  );
}
