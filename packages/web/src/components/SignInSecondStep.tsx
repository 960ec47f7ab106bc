import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { MeResponse } from '@conclave/protocol';
import type { SignInResult } from '@conclave/client';
import { accountApi } from '../account/api.js';
import { hasCode, humanError, type HumanError } from '../errors.js';
import { ErrorBox, TotpField } from './common.js';

/**
 * What a sign-in still needs after the password form:
 * - `ticket`: the password was right and the sign-in looks unusual (e.g. a new device on a new
 *   network of an account with TOTP): the code goes with the server's ticket;
 * - `with_password`: the server answered `step_up_required` before looking at the password
 *   (failed sign-ins for the address or from the network): the code goes with the password.
 */
export type SecondStep =
  | { kind: 'ticket'; ticket: string; expiresAt: number }
  | { kind: 'with_password'; email: string; password: string };

/** The second step of a sign-in answered with a ticket. */
export function ticketStep(r: Extract<SignInResult, { status: 'totp_required' }>): SecondStep {
  return { kind: 'ticket', ticket: r.ticket, expiresAt: Date.now() + r.expiresInSeconds * 1000 };
}

/** The second step a sign-in error asks for (`step_up_required`), or undefined. */
export function secondStepAfter(err: unknown, email: string, password: string): SecondStep | undefined {
  return hasCode(err, 'step_up_required') ? { kind: 'with_password', email, password } : undefined;
}

const WRONG_PASSWORD_OR_CODE: Omit<HumanError, 'code'> = {
  title: 'The e-mail address, password or code is not right.',
  next: 'Check them and try again. Without an authenticator app on your account, sign in from a device or network you have used before, or try again in 15 minutes.',
};

/**
 * The authenticator-code form of a sign-in (the sign-in page, and the sign-up page when the
 * address already has an account). `onRestart` goes back to the password form, with the error
 * that ended this step if any.
 */
export function SignInSecondStep({
  step,
  onSignedIn,
  onRestart,
  note,
}: {
  step: SecondStep;
  onSignedIn: (me: MeResponse) => void;
  onRestart: (error?: HumanError) => void;
  note?: ReactNode;
}) {
  const ids = useId();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code)) {
      setError({ code: 'code_format', title: 'The code has 6 digits.', next: 'Type all 6 digits.' });
      return;
    }
    if (step.kind === 'ticket' && Date.now() > step.expiresAt) {
      onRestart({
        code: 'ticket_expired',
        title: 'This sign-in took too long.',
        next: 'Enter your e-mail address and password again.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      if (step.kind === 'ticket') {
        onSignedIn(await accountApi.signInWithTotp(step.ticket, code));
      } else {
        const r = await accountApi.signIn(step.email, step.password, code);
        // With the code accepted the server asks for nothing more.
        if (r.status === 'signed_in') onSignedIn(r.me);
        else onRestart();
      }
    } catch (err) {
      setCode('');
      // A wrong code may be typed again; anything else starts over with the password.
      if (hasCode(err, 'invalid_totp')) setError(humanError(err));
      else if (step.kind === 'with_password' && hasCode(err, 'invalid_credentials')) {
        onRestart({ ...WRONG_PASSWORD_OR_CODE, code: 'invalid_credentials' });
      } else onRestart(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${ids}-th`}>
      <h2 id={`${ids}-th`}>Second step: your authenticator code</h2>
      {note}
      {step.kind === 'ticket' ? (
        <p>
          Your password is right. Because this sign-in looks unusual (for example a new device or network),
          Conclave also asks for the code from the authenticator app you set up.
        </p>
      ) : (
        <p>
          There were failed sign-ins recently, for this address or from this network, so the password alone is
          not enough: Conclave asks for the code from your authenticator app with it. No authenticator app?
          Sign in from a device or network you have used before, or try again in 15 minutes.
        </p>
      )}
      <TotpField value={code} onChange={setCode} reason="This sign-in needs your second factor." />
      {error && <ErrorBox error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <button type="button" onClick={() => onRestart()}>
          Start over
        </button>
      </div>
    </form>
  );
}
