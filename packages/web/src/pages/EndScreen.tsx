import type { ClientState } from '@conclave/client';
import { useFocusOnMount } from '../components/common.js';
import { ReportFromSaved } from '../report/ReportFromSaved.js';
import { navigate } from '../router.js';

const TEXT: Partial<Record<ClientState, { title: string; next: string; canRejoin: boolean }>> = {
  left: {
    title: 'You left the meeting.',
    next: 'You can rejoin while it is still going on.',
    canRejoin: true,
  },
  ended: {
    title: 'The host ended the meeting for everyone.',
    next: 'Ask the host for a new link if you need to meet again.',
    canRejoin: false,
  },
  removed: {
    title: 'The host removed you from the meeting.',
    next: 'If you think this is a mistake, contact the host.',
    canRejoin: false,
  },
  denied: {
    title: 'The host did not let you in.',
    next: 'If you think this is a mistake, contact the host and ask to be admitted.',
    canRejoin: true,
  },
};

export function EndScreen({
  state,
  reason,
  meetingId,
  onRejoin,
}: {
  state: ClientState;
  /** The server's reason for a removal (the host's, or the moderators' for a blocked account or key). */
  reason?: string | undefined;
  meetingId: string;
  onRejoin: () => void;
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const known = TEXT[state] ?? {
    title: 'You are no longer in the meeting.',
    next: 'You can try to rejoin.',
    canRejoin: true,
  };
  // A removal names who did it: the host, or this server's moderators (a suspended or banned account or key).
  const t =
    state === 'removed' && reason
      ? { ...known, title: `${reason.charAt(0).toUpperCase()}${reason.slice(1).replace(/\.$/, '')}.` }
      : known;
  return (
    <main className="page narrow">
      <h1 tabIndex={-1} ref={heading}>
        {t.title}
      </h1>
      <p>{t.next}</p>
      <div className="actions">
        {t.canRejoin && (
          <button type="button" className="primary" onClick={onRejoin}>
            Rejoin
          </button>
        )}
        <button type="button" onClick={() => navigate('/')}>
          Go to the home page
        </button>
      </div>
      <ReportFromSaved meetingId={meetingId} />
    </main>
  );
}
