import { useId, useState, type FormEvent } from 'react';
import type { CreateMeetingResponse, HostingEntitlement, MeetingMode } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { accountStore, useAccount } from '../account/store.js';
import { AppLink, CopyField, ErrorBox, MODE_TEXT, TotpField, useFocusOnMount } from '../components/common.js';
import { hasCode, humanError, type HumanError } from '../errors.js';
import { meetingIdFromInput, navigate } from '../router.js';

export function HomePage() {
  const [created, setCreated] = useState<CreateMeetingResponse | undefined>();
  const account = useAccount();
  return (
    <main className="page narrow">
      <div className="home-header">
        <h1>Conclave</h1>
        <p className="tagline">Video meetings with end-to-end encryption for everyone.</p>
      </div>
      {created ? (
        <CreatedMeeting created={created} onAnother={() => setCreated(undefined)} />
      ) : account.status === 'signed_in' ? (
        <CreateForm entitlement={account.me.entitlement} onCreated={setCreated} />
      ) : (
        <HostingNeedsAccount
          status={account.status}
          error={account.status === 'error' ? account.error : undefined}
        />
      )}
      <JoinForm />
    </main>
  );
}

/** Signed out: what guests can do, and what hosting needs. */
function HostingNeedsAccount({
  status,
  error,
}: {
  status: 'loading' | 'signed_out' | 'error';
  error?: HumanError;
}) {
  const ids = useId();
  return (
    <section className="card" aria-labelledby={`${ids}-h`} aria-busy={status === 'loading' || undefined}>
      <h2 id={`${ids}-h`}>Start a meeting</h2>
      {status === 'loading' && <p>Checking whether you are signed in…</p>}
      {status === 'error' && error && (
        <ErrorBox error={error}>
          <button type="button" onClick={() => void accountStore.refresh()}>
            Try again
          </button>
        </ErrorBox>
      )}
      {status === 'signed_out' && (
        <>
          <p>
            Anyone can <strong>join</strong> a meeting with its link, without an account. To{' '}
            <strong>host</strong> meetings you need a free account.
          </p>
          <div className="actions">
            <AppLink to="/signin" returnTo="/" className="button primary">
              Sign in to host
            </AppLink>
            <AppLink to="/signup" returnTo="/" className="button">
              Create a free account
            </AppLink>
          </div>
        </>
      )}
    </section>
  );
}

