import { useId, useState, type FormEvent } from 'react';
import type { MeResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountName, accountStore, useAccount } from '../account/store.js';
import { AppLink, ErrorBox, TotpField, useFocusOnMount } from '../components/common.js';
import { hasCode, humanError, type HumanError } from '../errors.js';
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
  const [totp, setTotp] = useState<{ ticket: string; expiresAt: number } | undefined>();
  const [code, setCode] = useState('');
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
      setPassword('');
      setCode('');
      setTotp({ ticket: r.ticket, expiresAt: Date.now() + r.expiresInSeconds * 1000 });
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  const submitCode = async (e: FormEvent) => {
    e.preventDefault();
    if (!totp) return;
    if (!/^\d{6}$/.test(code)) {
      setError({ code: 'code_format', title: 'The code has 6 digits.', next: 'Type all 6 digits.' });
      return;
    }
    if (Date.now() > totp.expiresAt) {
      setTotp(undefined);
      setError({
        code: 'ticket_expired',
        title: 'This sign-in took too long.',
        next: 'Enter your e-mail address and password again.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      finish(await accountApi.signInWithTotp(totp.ticket, code));
    } catch (err) {
      setError(humanError(err));
      // Anything but a wrong code ends the ticket: start over with the password.
      if (!hasCode(err, 'invalid_totp')) setTotp(undefined);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        Sign in
      </h1>
      {account.status === 'signed_in' && !totp && (
        <p className="note">
          You are signed in as {accountName(account.me)}. Signing in again replaces that session.
        </p>
      )}
      {!totp ? (
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
        <form className="card" onSubmit={(e) => void submitCode(e)} noValidate aria-labelledby={`${ids}-th`}>
          <h2 id={`${ids}-th`}>Second step: your authenticator code</h2>
          <p>
            Your password is right. Because this sign-in looks unusual (for example a new device or network),
            Conclave also asks for the code from the authenticator app you set up.
          </p>
          <TotpField value={code} onChange={setCode} reason="This sign-in needs your second factor." />
          {error && <ErrorBox error={error} />}
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Checking…' : 'Sign in'}
            </button>
            <button
              type="button"
              onClick={() => {
                setTotp(undefined);
                setError(undefined);
              }}
            >
              Start over
            </button>
          </div>
        </form>
      )}
      <p>
        No account yet? <AppLink to="/signup">Create a free account</AppLink>. Joining a meeting needs no
        account.
      </p>
    </main>
  );
}
