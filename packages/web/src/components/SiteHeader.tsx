import { useState } from 'react';
import { accountApi } from '../account/api.js';
import { accountName, accountStore, useAccount } from '../account/store.js';
import { currentLocation, navigate } from '../router.js';
import { AppLink } from './common.js';

/** The top bar of every page outside meetings: the app's name, and who is signed in. */
export function SiteHeader() {
  const account = useAccount();
  const [signingOut, setSigningOut] = useState(false);
  const signOut = async () => {
    setSigningOut(true);
    try {
      await accountApi.signOut();
      accountStore.setSignedOut();
    } catch {
      // Whatever the server said, show what it thinks now.
      await accountStore.refresh();
    } finally {
      setSigningOut(false);
    }
    navigate('/');
  };
  return (
    <header className="site-header">
      <AppLink to="/" className="brand">
        Conclave
      </AppLink>
      <nav aria-label="Account" className="account-nav">
        {account.status === 'signed_in' && (
          <>
            <span className="signed-in-as" data-testid="signed-in-as">
              Signed in as <strong>{accountName(account.me)}</strong>
            </span>
            <AppLink to="/account">Account</AppLink>
            <button type="button" onClick={() => void signOut()} disabled={signingOut}>
              {signingOut ? 'Signing out…' : 'Sign out'}
            </button>
          </>
        )}
        {account.status === 'signed_out' && (
          <>
            <AppLink to="/signin" returnTo={currentLocation}>
              Sign in
            </AppLink>
            <AppLink to="/signup" returnTo={currentLocation} className="button">
              Create account
            </AppLink>
          </>
        )}
      </nav>
    </header>
  );
}
