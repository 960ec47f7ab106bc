import { useEffect, useId, useState, type FormEvent } from 'react';
import type { DeviceKey, MeResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { loadDevice } from '../account/device-keys.js';
import { accountStore, useAccount, type AccountState } from '../account/store.js';
import { AppLink, CodeInput, CopyField, ErrorBox, useFocusOnMount } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { keyFingerprint } from '../key-fingerprint.js';
import { ModerationWarnings } from '../report/ModerationWarnings.js';
import { MyReports } from '../report/MyReports.js';
import { SavedMeetingsList } from '../report/ReportFromSaved.js';

/** Shown on the account page and by the unlock page once done. */
export const ENTITLEMENT_TEXT: Record<MeResponse['entitlement']['reason'], string> = {
  paid: 'Unlocked: your paid plan includes end-to-end encrypted meetings.',
  phone_verified: 'Unlocked with the one-time phone check.',
  verification_required:
    'Not unlocked yet. Your free account can host Standard meetings now, and end-to-end encrypted meetings after a one-time phone check.',
  guest: 'Sign in to host meetings.',
};

/** `/account`: plan, E2EE hosting, two-step sign-in, password, device keys, reports. */
export function AccountPage() {
  const account = useAccount();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        Your account
      </h1>
      <AccountStates account={account} returnTo="/account" />
      {account.status === 'signed_in' && (
        <>
          <ModerationWarnings />
          <Overview me={account.me} />
          <E2eeHosting me={account.me} />
          <TwoStepSignIn me={account.me} />
          <ChangePassword email={account.me.account.email} />
          <Devices userId={account.me.account.id} />
          <MyReports />
        </>
      )}
      {account.status !== 'loading' && <SavedMeetingsList />}
    </main>
  );
}

/** What an account page shows until it has an account: loading, a load error, or signed out. */
export function AccountStates({ account, returnTo }: { account: AccountState; returnTo: string }) {
  if (account.status === 'loading') return <p aria-busy="true">Loading your account…</p>;
  if (account.status === 'error') {
    return (
      <ErrorBox error={account.error}>
        <button type="button" onClick={() => void accountStore.refresh()}>
          Try again
        </button>
      </ErrorBox>
    );
  }
  return account.status === 'signed_out' ? <SignedOut returnTo={returnTo} /> : null;
}

function SignedOut({ returnTo }: { returnTo: string }) {
  return (
    <section className="card">
      <h2>You are not signed in</h2>
      <p>Sign in to see and change your account.</p>
      <div className="actions">
        <AppLink to="/signin" returnTo={returnTo} className="button primary">
          Sign in
        </AppLink>
        <AppLink to="/signup" returnTo={returnTo} className="button">
          Create a free account
        </AppLink>
      </div>
    </section>
  );
}

