import { useEffect, useState } from 'react';
import type { ModerationLogEntry } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { AppLink, ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { AdminGate } from './AdminGate.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

const ACTION_TEXT: Record<ModerationLogEntry['action'], string> = {
  dismiss: 'Dismissed',
  warn: 'Warned',
  suspend: 'Suspended',
  ban: 'Banned',
  revoke_e2ee: 'E2EE hosting revoked',
  end_meetings: 'Live meetings ended',
  evidence_opened: 'Evidence opened',
  evidence_expired: 'Evidence deleted (retention)',
  lifted: 'Lifted',
};

/** `/admin/log`: the moderation audit log, newest first. */
export function AdminLogPage() {
  return (
    <AdminGate title="Moderation log">
      <Log />
    </AdminGate>
  );
}

function Log() {
  const [entries, setEntries] = useState<ModerationLogEntry[] | undefined>();
  const [error, setError] = useState<HumanError | undefined>();
  useEffect(() => {
    let live = true;
    accountApi.moderationLog().then(
      (e) => live && setEntries(e),
      (e: unknown) => live && setError(humanError(e)),
    );
    return () => {
      live = false;
    };
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (!entries) return <p aria-busy="true">Loading the log…</p>;
  if (entries.length === 0) return <p>Nothing logged yet.</p>;
  return <LogTable entries={entries} />;
}

/** Log entries as rows (also the report page's history of actions). */
export function LogTable({ entries }: { entries: ModerationLogEntry[] }) {
  return (
    <table className="admin-table" aria-label="Moderation log">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">Report</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id} data-action={e.action}>
            <td>{when.format(new Date(e.at))}</td>
            <td>{e.actor}</td>
            <td>{ACTION_TEXT[e.action]}</td>
            <td>{e.reportId ? <AppLink to={`/admin/reports/${e.reportId}`}>{e.reportId}</AppLink> : '—'}</td>
            <td>{e.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
