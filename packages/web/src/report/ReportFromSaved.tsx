import { useId, useState } from 'react';
import type { ReportablePerson } from '@conclave/client';
import { REPORT_AFTER_MEETING_DAYS } from '@conclave/protocol';
import { AppLink, useFocusOnMount } from '../components/common.js';
import { ReportDialog } from './ReportDialog.js';
import { loadSavedMeeting, savedMeetings } from './saved-meetings.js';

const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * Reporting after a meeting, from what this device kept of it (saved-meetings.ts): the people
 * it saw, each with a Report button. No clip or screenshot any more (the dialog says why).
 */
export function ReportFromSaved({ meetingId }: { meetingId: string }) {
  const ids = useId();
  const [open, setOpen] = useState(false);
  const [person, setPerson] = useState<ReportablePerson | undefined>();
  // Read once (it can be a large JSON text): the device's copy does not change under this view.
  const [snapshot] = useState(() => loadSavedMeeting(meetingId));
  if (!snapshot) return null;
  const others = snapshot.people.filter((p) => !p.isSelf);
  const until = snapshot.savedAt + REPORT_AFTER_MEETING_DAYS * 86_400_000;
  return (
    <section className="card report-after" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Report someone from this meeting</h2>
      <p className="hint">
        This device keeps the participant list and the chat of this meeting until {date.format(until)}, so you
        can report someone until then. Media clips cannot be attached after the meeting.
      </p>
      {!open ? (
        <button type="button" onClick={() => setOpen(true)} disabled={others.length === 0}>
          Report someone from this meeting
        </button>
      ) : (
        <ul className="people" aria-label="People in this meeting">
          {others.map((p) => (
            <li key={`${p.signatureKey ?? p.participantId ?? p.displayName}`} className="person">
              <div className="person-line">
                <span className="person-name">{p.displayName}</span>
                <button type="button" className="report-person-action" onClick={() => setPerson(p)}>
                  Report… <span className="visually-hidden">{p.displayName}</span>
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {others.length === 0 && <p className="hint">Nobody else was in the meeting.</p>}
      {person && (
        <ReportDialog
          snapshot={snapshot}
          person={person}
          live={undefined}
          onClose={() => setPerson(undefined)}
        />
      )}
    </section>
  );
}

/** `/report/<meeting id>`: the same, reached from the account page after the end screen is gone. */
export function ReportAfterPage({ meetingId }: { meetingId: string }) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const [snap] = useState(() => loadSavedMeeting(meetingId));
  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        {snap ? `Report from “${snap.title || 'Meeting'}”` : 'Nothing to report from'}
      </h1>
      {snap ? (
        <ReportFromSaved meetingId={meetingId} />
      ) : (
        <p>
          This device keeps nothing of that meeting: meetings can be reported from here for{' '}
          {REPORT_AFTER_MEETING_DAYS} days after they took place, from the device that was in them.{' '}
          <AppLink to="/account">Your account page</AppLink> lists the meetings you can still report from.
        </p>
      )}
    </main>
  );
}

/** The account page's list of meetings this device can still report from. */
export function SavedMeetingsList() {
  const ids = useId();
  const [list] = useState(() => savedMeetings());
  return (
    <section className="card" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Meetings you can still report from</h2>
      {list.length === 0 ? (
        <p className="hint">
          None on this device. After a meeting, this device keeps its participant list and chat for{' '}
          {REPORT_AFTER_MEETING_DAYS} days so you can report someone from it.
        </p>
      ) : (
        <ul className="saved-meetings">
          {list.map((m) => (
            <li key={m.meetingId}>
              <AppLink to={`/report/${m.meetingId}`}>{m.title || 'Meeting'}</AppLink>{' '}
              <span className="hint">
                ({date.format(m.savedAt)}; until {date.format(m.until)})
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
