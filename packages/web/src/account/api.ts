import { AccountApi } from '@conclave/client';

const CHECK_DEVICE_KEY = 'conclave.phoneCheckDevice';
let checkDevice: string | undefined;

/**
 * The random id this browser sends with the phone check's requests only (the server limits
 * checks per id; it is not the device cookie and names no account). Kept in localStorage so
 * the limit holds across visits; made here, never by the server.
 */
function phoneCheckDevice(): string {
  if (checkDevice) return checkDevice;
  try {
    checkDevice = localStorage.getItem(CHECK_DEVICE_KEY) ?? undefined;
  } catch {
    // Private browsing: one for this page.
  }
  if (!checkDevice || !/^[A-Za-z0-9_-]{22,64}$/.test(checkDevice)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    checkDevice = btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    try {
      localStorage.setItem(CHECK_DEVICE_KEY, checkDevice);
    } catch {
      // Kept in this page only.
    }
  }
  return checkDevice;
}

/**
 * The one `AccountApi` of the page (same origin: the browser keeps the session and CSRF cookies).
 * Every HTTP call of the app — accounts, the phone check, meetings — goes through it, so the
 * CSRF token it caches is shared and errors are `ConclaveError`s with the server's code. The
 * phone check's own requests go without cookies, with `phoneCheckDevice` (see the SDK).
 */
export const accountApi = new AccountApi({ phoneCheckDevice });
