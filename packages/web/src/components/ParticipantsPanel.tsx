import { useState } from 'react';
import type { Participant } from '@conclave/protocol';
import { credentialLabel } from '../meeting/group-notices.js';
import { mediaStatusText } from '../meeting/media-status-text.js';
import type { MeetingSession } from '../meeting/session.js';
import type { Person, SessionSnapshot, WaitingPerson } from '../meeting/snapshot.js';

/**
 * Who this person is, as far as this page can tell. In E2EE meetings: the key directory's verdict
 * on the MLS credential (only a key registered on the account makes a "Verified account"). In
 * standard meetings and outside the group: what the server says.
 */
function AccountBadge({ p }: { p: Pick<Person, 'kind' | 'verification'> }) {
  switch (p.verification) {
    case undefined:
      return (
        <span className={p.kind === 'user' ? 'badge badge-account' : 'badge'} data-verification="server">
          {p.kind === 'user' ? 'Account' : 'Guest'}
        </span>
      );
    case 'verified':
      return (
        <span className="badge badge-account" data-verification="verified">
          Verified account
        </span>
      );
    case 'unverified':
      return (
        <span className="badge badge-warn" data-verification="unverified">
          <WarningIcon /> Unverified account claim
        </span>
      );
    case 'guest':
      return (
        <span className="badge" data-verification="guest">
          Guest
        </span>
      );
    case 'checking':
      return (
        <span className="badge" data-verification="checking">
          Checking…
        </span>
      );
    case 'unavailable':
      return (
        <span className="badge" data-verification="unavailable">
          Account not checked
        </span>
      );
  }
}

function WarningIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <path d="M8 1.5 15 14H1z" fill="currentColor" />
      <path d="M8 6v4M8 11.5v1.2" stroke="#fff2db" strokeWidth="1.6" />
    </svg>
  );
}

function Badges({ p }: { p: Person }) {
  return (
    <>
      {p.isSelf && <span className="badge">You</span>}
      {p.role === 'host' && <span className="badge badge-host">Host</span>}
      {p.role === 'cohost' && <span className="badge badge-host">Co-host</span>}
      <AccountBadge p={p} />
    </>
  );
}

function PersonRow({
  p,
  session,
  snapshot,
  onReport,
}: {
  p: Person;
  session: MeetingSession;
  snapshot: SessionSnapshot;
  onReport: ((p: Person) => void) | undefined;
}) {
  const c = session.client;
  const canModerate = snapshot.role === 'host' || snapshot.role === 'cohost';
  const pid = p.participantId;
  const actionable = canModerate && !p.isSelf && pid !== undefined && p.role !== 'host';
  return (
    <li className="person" data-verification={p.verification} data-media={p.media}>
      <div className="person-line">
        <span className="person-name">{p.displayName}</span>
        <Badges p={p} />
        <span className="person-media">{p.audio ? 'mic on' : 'muted'}</span>
      </div>
      {mediaStatusText(p.media) && (
        <p
          className={
            p.media === 'cannot_decrypt' || p.media === 'unattested' ? 'person-warning' : 'hint person-note'
          }
        >
          {mediaStatusText(p.media)}
        </p>
      )}
      {p.keyFingerprint && (
        <p className="hint person-note person-key">
          Key <code>{p.keyFingerprint}</code>
        </p>
      )}
      {p.verification === 'unverified' && (
        <p className="person-warning">
          Names an account, but this encryption key is not registered to that account: this may not be who
          they claim to be.
        </p>
      )}
      {p.verification === 'unavailable' && (
        <p className="hint person-note">
          The account claim could not be checked (the key directory did not answer).
        </p>
      )}
      {!p.isSelf && onReport && (
        <div className="person-actions">
          <button type="button" className="report-person-action" onClick={() => onReport(p)}>
            Report… <span className="visually-hidden">{p.displayName}</span>
          </button>
        </div>
      )}
      {actionable && (
        <div className="person-actions" role="group" aria-label={`Actions for ${p.displayName}`}>
          {p.audio && (
            <button type="button" onClick={() => c.mute(pid, 'audio')}>
              Mute <span className="visually-hidden">{p.displayName}</span>
            </button>
          )}
          {snapshot.role === 'host' && (
            <button
              type="button"
              onClick={() => c.setRole(pid, p.role === 'cohost' ? 'participant' : 'cohost')}
            >
              {p.role === 'cohost' ? 'Remove co-host' : 'Make co-host'}{' '}
              <span className="visually-hidden">{p.displayName}</span>
            </button>
          )}
          <button type="button" className="danger" onClick={() => c.remove(pid)}>
            Remove <span className="visually-hidden">{p.displayName}</span>
          </button>
          {/* A ban also refuses this account, device and encryption key later, and marks
              joiners from the same network for the host. */}
          <button type="button" className="danger" onClick={() => c.remove(pid, true)}>
            Ban <span className="visually-hidden">{p.displayName}</span>
          </button>
        </div>
      )}
    </li>
  );
}

/**
 * The server's mark on a waiting joiner who matches someone removed from this meeting: a
 * badge with words (not colour alone) and what it means, so the host decides knowingly.
 */
const PREVIOUSLY_REMOVED: Record<
  NonNullable<Participant['previouslyRemoved']>,
  { badge: string; detail: string }
> = {
  identity: {
    badge: 'Removed earlier from this meeting',
    detail: 'Same device, account or encryption key as someone who was removed from this meeting.',
  },
  network: {
    badge: 'Same network as a banned participant',
    detail:
      'Joins from the network of someone banned from this meeting. It may be someone else on that network, such as a colleague in the same office.',
  },
};

