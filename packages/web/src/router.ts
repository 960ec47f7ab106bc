import { useSyncExternalStore } from 'react';

/**
 * A tiny path router: `/` (home) and `/m/<id>` (a meeting). The server answers every
 * `/m/*` with index.html. Navigation uses the History API; the host secret stays in the
 * fragment (`#host=…`), which browsers never send to the server.
 */
export type Route = { page: 'home' } | { page: 'meeting'; meetingId: string } | { page: 'not-found' };

const MEETING_PATH = /^\/m\/([A-Za-z0-9_-]{4,64})\/?$/;

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '/index.html') return { page: 'home' };
  const m = MEETING_PATH.exec(pathname);
  if (m?.[1]) return { page: 'meeting', meetingId: m[1] };
  return { page: 'not-found' };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(to: string): void {
  window.history.pushState(null, '', to);
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
