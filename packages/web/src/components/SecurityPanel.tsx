import type { GroupHealth } from '@conclave/client';
import { e2eeStatus, type Person, type SessionSnapshot } from '../meeting/snapshot.js';
import { LockIcon } from './common.js';

/** What the room's alert says while the encryption group is not healthy. */
export const HEALTH_ALERT: Record<Exclude<GroupHealth, 'ok'>, string> = {
  departed_member_present:
    'Someone who left is still in the encryption group and could still decrypt. Waiting for the group to remove them…',
  out_of_sync:
    'This device refused a change to the encryption group and is out of sync. Reconnecting to the group…',
};

/**
 * What this page receives, person by person, in words: never "all decrypted" while nothing
 * arrived. The statuses are the SDK's (frames that decrypted or failed per MLS sender).
 */
function MediaSummary({ people, hasIssues }: { people: Person[]; hasIssues: boolean }) {
  const others = people.filter((p) => !p.isSelf && p.media !== undefined && p.media !== 'off');
  const by = (m: Person['media']) => others.filter((p) => p.media === m).map((p) => p.displayName);
  const impersonated = by('unattested');
  const failing = by('cannot_decrypt');
  const silent = by('no_media');
  const waiting = by('connecting');
  const receiving = by('receiving');
  const paused = by('not_forwarded');
  const lines: string[] = [];
  if (impersonated.length > 0)
    lines.push(
      `Someone in the meeting is sending media as ${impersonated.join(', ')} that ${impersonated.length > 1 ? 'they' : 'this person'} did not sign: do not trust what is shown as theirs.`,
    );
  if (failing.length > 0) lines.push(`Cannot decrypt media from ${failing.join(', ')}.`);
  if (silent.length > 0) lines.push(`No media from ${silent.join(', ')} for 5 s or more.`);
  if (waiting.length > 0) lines.push(`Connecting media from ${waiting.join(', ')}…`);
  if (paused.length > 0)
    lines.push(
      `The server forwards nothing from ${paused.join(', ')} to this device now (not among the recent speakers or the videos shown).`,
    );
  if (receiving.length > 0)
    lines.push(`Media from ${receiving.join(', ')} arrives and decrypts${hasIssues ? '' : ' correctly'}.`);
  if (lines.length === 0) lines.push('Nobody else is sending audio or video.');
  return (
    <ul className="media-summary" aria-label="Media from each participant">
      {lines.map((l) => (
        <li key={l}>{l}</li>
      ))}
    </ul>
  );
}

/**
 * The E2EE indicator in the header: green only when we have an epoch key, send with it, and the
 * group is healthy (nobody who left still in it, this device in sync).
 */
export function E2eeIndicator({
  snapshot,
  expanded,
  onClick,
}: {
  snapshot: SessionSnapshot;
  expanded: boolean;
  onClick: () => void;
}) {
  const status = e2eeStatus(snapshot);
  const text = {
    active: 'End-to-end encrypted',
    pending: 'Not encrypted yet',
    alert:
      snapshot.e2ee.health === 'out_of_sync'
        ? 'Warning: out of sync with the encryption group'
        : 'Warning: someone who left can still decrypt',
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

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

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
      {e2ee.health !== 'ok' ? (
        <p className="security-state e2ee-alert" data-health={e2ee.health}>
          {HEALTH_ALERT[e2ee.health]} Until then, do not rely on this meeting being private.
        </p>
      ) : e2ee.active ? (
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
              It is the same for everyone in the meeting at this moment and changes at every key change, so
              compare it live.
            </p>
            <p className="hint">
              If the codes differ, someone is not in the same encrypted meeting: leave and tell the host.
            </p>
          </>
        ) : (
          <p>No code yet.</p>
        )}
      </section>
      <section aria-labelledby="membership-code-h">
        <h3 id="membership-code-h">Membership code</h3>
        {e2ee.membershipCode ? (
          <p className="security-code" data-testid="membership-code">
            {e2ee.membershipCode}
          </p>
        ) : (
          <p>No code yet.</p>
        )}
        <p>
          It changes only when someone joins or leaves the encryption group: read it aloud once, and if it
          ever differs between two of you, someone is in the group that one of you does not see.
        </p>
      </section>
      <section aria-labelledby="changes-h">
        <h3 id="changes-h">Changes to the encryption group</h3>
        {snapshot.groupNotices.length > 0 ? (
          <ol className="group-notices" aria-label="Changes to the encryption group">
            {snapshot.groupNotices.map((n) => (
              <li key={n.id} data-epoch={n.epoch}>
                <span className="chat-time">{clock.format(n.at)}</span>{' '}
                <span className="group-notice-text">{n.text}</span>
              </li>
            ))}
          </ol>
        ) : (
          <p>Nobody was added or removed since you joined.</p>
        )}
        <p className="hint">Names come from the encryption group itself, not from the server.</p>
      </section>
      <section aria-labelledby="dec-h">
        <h3 id="dec-h">Media decryption</h3>
        {recent.length > 0 && (
          <ul className="decrypt-issues">
            {recent.map((i) => (
              <li key={i.participantId}>
                Media from <strong>{i.displayName}</strong> did not decrypt ({i.failures} frames dropped). If
                this continues, compare security codes.
              </li>
            ))}
          </ul>
        )}
        <MediaSummary people={snapshot.people} hasIssues={recent.length > 0} />
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