/**
 * What admitting `w` adds to the encryption group, as the Admit button says it: "Gabi (guest ·
 * 3f9a 12c0 88ab 7d21)" — the name, the key directory's verdict on the credential and the
 * fingerprint of the key it will be added with.
 */
function admitted(w: WaitingPerson): string {
  const cred = credentialLabel(w.verification, w.kind);
  return `${w.displayName} (${w.keyFingerprint ? `${cred} · ${w.keyFingerprint}` : cred})`;
}

function WaitingRoom({ waiting, session }: { waiting: WaitingPerson[]; session: MeetingSession }) {
  return (
    <section aria-labelledby="waiting-h">
      <h3 id="waiting-h">Waiting room ({waiting.length})</h3>
      <ul className="people">
        {waiting.map((w) => (
          <li className="person" key={w.id} data-verification={w.verification}>
            <div className="person-line">
              <span className="person-name">{w.displayName}</span>
              <AccountBadge p={w} />
              {w.previouslyRemoved && (
                <span className="badge badge-warn" data-previously-removed={w.previouslyRemoved}>
                  <WarningIcon /> {PREVIOUSLY_REMOVED[w.previouslyRemoved].badge}
                </span>
              )}
            </div>
            {w.previouslyRemoved && (
              <p className="person-warning">{PREVIOUSLY_REMOVED[w.previouslyRemoved].detail}</p>
            )}
            <div className="person-actions" role="group" aria-label={`Waiting: ${w.displayName}`}>
              {/* The button names the credential that will join the encryption group. */}
              <button type="button" className="primary" onClick={() => session.client.admit(w.id)}>
                Admit {admitted(w)}
              </button>
              <button type="button" onClick={() => session.client.deny(w.id)}>
                Deny <span className="visually-hidden">{w.displayName}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function HostControls({ session, snapshot }: { session: MeetingSession; snapshot: SessionSnapshot }) {
  const [confirmEnd, setConfirmEnd] = useState(false);
  const c = session.client;
  const locked = snapshot.meeting.settings.locked;
  return (
    <section aria-labelledby="host-h" className="host-controls">
      <h3 id="host-h">Host controls</h3>
      <div className="actions">
        <button type="button" onClick={() => c.muteAll('audio')}>
          Mute everyone
        </button>
        <button type="button" onClick={() => c.lock(!locked)}>
          {locked ? 'Unlock meeting' : 'Lock meeting'}
        </button>
        {snapshot.role === 'host' &&
          (confirmEnd ? (
            <>
              <button type="button" className="danger" onClick={() => c.endForAll()} autoFocus>
                Yes, end for everyone
              </button>
              <button type="button" onClick={() => setConfirmEnd(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirmEnd(true)}>
              End meeting for all
            </button>
          ))}
      </div>
      {locked && <p className="hint">The meeting is locked: nobody new can join.</p>}
    </section>
  );
}

/** Who is in the meeting: in E2EE meetings, read from the MLS group (whoever is listed holds the keys). */
export function ParticipantsPanel({
  session,
  snapshot,
  onReport,
}: {
  session: MeetingSession;
  snapshot: SessionSnapshot;
  /** Opens the Report a User dialog for someone else. */
  onReport?: (p: Person) => void;
}) {
  const canModerate = snapshot.role === 'host' || snapshot.role === 'cohost';
  const e2ee = snapshot.meeting.mode === 'e2ee';
  return (
    <div className="panel-body">
      {canModerate && snapshot.waiting.length > 0 && (
        <WaitingRoom waiting={snapshot.waiting} session={session} />
      )}
      {canModerate && <HostControls session={session} snapshot={snapshot} />}
      <section aria-labelledby="in-h">
        <h3 id="in-h">In the meeting ({snapshot.people.length})</h3>
        {e2ee && snapshot.e2ee.active && (
          <p className="hint">
            This list is the meeting&apos;s encryption group: exactly these people can see and hear the
            meeting.
          </p>
        )}
        {e2ee && snapshot.e2ee.health === 'departed_member_present' && (
          <p className="person-warning">
            This list is the meeting&apos;s encryption group, and someone in it has left the meeting: they can
            still decrypt until the group removes them.
          </p>
        )}
        {e2ee && snapshot.e2ee.health === 'out_of_sync' && (
          <p className="person-warning">
            This device is out of sync with the encryption group: this list may not be who holds the keys now.
          </p>
        )}
        {e2ee && !snapshot.e2ee.active && snapshot.e2ee.health === 'ok' && (
          <p className="hint">
            You are not in the meeting&apos;s encryption group yet, so you cannot see who is.
          </p>
        )}
        <ul className="people" aria-label="People in the meeting">
          {snapshot.people.map((p) => (
            <PersonRow key={p.key} p={p} session={session} snapshot={snapshot} onReport={onReport} />
          ))}
        </ul>
      </section>
      {e2ee && snapshot.outsiders.length > 0 && (
        <section aria-labelledby="out-h">
          <h3 id="out-h">Connecting ({snapshot.outsiders.length})</h3>
          <p className="hint">
            Connected to the server but not in the encryption group yet: they cannot see or hear anything.
          </p>
          <ul className="people" aria-label="Connecting, not in the encryption group">
            {snapshot.outsiders.map((p) => (
              <PersonRow key={p.key} p={p} session={session} snapshot={snapshot} onReport={onReport} />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
