import { AccountApi } from '@conclave/client';

/**
 * The one `AccountApi` of the page (same origin: the browser keeps the session and CSRF cookies).
 * Every HTTP call of the app — accounts, the phone check, meetings — goes through it, so the
 * CSRF token it caches is shared and errors are `ConclaveError`s with the server's code.
 */
export const accountApi = new AccountApi();