function CreateForm({
  entitlement,
  onCreated,
}: {
  entitlement: HostingEntitlement;
  onCreated: (r: CreateMeetingResponse) => void;
}) {
  const [mode, setMode] = useState<MeetingMode>('e2ee');
  const [title, setTitle] = useState('');
  const [passcode, setPasscode] = useState('');
  const [waitingRoom, setWaitingRoom] = useState(false);
  /** Frame attestation (E2EE meetings): verifiable clips in reports, at the cost of deniability. */
  const [attestation, setAttestation] = useState(true);
  /** Shown once the server asked for the second factor (step_up_required). */
  const [stepUp, setStepUp] = useState(false);
  const [totp, setTotp] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const ids = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (stepUp && !/^\d{6}$/.test(totp)) {
      setError({
        code: 'code_format',
        title: 'The authenticator code has 6 digits.',
        next: 'Type the 6 digits your authenticator app shows, then create the meeting.',
      });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onCreated(
        await accountApi.createMeeting({
          mode,
          title: title.trim(),
          passcode: passcode || undefined,
          waitingRoom,
          attestation: mode === 'e2ee' ? attestation : undefined,
          totp: stepUp ? totp : undefined,
        }),
      );
    } catch (err) {
      setError(humanError(err));
      if (hasCode(err, 'step_up_required', 'invalid_totp')) {
        setStepUp(true);
        setTotp('');
      } else if (hasCode(err, 'unauthenticated', 'e2ee_not_entitled')) {
        // Signed out elsewhere, or the plan changed: show what the server thinks now.
        void accountStore.refresh();
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Start a meeting</h2>
      <form onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor={`${ids}-title`}>Meeting name (optional)</label>
          <input
            id={`${ids}-title`}
            value={title}
            maxLength={200}
            onChange={(e) => setTitle(e.target.value)}
          />
        </div>
        <fieldset className="field">
          <legend>Encryption</legend>
          {(['e2ee', 'standard'] as const).map((m) => (
            <div className="radio" key={m}>
              <input
                type="radio"
                id={`${ids}-mode-${m}`}
                name="mode"
                value={m}
                checked={mode === m}
                onChange={() => setMode(m)}
                aria-describedby={`${ids}-mode-${m}-d`}
              />
              <label htmlFor={`${ids}-mode-${m}`}>
                {m === 'e2ee' ? `${MODE_TEXT.e2ee.label} (recommended)` : 'Standard'}
              </label>
              <p className="hint" id={`${ids}-mode-${m}-d`}>
                {m === 'e2ee'
                  ? 'Only participants can see and hear the meeting; the server relays media it cannot read.'
                  : 'Gives up end-to-end encryption: the server can see and hear the meeting (needed only for server-side features such as recording).'}
                {m === 'e2ee' && !entitlement.e2ee && (
                  <>
                    {' '}
                    <strong>Your free account can host these after a one-time phone check.</strong>{' '}
                    <AppLink to="/account/unlock">Unlock end-to-end encryption</AppLink>
                  </>
                )}
              </p>
            </div>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={`${ids}-pass`}>Passcode (optional)</label>
          <input
            id={`${ids}-pass`}
            value={passcode}
            minLength={6}
            maxLength={64}
            autoComplete="off"
            aria-describedby={`${ids}-pass-d`}
            onChange={(e) => setPasscode(e.target.value)}
          />
          <p className="hint" id={`${ids}-pass-d`}>
            At least 6 characters. People joining must type it.
          </p>
        </div>
        <div className="field checkbox">
          <input
            id={`${ids}-wr`}
            type="checkbox"
            checked={waitingRoom}
            onChange={(e) => setWaitingRoom(e.target.checked)}
          />
          <label htmlFor={`${ids}-wr`}>Waiting room: you let each person in</label>
        </div>
        {mode === 'e2ee' && (
          <div className="field">
            <div className="checkbox">
              <input
                id={`${ids}-att`}
                type="checkbox"
                checked={attestation}
                aria-describedby={`${ids}-att-d`}
                onChange={(e) => setAttestation(e.target.checked)}
              />
              <label htmlFor={`${ids}-att`}>
                Signed media: reports can carry clips the moderators can verify
              </label>
            </div>
            <p className="hint" id={`${ids}-att-d`}>
              Each device signs what it sends once a second, so a clip someone reports can be proven to come
              from its sender — who then cannot deny it. Turn it off if deniability matters more in this
              meeting than verifiable reports.
            </p>
          </div>
        )}
        {stepUp && <TotpField value={totp} onChange={setTotp} />}
        {error && (
          <ErrorBox error={error}>
            {error.code === 'e2ee_not_entitled' && (
              <div className="actions">
                <AppLink to="/account/unlock" className="button primary">
                  Unlock end-to-end encryption
                </AppLink>
                <button
                  type="button"
                  onClick={() => {
                    setMode('standard');
                    setError(undefined);
                  }}
                >
                  Choose Standard instead
                </button>
              </div>
            )}
            {error.code === 'unauthenticated' && (
              <p>
                <AppLink to="/signin" returnTo="/">
                  Sign in again
                </AppLink>
              </p>
            )}
          </ErrorBox>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create meeting'}
        </button>
      </form>
    </section>
  );
}

function CreatedMeeting({ created, onAnother }: { created: CreateMeetingResponse; onAnother: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const host = new URL(created.hostUrl, window.location.origin);
  const sameOrigin = host.origin === window.location.origin;
  return (
    <section className="card created" aria-labelledby="created-h">
      <h2 id="created-h" tabIndex={-1} ref={heading}>
        Your meeting is ready
      </h2>
      <p>
        <strong>{created.meeting.title || 'Untitled meeting'}</strong> —{' '}
        {MODE_TEXT[created.meeting.mode].label}
      </p>
      <CopyField
        label="Host link"
        value={created.hostUrl}
        hint="Keep this link to yourself: whoever opens it is the host (it carries the host secret)."
      />
      <CopyField label="Join link" value={created.joinUrl} hint="Send this link to the people you invite." />
      <div className="actions">
        {sameOrigin ? (
          <button type="button" className="primary" onClick={() => navigate(host.pathname + host.hash)}>
            Join as host
          </button>
        ) : (
          <a className="button primary" href={created.hostUrl}>
            Join as host
          </a>
        )}
        <button type="button" onClick={onAnother}>
          Create another meeting
        </button>
      </div>
    </section>
  );
}

function JoinForm() {
  const [link, setLink] = useState('');
  const [invalid, setInvalid] = useState(false);
  const ids = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = meetingIdFromInput(link);
    if (!parsed) {
      setInvalid(true);
      return;
    }
    // A link to another Conclave server opens there.
    try {
      const url = new URL(link.trim());
      if (url.origin !== window.location.origin) {
        window.location.assign(url.href);
        return;
      }
    } catch {
      // Not a full URL: a meeting id on this server.
    }
    navigate(`/m/${parsed.id}${parsed.hash}`);
  };
  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Join a meeting</h2>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={`${ids}-link`}>Meeting link or ID</label>
          <input
            id={`${ids}-link`}
            value={link}
            required
            aria-invalid={invalid || undefined}
            aria-describedby={invalid ? `${ids}-err` : undefined}
            onChange={(e) => {
              setLink(e.target.value);
              setInvalid(false);
            }}
          />
          {invalid && (
            <p className="field-error" id={`${ids}-err`} role="alert">
              That is not a meeting link. Paste the whole link you were sent (it contains /m/).
            </p>
          )}
        </div>
        <button type="submit">Join</button>
      </form>
    </section>
  );
}
