import type { ReactNode } from 'react';
import { useAccount } from '../account/store.js';
import { AppLink, useFocusOnMount } from '../components/common.js';
import { AccountStates } from '../pages/AccountPage.js';
import { currentLocation } from '../router.js';
import '../report/report.css';

/**
 * The moderation console's frame: its navigation, and the page only for admin accounts. Others
 * see "Admins only" (the server refuses them every moderation route anyway: 401 signed out,
 * 403 signed in; this check is for the page, not for security).
 */
export function AdminGate({ title, children }: { title: string; children: ReactNode }) {
  const account = useAccount();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  const admin = account.status === 'signed_in' && account.me.account.role === 'admin';
  return (
    <main className="page admin-page">
      {admin && (
        <nav className="admin-nav" aria-label="Moderation">
          <AppLink to="/admin">Reports</AppLink>
          <AppLink to="/admin/log">Moderation log</AppLink>
        </nav>
      )}
      <h1 tabIndex={-1} ref={heading}>
        {account.status === 'signed_in' && !admin ? 'Admins only' : title}
      </h1>
      {account.status === 'signed_in' ? (
        admin ? (
          children
        ) : (
          <p data-testid="admins-only">
            The moderation console is for this server’s administrators. Your account is not one.
          </p>
        )
      ) : (
        <AccountStates account={account} returnTo={currentLocation()} />
      )}
    </main>
  );
}
