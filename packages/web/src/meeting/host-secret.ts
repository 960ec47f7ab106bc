/**
 * The host secret of a host link (`/m/<id>#host=<secret>`).
 *
 * The fragment is never sent to the server, but it stays in the address bar: a host who copies
 * the URL to invite someone would hand out host rights. So the page takes the secret out of the
 * URL as soon as it reads it (`history.replaceState`: no reload, and the host link's history
 * entry is replaced rather than followed by a new one) and keeps it in this tab's
 * sessionStorage, keyed by meeting id, so that a reload or a rejoin of the same tab still joins as
 * host. It is never written to localStorage, logged, or put in the DOM. Without sessionStorage
 * (storage disabled) it is kept in memory: a reload then joins as a participant.
 */

const PREFIX = 'conclave.hostSecret.';
const memory = new Map<string, string>();

function store(meetingId: string, secret: string): void {
  memory.set(meetingId, secret);
  try {
    sessionStorage.setItem(PREFIX + meetingId, secret);
  } catch {
    // Storage disabled: memory only.
  }
}

function stored(meetingId: string): string | undefined {
  try {
    const s = sessionStorage.getItem(PREFIX + meetingId);
    if (s) return s;
  } catch {
    // Storage disabled.
  }
  return memory.get(meetingId);
}

/**
 * Moves a `host=` parameter of the current URL's fragment into this tab's storage for
 * `meetingId` and removes it from the address bar (other fragment parameters stay). Returns
 * the secret found in the URL, if any. Safe to call repeatedly.
 */
function captureHostSecret(meetingId: string): string | undefined {
  const hash = window.location.hash;
  if (!hash.includes('host=')) return undefined;
  const params = new URLSearchParams(hash.slice(1));
  const secret = params.get('host') ?? undefined;
  params.delete('host');
  const rest = params.toString();
  const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : '');
  // Keep the router's history state; replace the entry so that Back never returns to the secret.
  window.history.replaceState(window.history.state, '', url);
  if (secret) store(meetingId, secret);
  return secret || undefined;
}

/** The host secret for `meetingId`: from the URL (then removed from it), else from this tab's storage. */
export function hostSecretFor(meetingId: string): string | undefined {
  return captureHostSecret(meetingId) ?? stored(meetingId);
}

/** Forgets the secret (the meeting ended: it cannot be hosted again). */
export function forgetHostSecret(meetingId: string): void {
  memory.delete(meetingId);
  try {
    sessionStorage.removeItem(PREFIX + meetingId);
  } catch {
    // Storage disabled.
  }
}

/** The participant link of a meeting (what the server's `joinUrl` is): never a secret, never a passcode. */
export function inviteLink(meetingId: string): string {
  return `${window.location.origin}/m/${encodeURIComponent(meetingId)}`;
}
