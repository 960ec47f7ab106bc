import { useSyncExternalStore } from 'react';

/**
 * A tiny path router: `/` (home), `/m/<id>` (a meeting), `/signin`, `/signup`, `/account`,
 * `/account/unlock` (the one-time phone check), `/report/<meeting id>` (reporting after a
 * meeting) and the moderation console `/admin`, `/admin/reports/<id>`, `/admin/log`. The
 * server answers every one of these paths with index.html. Navigation uses the History API; the host secret stays in the fragment
 * (`#host=…`), which browsers never send to the server.
 */
export type Route =
  | { page: 'home' }
  | { page: 'meeting'; meetingId: string }
  | { page: 'signin' }
  | { page: 'signup' }
  | { page: 'account' }
  | { page: 'unlock' }
  | { page: 'report'; meetingId: string }
  | { page: 'admin' }
  | { page: 'admin-report'; reportId: string }
  | { page: 'admin-log' }
  | { page: 'not-found' };

const MEETING_PATH = /^\/m\/([A-Za-z0-9_-]{4,64})\/?$/;
const REPORT_PATH = /^\/report\/([A-Za-z0-9_-]{4,64})\/?$/;
const ADMIN_REPORT_PATH = /^\/admin\/reports\/([A-Za-z0-9_-]{1,64})\/?$/;

const PAGES: Record<string, Route> = {
  '/': { page: 'home' },
  '/index.html': { page: 'home' },
  '/signin': { page: 'signin' },
  '/signup': { page: 'signup' },
  '/account': { page: 'account' },
  '/account/unlock': { page: 'unlock' },
  '/admin': { page: 'admin' },
  '/admin/log': { page: 'admin-log' },
};

function parseRoute(pathname: string): Route {
  const known = PAGES[pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname];
  if (known) return known;
  const m = MEETING_PATH.exec(pathname);
  if (m?.[1]) return { page: 'meeting', meetingId: m[1] };
  const r = REPORT_PATH.exec(pathname);
  if (r?.[1]) return { page: 'report', meetingId: r[1] };
  const a = ADMIN_REPORT_PATH.exec(pathname);
  if (a?.[1]) return { page: 'admin-report', reportId: a[1] };
  return { page: 'not-found' };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.scrollTo(0, 0);
  listeners.forEach((l) => l());
}

function subscribe(cb: () => void): () => void {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

export function useRoute(): Route {
  const path = useSyncExternalStore(subscribe, () => window.location.pathname);
  return parseRoute(path);
}

/** The page's own path, query and fragment (what a sign-in should come back to). */
export function currentLocation(): string {
  return window.location.pathname + window.location.search + window.location.hash;
}

const RETURN_KEY = 'conclave.returnTo';

/**
 * Where the sign-in and sign-up pages go when done. Kept in sessionStorage (this tab only), not
 * in the URL: a host link's fragment carries the host secret and must not end up in a query
 * string that the server sees.
 */
export function setReturnTo(path: string | undefined): void {
  // From one sign-in page to the other: keep where the first one was to return to.
  if (path && isSignInPage(path)) return;
  try {
    if (path && isAppPath(path)) sessionStorage.setItem(RETURN_KEY, path);
    else sessionStorage.removeItem(RETURN_KEY);
  } catch {
    // Storage disabled: the pages go home instead.
  }
}

/** The remembered return path (once), or `fallback`. Only same-origin app paths, never the sign-in pages. */
export function takeReturnTo(fallback = '/'): string {
  let path: string | null = null;
  try {
    path = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
  } catch {
    // Storage disabled.
  }
  if (!path || !isAppPath(path) || isSignInPage(path)) return fallback;
  return path;
}

function isSignInPage(path: string): boolean {
  const page = parseRoute(path.replace(/[?#].*$/, '')).page;
  return page === 'signin' || page === 'signup';
}

/** A path on this origin ("/…", not "//host…"). */
function isAppPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\');
}

/** A meeting link or id as pasted by a user → the meeting id (and the link's fragment), or undefined. */
export function meetingIdFromInput(input: string): { id: string; hash: string } | undefined {
  const text = input.trim();
  if (/^[A-Za-z0-9_-]{4,64}$/.test(text)) return { id: text, hash: '' };
  try {
    const url = new URL(text, window.location.origin);
    const m = MEETING_PATH.exec(url.pathname);
    return m?.[1] ? { id: m[1], hash: url.hash } : undefined;
  } catch {
    return undefined;
  }
}
