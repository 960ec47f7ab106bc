import { useEffect, useId, useState } from 'react';
import type { AccountNoticesResponse } from '@conclave/protocol';
import { accountApi } from '../account/api.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/**
 * The moderators' warnings to this account (GET /api/account/notices), on the account page.
 * Nothing is shown when there are none (or when they cannot be read: the page has enough
 * other sections that say when the server is unreachable).
 */
export function ModerationWarnings() {
  const ids = useId();
  const [warnings, setWarnings] = useState<AccountNoticesResponse['warnings']>([]);
  useEffect(() => {
    let live = true;
    accountApi.accountNotices().then(
      (w) => live && setWarnings(w),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  if (warnings.length === 0) return null;
  return (
    <section className="card notice-warn" aria-labelledby={`${ids}-h`} data-testid="moderation-warnings">
      <h2 id={`${ids}-h`}>Warnings from the moderators</h2>
      <ul>
        {warnings.map((w) => (
          <li key={w.id}>
            {when.format(new Date(w.at))}: {w.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
