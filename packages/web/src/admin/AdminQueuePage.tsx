import { useEffect, useId, useState, type FormEvent } from 'react';
import type { AdminReportSummary } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { AppLink, ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { REASON_TEXT } from '../report/reasons.js';
import { AdminGate } from './AdminGate.js';

type StatusFilter = 'open' | 'all' | 'dismissed' | 'actioned';

interface Filter {
  status: StatusFilter;
  account: string;
  meeting: string;
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** `/admin`: the report queue, newest first, with its filters (open / all, by account, by meeting). */
export function AdminQueuePage() {
  return (
    <AdminGate title="Reports">
      <Queue />
    </AdminGate>
  );
}

function Queue() {
  const ids = useId();
  const [draft, setDraft] = useState<Filter>({ status: 'open', account: '', meeting: '' });
  const [filter, setFilter] = useState<Filter>(draft);
  const [reports, setReports] = useState<AdminReportSummary[] | undefined>();
  const [error, setError] = useState<HumanError | undefined>();

  useEffect(() => {
    let live = true;
    setReports(undefined);
    setError(undefined);
    accountApi
      .adminReports({
        status: filter.status === 'all' ? undefined : filter.status,
        account: filter.account.trim() || undefined,
        meeting: filter.meeting.trim() || undefined,
      })
      .then(
        (r) => live && setReports(r),
        (e: unknown) => live && setError(humanError(e)),
      );
    return () => {
      live = false;
    };
  }, [filter]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ ...draft });
  };

  return (
    <>
      <form className="card admin-filters" onSubmit={apply} aria-label="Filter reports">
        <div className="field">
          <label htmlFor={`${ids}-status`}>Status</label>
          <select
            id={`${ids}-status`}
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.target.value as StatusFilter })}
          >
            <option value="open">Open</option>
            <option value="all">All</option>
            <option value="actioned">Action taken</option>
            <option value="dismissed">Dismissed</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-account`}>Reported account (e-mail or id)</label>
          <input
            id={`${ids}-account`}
            value={draft.account}
            onChange={(e) => setDraft({ ...draft, account: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-meeting`}>Meeting id</label>
          <input
            id={`${ids}-meeting`}
            value={draft.meeting}
            onChange={(e) => setDraft({ ...draft, meeting: e.target.value })}
          />
        </div>
        <div className="field">
          <button type="submit" className="primary">
            Show reports
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} />}
      {!reports && !error && <p aria-busy="true">Loading reports…</p>}
      {reports && reports.length === 0 && <p>No report matches.</p>}
      {reports && reports.length > 0 && <ReportTable reports={reports} />}
    </>
  );
}

/** Reports as rows (also the report page's "earlier reports"). */
export function ReportTable({ reports }: { reports: AdminReportSummary[] }) {
  return (
    <table className="admin-table" aria-label="Reports">
      <thead>
        <tr>
          <th scope="col">Reported</th>
          <th scope="col">Reason</th>
          <th scope="col">Status</th>
          <th scope="col">Reporter</th>
          <th scope="col">Evidence (the server’s checks)</th>
          <th scope="col">Received</th>
        </tr>
      </thead>
      <tbody>
        {reports.map((r) => (
          <tr key={r.id} data-report-id={r.id} data-status={r.status}>
            <td>
              <AppLink to={`/admin/reports/${r.id}`}>{r.reportedName}</AppLink>
              <div className="hint">
                {r.reportedAccount
                  ? r.reportedAccount.email
                  : r.reportedGuestKey
                    ? 'guest (its key)'
                    : 'no account found'}
              </div>
            </td>
            <td>{REASON_TEXT[r.reason]}</td>
            <td>{STATUS_TEXT[r.status]}</td>
            <td>{r.reporter.kind === 'guest' ? 'a guest' : (r.reporter.displayName ?? 'an account')}</td>
            <td>
              {r.verificationSummary.length === 0 ? (
                <span className="hint">none attached</span>
              ) : (
                <ul>
                  {r.verificationSummary.map((line, i) => (
                    <li key={i}>{line}</li>
                  ))}
                </ul>
              )}
            </td>
            <td>{when.format(new Date(r.createdAt))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export const STATUS_TEXT: Record<AdminReportSummary['status'], string> = {
  open: 'Open',
  dismissed: 'Dismissed',
  actioned: 'Action taken',
};
