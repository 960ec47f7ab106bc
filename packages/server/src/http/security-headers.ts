import type { FastifyInstance } from 'fastify';

/**
 * The security headers of every answer (docs/architecture.md, "Security headers"). The root of
 * the HTTP app sets COMMON_HEADERS, HSTS over HTTPS and API_CSP on every answer; the web app
 * replaces the CSP with pageCsp() on its own answers (pages, scripts, the E2EE worker, styles:
 * a worker runs under the CSP of its script's answer, so the assets carry the page's policy).
 */

/**
 * Powerful features the app uses, on its own origin only, and every other feature browsers
 * gate behind Permissions-Policy turned off, for this page and anything it might ever frame.
 * Names Chromium does not know make it log an error on every page, so the list holds only
 * features current Chromium recognises (the browser tests fail on such an error); Firefox
 * ignores the header. Debian's Chromium 150 does not know `speaker-selection` (output device
 * choice, `selectAudioOutput`), so it is left at its default, this origin only: the app does
 * not call it, and letting our own page pick a speaker reveals nothing to anyone else.
 */
const PERMISSIONS: Record<string, 'self' | 'none'> = {
  camera: 'self',
  microphone: 'self',
  'display-capture': 'self',
  // The invite link's and the security code's Copy buttons.
  'clipboard-write': 'self',
  // Remote video and audio play as they arrive (the default allowlist, stated).
  autoplay: 'self',
  accelerometer: 'none',
  'browsing-topics': 'none',
  'clipboard-read': 'none',
  'encrypted-media': 'none',
  fullscreen: 'none',
  gamepad: 'none',
  geolocation: 'none',
  gyroscope: 'none',
  hid: 'none',
  'idle-detection': 'none',
  'local-fonts': 'none',
  magnetometer: 'none',
  midi: 'none',
  'otp-credentials': 'none',
  payment: 'none',
  'picture-in-picture': 'none',
  'publickey-credentials-create': 'none',
  'publickey-credentials-get': 'none',
  'screen-wake-lock': 'none',
  serial: 'none',
  'storage-access': 'none',
  usb: 'none',
  'window-management': 'none',
  'xr-spatial-tracking': 'none',
};

export const PERMISSIONS_POLICY = Object.entries(PERMISSIONS)
  .map(([feature, allow]) => `${feature}=${allow === 'self' ? '(self)' : '()'}`)
  .join(', ');

/** On every answer. */
const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors 'none' in the CSP, for browsers that only know the old header.
  'x-frame-options': 'DENY',
  // No window of another origin keeps a handle on ours (window.opener), nor ours on theirs.
  'cross-origin-opener-policy': 'same-origin',
  // Pages of other sites cannot load our answers as images, scripts or media (no-cors reads).
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': PERMISSIONS_POLICY,
};

/**
 * HSTS, sent when browsers reach the server over HTTPS: a year, the server's own host only.
 * Not `includeSubDomains` (hosts below Conclave's are not Conclave's to pin; its cookies are
 * `__Host-` and so never shared with them) and not `preload` (a decision for the domain's owner).
 */
export const HSTS = 'max-age=31536000';

/** The CSP of answers that are not the web app's (JSON of the API, /healthz, errors): nothing may load. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The web app's CSP. Scripts, the E2EE module worker and styles come only from this origin
 * (no inline script or style, no eval: the build has none, tests/csp.browser.test.ts checks);
 * `connect-src 'self'` covers the API and, in CSP Level 3 browsers, the `/ws` WebSocket of the
 * same host (ws: for an http page, wss: for an https one); `wsOrigin` (the public URL's, when
 * one is configured) names it for browsers that do not. Media elements play MediaStreams
 * (srcObject, no URL) so media-src needs nothing beyond the default; the one image is the
 * `data:` favicon of index.html.
 */
export function pageCsp(wsOrigin?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "worker-src 'self'",
    `connect-src 'self'${wsOrigin ? ` ${wsOrigin}` : ''}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "object-src 'none'",
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The WebSocket origin of a public URL (`https://h` → `wss://h`), for pageCsp(). */
export function webSocketOrigin(publicUrl: string): string {
  const u = new URL(publicUrl);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}`;
}

/** Adds the headers every answer carries to `app` (the root; call it before registering the parts). */
export function addSecurityHeaders(app: FastifyInstance, opts: { https: boolean }): void {
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(COMMON_HEADERS);
    reply.header('content-security-policy', API_CSP);
    if (opts.https) reply.header('strict-transport-security', HSTS);
  });
}
