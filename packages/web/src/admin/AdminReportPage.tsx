import { useEffect, useId, useState } from 'react';
import type { AdminReportResponse, ModerationKeyResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';
import { REASON_TEXT } from '../report/reasons.js';
import { AdminGate } from './AdminGate.js';
import { LogTable } from './AdminLogPage.js';
import { ReportTable, STATUS_TEXT } from './AdminQueuePage.js';
import { EvidencePanel, VerdictBadge } from './EvidencePanel.js';
import { ModerationActions } from './ModerationActions.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** `/admin/reports/<id>`: one report, its evidence, the reported account's history, the actions. */
export function AdminReportPage({ reportId }: { reportId: string }) {
  return (
    <AdminGate title="Report">
      <ReportView reportId={reportId} />
    </AdminGate>
  );
}

function ReportView({ reportId }: { reportId: string }) {
  const [data, setData] = useState<AdminReportResponse | undefined>();
  const [serverKey, setServerKey] = useState<ModerationKeyResponse | undefined>();
  const [error, setError] = useState<HumanError | undefined>();
  const [generation, setGeneration] = useState(0);
  const [outcome, setOutcome] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    Promise.all([accountApi.adminReport(reportId), accountApi.moderationKey()]).then(
      ([r, k]) => {
        if (!live) return;
        setData(r);
        setServerKey(k);
      },
      (e: unknown) => live && setError(humanError(e)),
    );
    return () => {
      live = false;
    };
  }, [reportId, generation]);

  if (error) return <ErrorBox error={error} />;
  if (!data) return <p aria-busy="true">Loading the report…</p>;
  const r = data.report;
  return (
    <>
      <Facts report={r} />
      <ServerChecks report={r} />
      <EvidencePanel report={r} serverKey={serverKey?.publicKey} />
      <History history={data.history} reportId={r.id} />
      {outcome && (
        <p role="status" className="status-ok" data-testid="action-outcome">
          {outcome}
        </p>
      )}
      <ModerationActions
        report={r}
        onDone={(text) => {
          setOutcome(text);
          setGeneration((g) => g + 1);
        }}
      />
    </>
  );
}

function Facts({ report: r }: { report: AdminReportResponse['report'] }) {
  return (
    <section className="card" aria-label="The report">
      <dl className="facts">
        <dt>Reported</dt>
        <dd data-testid="reported">
          {r.reportedName}
          {r.reportedAccount
            ? ` — account ${r.reportedAccount.email} (${r.reportedAccount.displayName || 'no display name'}, id ${r.reportedAccount.id})`
            : r.reportedGuestKey
              ? ` — a guest, MLS key ${r.reportedGuestKey}`
              : ' — no account could be found for this participant'}
        </dd>
        <dt>Reason</dt>
        <dd>{REASON_TEXT[r.reason]}</dd>
        <dt>Status</dt>
        <dd data-testid="report-status" data-status={r.status}>
          {STATUS_TEXT[r.status]}
        </dd>
        <dt>Reporter</dt>
        <dd>{r.reporter.kind === 'guest' ? 'a guest' : (r.reporter.displayName ?? 'an account')}</dd>
        <dt>Meeting</dt>
        <dd>
          <code>{r.meetingId}</code>
        </dd>
        <dt>Received</dt>
        <dd>{when.format(new Date(r.createdAt))}</dd>
      </dl>
      <h2>The reporter’s words</h2>
      <p className="report-text">{r.text || <span className="hint">(none)</span>}</p>
    </section>
  );
}

function ServerChecks({ report: r }: { report: AdminReportResponse['report'] }) {
  const ids = useId();
  const v = r.verification;
  return (
    <section className="card" aria-labelledby={`${ids}-h`} data-testid="server-checks">
      <h2 id={`${ids}-h`}>What the server found when the report arrived</h2>
      {v.chat.length === 0 && !v.clip && v.screenshots === 0 && <p>No evidence was attached.</p>}
      <ul className="report-verdicts">
        {v.chat.map((c, i) => (
          <li key={i}>
            Chat message {i + 1}
            {c.senderName ? ` from ${c.senderName}` : ''}: <VerdictBadge verdict={c.verdict} /> {c.detail}
          </li>
        ))}
        {v.clip && (
          <li>
            Clip{v.clip.senderName ? ` from ${v.clip.senderName}` : ''}:{' '}
            <VerdictBadge verdict={v.clip.verdict} /> {v.clip.verifiedFrames} of {v.clip.frames} frames,{' '}
            {(v.clip.durationMs / 1000).toFixed(1)} s. {v.clip.detail}
          </li>
        )}
        {v.screenshots > 0 && (
          <li>
            {v.screenshots === 1 ? 'One screenshot' : `${v.screenshots} screenshots`}:{' '}
            <VerdictBadge verdict="unverified" />
          </li>
        )}
      </ul>
    </section>
  );
}

function History({ history, reportId }: { history: AdminReportResponse['history']; reportId: string }) {
  const ids = useId();
  const a = history.account;
  const earlier = history.reports.filter((r) => r.id !== reportId);
  return (
    <section className="card" aria-labelledby={`${ids}-h`} data-testid="history">
      <h2 id={`${ids}-h`}>The reported account’s history</h2>
      {a ? (
        <dl className="facts">
          <dt>Status</dt>
          <dd data-testid="account-status" data-status={a.status}>
            {a.status === 'suspended'
              ? `Suspended${a.suspendedUntil ? ` until ${when.format(new Date(a.suspendedUntil))}` : ''}`
              : a.status === 'banned'
                ? 'Banned'
                : 'Active'}
          </dd>
          <dt>Account made</dt>
          <dd>{when.format(new Date(a.createdAt))}</dd>
          <dt>Plan</dt>
          <dd>{a.plan}</dd>
          <dt>E2EE hosting</dt>
          <dd>{a.e2eeEntitled ? 'Unlocked' : 'Not unlocked'}</dd>
          <dt>Open reports</dt>
          <dd>{a.openReports}</dd>
        </dl>
      ) : (
        <p>No account is known for this participant (a guest, or the server could not tell).</p>
      )}
      <h3>Earlier reports ({earlier.length})</h3>
      {earlier.length === 0 ? <p className="hint">None.</p> : <ReportTable reports={earlier} />}
      <h3>Moderation actions ({history.actions.length})</h3>
      {history.actions.length === 0 ? <p className="hint">None.</p> : <LogTable entries={history.actions} />}
      {a && (
        <>
          <h3>Recent sign-in and risk events ({a.recentAuthEvents.length})</h3>
          {a.recentAuthEvents.length === 0 ? (
            <p className="hint">None recorded.</p>
          ) : (
            <table className="admin-table" aria-label="Recent account events">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Risk signals</th>
                </tr>
              </thead>
              <tbody>
                {a.recentAuthEvents.map((e, i) => (
                  <tr key={i}>
                    <td>{when.format(new Date(e.at))}</td>
                    <td>{e.action}</td>
                    <td>{e.outcome}</td>
                    <td>{e.reasons.join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
