import { ModeBadge } from '../components/common.js';
import type { SessionSnapshot } from '../meeting/snapshot.js';

export function WaitingScreen({ snapshot, onLeave }: { snapshot: SessionSnapshot; onLeave: () => void }) {
  return (
    <main className="page narrow waiting">
      <h1>Waiting for the host to let you in</h1>
      {snapshot.refusal && (
        <p className="notice-box" data-code={snapshot.refusal.code}>
          {snapshot.refusal.title} {snapshot.refusal.next}
        </p>
      )}
      <p role="status">
        You are in the waiting room of{' '}
        {snapshot.meeting.title ? `“${snapshot.meeting.title}”` : 'the meeting'}. This page continues by
        itself once the host admits you.
      </p>
      <ModeBadge mode={snapshot.meeting.mode} long />
      <p>
        <button type="button" onClick={onLeave}>
          Leave the waiting room
        </button>
      </p>
    </main>
  );
}