function Overview({ me }: { me: MeResponse }) {
  const a = me.account;
  return (
    <section className="card" aria-labelledby="acct-h">
      <h2 id="acct-h">Account</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{a.displayName || '(none)'}</dd>
        <dt>E-mail address</dt>
        <dd>{a.email}</dd>
        <dt>Plan</dt>
        <dd data-testid="plan">{a.plan === 'paid' ? 'Paid' : 'Free'}</dd>
        {a.role === 'admin' && (
          <>
            <dt>Role</dt>
            <dd>Administrator</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{new Date(a.createdAt).toLocaleDateString()}</dd>
      </dl>
    </section>
  );
}

function E2eeHosting({ me }: { me: MeResponse }) {
  const reason = me.entitlement.reason;
  return (
    <section className="card" aria-labelledby="e2ee-h">
      <h2 id="e2ee-h">End-to-end encrypted meetings</h2>
      <p
        className={me.entitlement.e2ee ? 'status-ok' : 'status-warn'}
        data-testid="e2ee-entitlement"
        data-reason={reason}
      >
        {ENTITLEMENT_TEXT[reason]}
      </p>
      {reason === 'verification_required' && (
        <AppLink to="/account/unlock" className="button primary">
          Unlock end-to-end encryption
        </AppLink>
      )}
    </section>
  );
}

const codeFormatError: HumanError = {
  code: 'code_format',
  title: 'The code has 6 digits.',
  next: 'Type the 6 digits your authenticator app shows for Conclave.',
};

function TwoStepSignIn({ me }: { me: MeResponse }) {
  const ids = useId();
  const [enrolment, setEnrolment] = useState<{ secret: string; otpauthUri: string } | undefined>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const [status, setStatus] = useState('');
  const enabled = me.account.totpEnabled;

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setStatus('');
    try {
      await fn();
    } catch (e) {
      setError(humanError(e));
    } finally {
      setBusy(false);
    }
  };

  const start = () =>
    run(async () => {
      setEnrolment(await accountApi.enrollTotp());
      setCode('');
    });

  const confirmOrDisable = (e: FormEvent) => {
    e.preventDefault();
    if (!/^\d{6}$/.test(code)) {
      setError(codeFormatError);
      return;
    }
    void run(async () => {
      const next = enabled ? await accountApi.disableTotp(code) : await accountApi.confirmTotp(code);
      accountStore.setMe(next);
      setEnrolment(undefined);
      setCode('');
      setStatus(
        enabled
          ? 'Two-step sign-in is off.'
          : 'Two-step sign-in is on. Conclave asks for a code when a sign-in or request looks unusual.',
      );
    });
  };

  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Two-step sign-in (authenticator app)</h2>
      <p data-testid="totp-state">
        {enabled
          ? 'On. When a sign-in or a request looks unusual, Conclave asks for the code from your authenticator app.'
          : 'Off. With an authenticator app, Conclave can ask you for a code when a sign-in or a request looks unusual, instead of refusing it.'}
      </p>
      {!enabled && !enrolment && (
        <button type="button" onClick={() => void start()} disabled={busy}>
          Set up an authenticator app
        </button>
      )}
      {(enabled || enrolment) && (
        <form onSubmit={confirmOrDisable} noValidate>
          {enrolment && (
            <>
              <p>
                Add Conclave to your authenticator app: type in the secret key, or open the setup link on the
                device that has the app. Then enter the code the app shows.
              </p>
              <CopyField label="Secret key" value={enrolment.secret} />
              <CopyField label="Setup link (otpauth URI)" value={enrolment.otpauthUri} />
            </>
          )}
          <div className="field">
            <label htmlFor={`${ids}-code`}>Code from your authenticator app</label>
            <CodeInput id={`${ids}-code`} value={code} onChange={setCode} />
          </div>
          {error && <ErrorBox error={error} />}
          <div className="actions">
            <button type="submit" className={enabled ? 'danger' : 'primary'} disabled={busy}>
              {enabled ? 'Turn off two-step sign-in' : 'Turn on two-step sign-in'}
            </button>
            {enrolment && (
              <button type="button" onClick={() => setEnrolment(undefined)}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
      {!enabled && !enrolment && error && <ErrorBox error={error} />}
      <p role="status" className="status-ok">
        {status}
      </p>
    </section>
  );
}

function ChangePassword({ email }: { email: string }) {
  const ids = useId();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const [status, setStatus] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    if (next.length < 10) {
      setError({
        code: 'password_too_short',
        title: 'The new password is too short.',
        next: 'Use at least 10 characters.',
      });
      return;
    }
    if (next !== repeat) {
      setError({
        code: 'password_mismatch',
        title: 'The two new passwords differ.',
        next: 'Type the same new password in both fields.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await accountApi.changePassword(current, next);
      setCurrent('');
      setNext('');
      setRepeat('');
      setStatus('Your password is changed. You were signed out everywhere else.');
    } catch (err) {
      setError(humanError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Change password</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        {/* Lets password managers tie the new password to the account. */}
        <input type="email" autoComplete="username" hidden readOnly value={email} />
        <div className="field">
          <label htmlFor={`${ids}-cur`}>Current password</label>
          <input
            id={`${ids}-cur`}
            type="password"
            value={current}
            autoComplete="current-password"
            required
            onChange={(e) => setCurrent(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-new`}>New password</label>
          <input
            id={`${ids}-new`}
            type="password"
            value={next}
            autoComplete="new-password"
            minLength={10}
            required
            aria-describedby={`${ids}-new-d`}
            onChange={(e) => setNext(e.target.value)}
          />
          <p className="hint" id={`${ids}-new-d`}>
            At least 10 characters. Other devices where you are signed in will be signed out.
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-rep`}>Repeat the new password</label>
          <input
            id={`${ids}-rep`}
            type="password"
            value={repeat}
            autoComplete="new-password"
            required
            onChange={(e) => setRepeat(e.target.value)}
          />
        </div>
        {error && <ErrorBox error={error} />}
        <button type="submit" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
      <p role="status" className="status-ok">
        {status}
      </p>
    </section>
  );
}

function Devices({ userId }: { userId: string }) {
  const ids = useId();
  const [devices, setDevices] = useState<(DeviceKey & { fingerprint: string })[] | undefined>();
  const [thisDevice, setThisDevice] = useState<string | undefined>();
  const [error, setError] = useState<HumanError | undefined>();
  const [generation, setGeneration] = useState(0);

  const remove = (deviceId: string) => {
    setError(undefined);
    accountApi.deleteDevice(deviceId).then(
      () => setGeneration((g) => g + 1),
      (e: unknown) => setError(humanError(e)),
    );
  };

  useEffect(() => {
    let live = true;
    setError(undefined);
    accountApi
      .devices()
      .then(async (list) => {
        const withPrints = await Promise.all(
          list.map(async (d) => ({ ...d, fingerprint: await keyFingerprint(d.publicKey) })),
        );
        if (live) setDevices(withPrints);
      })
      .catch((e: unknown) => live && setError(humanError(e)));
    loadDevice(userId).then(
      (d) => live && setThisDevice(d?.deviceId),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [userId, generation]);

  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Device keys</h2>
      <p className="hint">
        Each browser you join meetings from while signed in has its own signing key. In end-to-end encrypted
        meetings the others check your key against this list and show you as a “Verified account”. The private
        half of each key never leaves its browser. Remove the key of a browser you lost or no longer use: it
        is then shown as an unverified account claim. This browser registers its key again when it next joins.
      </p>
      {error && (
        <ErrorBox error={error}>
          <button type="button" onClick={() => setGeneration((g) => g + 1)}>
            Try again
          </button>
        </ErrorBox>
      )}
      {!devices && !error && <p aria-busy="true">Loading device keys…</p>}
      {devices?.length === 0 && (
        <p>
          No device keys yet. This browser registers one the first time you join a meeting while signed in.
        </p>
      )}
      {devices && devices.length > 0 && (
        <ul className="device-list" aria-label="Device keys of this account">
          {devices.map((d) => (
            <li key={d.deviceId} className="device">
              <span className="device-id">
                <code>{d.deviceId}</code>
                {d.deviceId === thisDevice && <span className="badge badge-account">This browser</span>}
              </span>
              <span className="hint">
                Added {new Date(d.createdAt).toLocaleString()} · key fingerprint <code>{d.fingerprint}</code>
              </span>
              <button type="button" onClick={() => remove(d.deviceId)}>
                Remove <span className="visually-hidden">key {d.deviceId}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
