import { useId, useState, type FormEvent } from 'react';
import type { AdminReportResponse, ModerationAction } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { ErrorBox } from '../components/common.js';
import { humanError, type HumanError } from '../errors.js';

type Report = AdminReportResponse['report'];

/** Each action: its label, and the sentence the confirmation asks about. */
const ACTIONS: Record<
  ModerationAction,
  { label: string; confirm: (name: string, days: number) => string; needsAccount: boolean }
> = {
  dismiss: {
    label: 'Dismiss the report (no action)',
    confirm: () => 'Dismiss this report? Nothing happens to the reported participant.',
    needsAccount: false,
  },
  warn: {
    label: 'Warn the account (its account page shows the warning)',
    confirm: (n) => `Warn ${n}? The warning appears on their account page.`,
    needsAccount: true,
  },
  suspend: {
    label: 'Suspend the account',
    confirm: (n, d) =>
      `Suspend ${n} for ${d} ${d === 1 ? 'day' : 'days'}? Their sessions and live connections end now; until then they cannot sign in, host or join as that account.`,
    needsAccount: true,
  },
  ban: {
    label: 'Ban (the account, and its encryption keys from every meeting of this server)',
    confirm: (n) =>
      `Ban ${n}? The account cannot sign in again, and its encryption keys (a guest’s key for a guest) are refused in every meeting of this server.`,
    needsAccount: false,
  },
  revoke_e2ee: {
    label: 'Revoke end-to-end encrypted hosting (a new phone check is needed)',
    confirm: (n) =>
      `Revoke ${n}’s end-to-end encrypted hosting? They need a new phone check (within the number’s yearly limit) to host E2EE meetings again.`,
    needsAccount: true,
  },
  end_meetings: {
    label: 'End the account’s live meetings',
    confirm: (n) => `End every meeting ${n} is hosting now, for everyone in them?`,
    needsAccount: true,
  },
};

/** The actions on a report, each behind a confirmation. `onDone` reloads the report. */
export function ModerationActions({ report, onDone }: { report: Report; onDone: (outcome: string) => void }) {
  const ids = useId();
  const [action, setAction] = useState<ModerationAction | undefined>();
  const [days, setDays] = useState(7);
  const [note, setNote] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<HumanError | undefined>();
  const hasAccount = report.reportedAccount !== undefined;
  const name = report.reportedAccount
    ? `${report.reportedAccount.displayName || report.reportedName} (${report.reportedAccount.email})`
    : `the guest “${report.reportedName}”`;

  const ask = (e: FormEvent) => {
    e.preventDefault();
    if (action) setConfirming(true);
  };

  const act = async () => {
    if (!action) return;
    setBusy(true);
    setError(undefined);
    try {
      const res = await accountApi.moderationAction(report.id, {
        action,
        days: action === 'suspend' ? days : undefined,
        note: note.trim(),
      });
      setConfirming(false);
      setNote('');
      const done = `${ACTIONS[action].label.replace(/ \(.*$/, '')}: done.`;
      onDone(res.report.outcome ? `${done} The reporter reads: “${res.report.outcome}”` : done);
    } catch (e) {
      setError(humanError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card admin-actions" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Act on this report</h2>
      <form onSubmit={ask}>
        <fieldset>
          <legend>Action</legend>
          {(Object.keys(ACTIONS) as ModerationAction[]).map((a) => {
            const disabled = ACTIONS[a].needsAccount && !hasAccount;
            return (
              <div className="radio" key={a}>
                <input
                  type="radio"
                  id={`${ids}-${a}`}
                  name={`${ids}-action`}
                  value={a}
                  checked={action === a}
                  disabled={disabled}
                  onChange={() => {
                    setAction(a);
                    setConfirming(false);
                  }}
                />
                <label htmlFor={`${ids}-${a}`}>
                  {ACTIONS[a].label}
                  {disabled && <span className="hint"> — no account is known for this participant</span>}
                </label>
              </div>
            );
          })}
        </fieldset>
        {action === 'suspend' && (
          <div className="field">
            <label htmlFor={`${ids}-days`}>Days of suspension (1–365)</label>
            <input
              id={`${ids}-days`}
              type="number"
              min={1}
              max={365}
              value={days}
              onChange={(e) => setDays(Math.min(365, Math.max(1, Math.round(Number(e.target.value) || 1))))}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor={`${ids}-note`}>
            Note for the moderation log (optional; the reporter does not see it)
          </label>
          <textarea
            id={`${ids}-note`}
            rows={2}
            maxLength={1000}
            value={note}
            onChange={(e) => setNote(e.target.value)}
          />
        </div>
        {!confirming && (
          <button type="submit" disabled={!action}>
            Continue…
          </button>
        )}
      </form>
      {confirming && action && (
        <div className="admin-confirm" role="alertdialog" aria-labelledby={`${ids}-confirm`}>
          <p id={`${ids}-confirm`}>{ACTIONS[action].confirm(name, days)}</p>
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={() => void act()} autoFocus>
              {busy ? 'Working…' : 'Yes, do it'}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {error && <ErrorBox error={error} />}
    </section>
  );
}
