import type { SessionSnapshot } from '../meeting/session.js';
import { LockIcon } from './common.js';

/** The E2EE indicator in the header: green only when we have an epoch key and send with it. */
export function E2eeIndicator({
  snapshot,
  expanded,
  onClick,
}: {
  snapshot: SessionSnapshot;
  expanded: boolean;
  onClick: () => void;
}) {
  const status =
    snapshot.meeting.mode === 'standard' ? 'standard' : snapshot.e2ee.active ? 'active' : 'pending';
  const text = {
    active: 'End-to-end encrypted',
    pending: 'Not encrypted yet',
    standard: 'Standard: not end-to-end encrypted',
  }[status];
  return (
    <button
      type="button"
      className={`e2ee-indicator e2ee-${status}`}
      aria-expanded={expanded}
      aria-controls="side-panel"
      onClick={onClick}
      data-status={status}
    >
      <LockIcon open={status !== 'active'} /> {text}
    </button>
  );
}

export function SecurityPanel({ snapshot }: { snapshot: SessionSnapshot }) {
  if (snapshot.meeting.mode === 'standard') {
    return (
      <div className="panel-body">
        <p className="security-state e2ee-standard">This meeting is not end-to-end encrypted.</p>
        <p>
          The connection to the server is encrypted, but{' '}
          <strong>the server can see and hear the media and read the chat</strong>. The host chose standard
          mode when creating the meeting.
        </p>
      </div>
    );
  }
  const { e2ee } = snapshot;
  const recent = snapshot.decryptIssues.filter((i) => i.recent);
  return (
    <div className="panel-body">
      {e2ee.active ? (
        <p className="security-state e2ee-active">
          End-to-end encrypted. Your camera, microphone, screen and chat are encrypted with the meeting&apos;s
          current key.
        </p>
      ) : (
        <p className="security-state e2ee-pending">
          Not encrypted yet: this device is waiting to be added to the meeting&apos;s encryption group.
          Nothing leaves it until then, and it cannot decrypt anyone else.
        </p>
      )}
      <section aria-labelledby="code-h">
        <h3 id="code-h">Security code</h3>
        {e2ee.securityCode ? (
          <>
            <p className="security-code" data-testid="security-code">
              {e2ee.securityCode}
            </p>
            <p className="hint" data-testid="security-epoch">
              Epoch {String(e2ee.epoch)}
            </p>
            <p>Read it aloud; everyone should see the same code.</p>
            <p className="hint">
              If the codes differ, someone is not in the same encrypted meeting: leave and tell the host.
            </p>
          </>
        ) : (
          <p>No code yet.</p>
        )}
      </section>
      <section aria-labelledby="dec-h">
        <h3 id="dec-h">Media decryption</h3>
        {recent.length > 0 ? (
          <ul className="decrypt-issues">
            {recent.map((i) => (
              <li key={i.participantId}>
                Media from <strong>{i.displayName}</strong> did not decrypt ({i.failures} frames dropped). If
                this continues, compare security codes.
              </li>
            ))}
          </ul>
        ) : (
          <p>All media received in the last few seconds decrypted correctly.</p>
        )}
        <p className="hint">
          Frames decrypted: {snapshot.framesDecrypted}. Dropped: {snapshot.decryptFailures}. Sent encrypted:{' '}
          {snapshot.framesEncrypted}.
          {snapshot.e2eeApi &&
            ` Encryption runs in a worker (${snapshot.e2eeApi === 'script-transform' ? 'RTCRtpScriptTransform' : 'encoded streams'}).`}
        </p>
      </section>
    </div>
  );
}
