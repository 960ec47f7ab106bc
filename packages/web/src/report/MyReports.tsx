import { useEffect, useId, useState } from 'react';
import type { MyReport } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { REASON_TEXT } from './reasons.js';
import './report.css';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The account page's "Your reports": what this account reported, and what the moderators decided. */
export function MyReports() {
  const ids = useId();
  const [reports, setReports] = useState<MyReport[] | undefined>();
  const [error, setError] = useState<HumanError | undefined>();
  useEffect(() => {
    let live = true;
    accountApi.myReports().then(
      (r) => live && setReports(r),
      (e: unknown) => live && setError(humanError(e)),
    );
    return () => {
      live = false;
    };
  }, []);
  return (
    <section className="card" aria-labelledby={`${ids}-h`} data-testid="my-reports">
      <h2 id={`${ids}-h`}>Your reports</h2>
      {error && <ErrorBox error={error} />}
      {!reports && !error && <p aria-busy="true">Loading your reports…</p>}
      {reports?.length === 0 && <p className="hint">You have not reported anyone.</p>}
      {reports && reports.length > 0 && (
        <ul className="saved-meetings">
          {reports.map((r) => (
            <li key={r.id} data-report-id={r.id} data-status={r.status}>
              <strong>{r.reportedName}</strong> — {REASON_TEXT[r.reason]},{' '}
              {when.format(new Date(r.createdAt))}:{' '}
              {r.status === 'open' ? 'the moderators have not decided yet.' : (r.outcome ?? 'decided.')}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
