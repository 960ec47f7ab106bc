import { useEffect, useSyncExternalStore } from 'react';
import type { MeResponse } from '@conclave/protocol';
import { humanError, type HumanError } from '../errors.js';
import { accountApi } from './api.js';

/** Who is signed in on this page, as the whole app sees it. */
export type AccountState =
  | { status: 'loading' }
  | { status: 'signed_out' }
  | { status: 'signed_in'; me: MeResponse }
  /** `/api/me` could not be read (server unreachable): shown with a retry. */
  | { status: 'error'; error: HumanError };

/**
 * The current account (`GET /api/me`) for React: pages read it with `useAccount()`; sign-in,
 * sign-up, TOTP and the phone check hand their `meResponse` to `setMe`, sign-out calls
 * `setSignedOut`. The first `useAccount()` (or `ready()`) loads it.
 */
class AccountStore {
  private state: AccountState = { status: 'loading' };
  private loading: Promise<AccountState> | undefined;
  private started = false;
  private readonly listeners = new Set<() => void>();

  get = (): AccountState => this.state;

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  /** Loads the account once (later calls return the current state, or the load in flight). */
  ensureLoaded(): Promise<AccountState> {
    if (!this.started) return this.refresh();
    return this.loading ?? Promise.resolve(this.state);
  }

  /** Reads `/api/me` again (after a change elsewhere, or when the server said `unauthenticated`). */
  refresh(): Promise<AccountState> {
    this.started = true;
    const run = accountApi.me().then(
      (me): AccountState => (me ? { status: 'signed_in', me } : { status: 'signed_out' }),
      (e: unknown): AccountState => ({ status: 'error', error: humanError(e) }),
    );
    const tracked = run.then((next) => {
      if (this.loading === tracked) {
        this.loading = undefined;
        this.set(next);
      }
      return this.state;
    });
    this.loading = tracked;
    return tracked;
  }

  setMe(me: MeResponse): void {
    this.started = true;
    this.loading = undefined;
    this.set({ status: 'signed_in', me });
  }

  setSignedOut(): void {
    this.started = true;
    this.loading = undefined;
    this.set({ status: 'signed_out' });
  }

  private set(next: AccountState): void {
    this.state = next;
    for (const cb of this.listeners) cb();
  }
}

export const accountStore = new AccountStore();

export function useAccount(): AccountState {
  useEffect(() => void accountStore.ensureLoaded(), []);
  return useSyncExternalStore(accountStore.subscribe, accountStore.get);
}

/** The name to show for an account: its display name, else its e-mail address. */
export function accountName(me: MeResponse): string {
  return me.account.displayName || me.account.email;
}
