import {
  createMeetingResponse,
  CSRF_HEADER,
  csrfResponse,
  deviceKeyResponse,
  devicesResponse,
  errorResponse,
  meetingResponse,
  meResponse,
  okResponse,
  PHONE_CHECK_DEVICE_HEADER,
  PROTOCOL_VERSION,
  signinResponse,
  totpEnrollResponse,
  verificationCheckResponse,
  verificationKeyResponse,
  verificationStartResponse,
  accountNoticesResponse,
  adminReportListResponse,
  adminReportResponse,
  moderationActionResponse,
  moderationKeyResponse,
  moderationLogResponse,
  myReportsResponse,
  submitReportResponse,
  type AccountNoticesResponse,
  type AdminReportListQuery,
  type AdminReportResponse,
  type AdminReportSummary,
  type CreateMeetingRequest,
  type CreateMeetingResponse,
  type DeviceKey,
  type MeetingInfo,
  type MeResponse,
  type ModerationActionRequest,
  type ModerationActionResponse,
  type ModerationKeyResponse,
  type ModerationLogEntry,
  type ModerationLogQuery,
  type MyReport,
  type SubmitReportRequest,
  type SubmitReportResponse,
  type VerificationKeyResponse,
  type VerificationStartResponse,
} from '@conclave/protocol';
import { toBase64 } from '@conclave/crypto';
import { ConclaveError } from '../errors.js';
import { CookieJar } from './cookie-jar.js';
import { createTokenRequest } from './verification-token.js';

/** The part of a zod schema used here. */
interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false };
}

export interface AccountApiOptions {
  /** http(s)://host:port of the server; default '' = the page's own origin (browsers). */
  serverUrl?: string;
  /**
   * Where cookies live. Browsers keep them (leave this out); elsewhere a `CookieJar` is made
   * unless one is given, so a bot keeps its session like a browser would.
   */
  cookies?: CookieJar;
  fetch?: typeof fetch;
  /**
   * The random id sent as `PHONE_CHECK_DEVICE_HEADER` with the phone check's `start` and
   * `check` (and with nothing else): the server limits checks per id. The web app keeps one in
   * localStorage; by default each `AccountApi` makes its own.
   */
  phoneCheckDevice?: () => string;
}

export type SignInResult =
  | { status: 'signed_in'; me: MeResponse }
  /** The account has TOTP and the risk engine asks for it: call `signInWithTotp(ticket, code)`. */
  | { status: 'totp_required'; ticket: string; expiresInSeconds: number };

/** A finalized verification token: kept by the client until it redeems it on an account. */
export interface VerificationToken {
  message: string;
  signature: string;
  keyId: string;
}

/** `createMeeting` input: the protocol's request without its version; every field has a default. */
export type CreateMeetingInput = Partial<Omit<CreateMeetingRequest, 'v'>>;

const isBrowser = typeof document !== 'undefined';

/**
 * The account side of the HTTP API for browsers and Node: sign-up/in/out, TOTP, device keys and
 * the key directory, the one-time phone check with its blind-signed token, and meeting
 * creation. Answers are validated with the protocol's schemas; errors are `ConclaveError`s with
 * the server's stable code and HTTP status.
 *
 * CSRF: state-changing requests repeat the CSRF cookie in `x-csrf-token`; the token comes from
 * `GET /api/auth/csrf` (or a sign-in/sign-up answer) and is fetched again once when the server
 * says `csrf_failed` (another tab may have rotated it).
 *
 * The phone check's requests — the key, `start` and `check` — go without any cookie
 * (`credentials: 'omit'`: browsers also send them over a connection of their own) and carry only
 * the phone-check device id, so nothing in them names the account; `redeemVerificationToken`,
 * an account request, is for later (the web app waits minutes): see
 * packages/server/src/accounts/README.md.
 */
export class AccountApi {
  readonly serverUrl: string;
  readonly cookies: CookieJar | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly phoneCheckDevice: () => string;
  private csrf: string | undefined;
  private verificationKeyInfo: VerificationKeyResponse | undefined;

  constructor(opts: AccountApiOptions = {}) {
    this.serverUrl = (opts.serverUrl ?? '').replace(/\/+$/, '');
    this.cookies = opts.cookies ?? (isBrowser ? undefined : new CookieJar());
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    const device = randomId();
    this.phoneCheckDevice = opts.phoneCheckDevice ?? (() => device);
  }

  /** The `Cookie` header for a WebSocket upgrade outside browsers (undefined in browsers). */
  cookieHeader(): string | undefined {
    return this.cookies?.header();
  }

  // --- accounts ---

  /** The signed-in account, or undefined when nobody is signed in. */
  async me(): Promise<MeResponse | undefined> {
    try {
      return this.remember(await this.request('GET', '/api/me', meResponse));
    } catch (e) {
      if (e instanceof ConclaveError && e.code === 'unauthenticated') return undefined;
      throw e;
    }
  }

  /**
   * Creates the account, then signs in with the same e-mail and password. The server answers
   * sign-ups alike whether or not the e-mail has an account (and changes nothing of an existing
   * one), so the sign-in is what tells: it works for a new account and for the owner of an
   * existing one, and is `invalid_credentials` when the e-mail has an account with another
   * password.
   */
  async signUp(input: { email: string; password: string; displayName?: string }): Promise<SignInResult> {
    await this.request('POST', '/api/auth/signup', okResponse, input);
    return this.signIn(input.email, input.password);
  }

  /**
   * `totp`: the authenticator code, sent with the password after the server answered
   * `step_up_required` (failed sign-ins make the password alone not enough).
   */
  async signIn(email: string, password: string, totp?: string): Promise<SignInResult> {
    const body = totp === undefined ? { email, password } : { email, password, totp };
    const answer = await this.request('POST', '/api/auth/signin', signinResponse, body);
    if ('stepUp' in answer) {
      return { status: 'totp_required', ticket: answer.ticket, expiresInSeconds: answer.expiresInSeconds };
    }
    return { status: 'signed_in', me: this.remember(answer) };
  }

  async signInWithTotp(ticket: string, code: string): Promise<MeResponse> {
    return this.remember(await this.request('POST', '/api/auth/signin/totp', meResponse, { ticket, code }));
  }

  async signOut(): Promise<void> {
    await this.request('POST', '/api/auth/signout', okResponse, {});
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.request('POST', '/api/auth/password', okResponse, { currentPassword, newPassword });
  }

  /** Starts TOTP enrolment: show the secret (and its otpauth URI) to the user, then `confirmTotp`. */
  async enrollTotp(): Promise<{ secret: string; otpauthUri: string }> {
    const { secret, otpauthUri } = await this.request(
      'POST',
      '/api/auth/totp/enroll',
      totpEnrollResponse,
      {},
    );
    return { secret, otpauthUri };
  }

  async confirmTotp(code: string): Promise<MeResponse> {
    return this.request('POST', '/api/auth/totp/confirm', meResponse, { code });
  }

  async disableTotp(code: string): Promise<MeResponse> {
    return this.request('POST', '/api/auth/totp/disable', meResponse, { code });
  }

  // --- device keys and the key directory ---

  /** Registers this device's MLS signature public key on the signed-in account. */
  async registerDevice(deviceId: string, publicKey: Uint8Array): Promise<DeviceKey> {
    const body = { deviceId, publicKey: toBase64(publicKey) };
    return (await this.request('POST', '/api/devices', deviceKeyResponse, body)).device;
  }

  /**
   * Removes a device key from the account (a lost or retired browser): members' clients stop
   * showing that device as a verified account.
   */
  async deleteDevice(deviceId: string): Promise<void> {
    await this.request('DELETE', `/api/devices/${encodeURIComponent(deviceId)}`, okResponse);
  }

  async devices(): Promise<DeviceKey[]> {
    return (await this.request('GET', '/api/devices', devicesResponse)).devices;
  }

  /** The directory entry of a (user, device), or undefined when there is none. */
  async lookupDevice(userId: string, deviceId: string): Promise<DeviceKey | undefined> {
    const path = `/api/directory/${encodeURIComponent(userId)}/${encodeURIComponent(deviceId)}`;
    try {
      return (await this.request('GET', path, deviceKeyResponse)).device;
    } catch (e) {
      if (e instanceof ConclaveError && e.code === 'unknown_device') return undefined;
      throw e;
    }
  }

  // --- the one-time phone check ---

  /**
   * The token-signing key (cached; fetched without cookies, like the check it is for). Every
   * client gets the same `keyId`: compare it to spot a per-user key.
   */
  async verificationKey(): Promise<VerificationKeyResponse> {
    this.verificationKeyInfo ??= await this.request(
      'GET',
      '/api/verification/key',
      verificationKeyResponse,
      undefined,
      this.phoneCheck(),
    );
    return this.verificationKeyInfo;
  }

  /**
   * Sends the SMS code. No cookie and no session: the server does not learn which account asks
   * (so it cannot refuse an account that is unlocked already; check `entitlement.e2ee` first).
   */
  startPhoneVerification(input: {
    phoneNumber: string;
    country?: string;
  }): Promise<VerificationStartResponse> {
    return this.request(
      'POST',
      '/api/verification/start',
      verificationStartResponse,
      input,
      this.phoneCheck(),
    );
  }

  /**
   * Sends the SMS code with a blinded token message and returns the finalized token. The request
   * carries no cookie; the token is redeemed on the account by `redeemVerificationToken`.
   */
  async checkPhoneCode(verificationId: string, code: string): Promise<VerificationToken> {
    const key = await this.verificationKey();
    const request = await createTokenRequest(key.publicKey);
    const answer = await this.request(
      'POST',
      '/api/verification/check',
      verificationCheckResponse,
      { verificationId, code, blindedMessage: request.blindedMessage },
      this.phoneCheck(),
    );
    if (answer.keyId !== key.keyId) {
      throw new ConclaveError(
        'invalid_token',
        'the server signed with another key than the one it published',
      );
    }
    let token: { message: string; signature: string };
    try {
      token = await request.finalize(answer.blindSignature);
    } catch {
      throw new ConclaveError('invalid_token', 'the server’s blind signature does not verify');
    }
    return { ...token, keyId: answer.keyId };
  }

  /**
   * Redeems a token on the signed-in account: E2EE hosting is unlocked. Right after the check,
   * the timing would tie the check to the account: redeem it minutes later (the web app waits a
   * random 1–15 minutes, or until the next sign-in).
   */
  async redeemVerificationToken(token: VerificationToken): Promise<MeResponse> {
    return this.request('POST', '/api/verification/redeem', meResponse, token);
  }

  // --- meetings ---

  /** Creates a meeting (signed in; E2EE needs the entitlement). `totp` answers `step_up_required`. */
  createMeeting(input: CreateMeetingInput = {}): Promise<CreateMeetingResponse> {
    return this.request('POST', '/api/meetings', createMeetingResponse, input);
  }

  async getMeeting(id: string): Promise<MeetingInfo> {
    return (await this.request('GET', `/api/meetings/${encodeURIComponent(id)}`, meetingResponse)).meeting;
  }

  // --- Report a User (issue 13) ---

  /**
   * Sends a report (`buildReport` makes the request). Signed in, it is the account's report;
   * signed out, a guest's (the server limits guests per network).
   */
  async submitReport(report: SubmitReportRequest): Promise<SubmitReportResponse['report']> {
    return (await this.request('POST', '/api/reports', submitReportResponse, report)).report;
  }

  /** The signed-in account's reports with their outcomes. */
  async myReports(): Promise<MyReport[]> {
    return (await this.request('GET', '/api/reports/mine', myReportsResponse)).reports;
  }

  /** The moderators' warnings to the signed-in account, newest first. */
  async accountNotices(): Promise<AccountNoticesResponse['warnings']> {
    return (await this.request('GET', '/api/account/notices', accountNoticesResponse)).warnings;
  }

  // --- moderation (admin accounts only: others get `forbidden`) ---

  /** The moderation queue, newest first. `account`: an e-mail address or account id. */
  async adminReports(filter: Partial<AdminReportListQuery> = {}): Promise<AdminReportSummary[]> {
    return (await this.request('GET', `/api/admin/reports${query(filter)}`, adminReportListResponse)).reports;
  }

  /** One report with its verdicts, its sealed evidence and the reported account's history. */
  adminReport(id: string): Promise<AdminReportResponse> {
    return this.request('GET', `/api/admin/reports/${encodeURIComponent(id)}`, adminReportResponse);
  }

  moderationAction(
    id: string,
    action: Omit<ModerationActionRequest, 'v'>,
  ): Promise<ModerationActionResponse> {
    return this.request(
      'POST',
      `/api/admin/reports/${encodeURIComponent(id)}/actions`,
      moderationActionResponse,
      action,
    );
  }

  /** The moderation audit log, newest first. */
  async moderationLog(filter: Partial<ModerationLogQuery> = {}): Promise<ModerationLogEntry[]> {
    return (await this.request('GET', `/api/admin/moderation-log${query(filter)}`, moderationLogResponse))
      .entries;
  }

  /** The moderators' current HPKE public key (what the key file loaded on the console must match). */
  moderationKey(): Promise<ModerationKeyResponse> {
    return this.request('GET', '/api/admin/moderation-key', moderationKeyResponse);
  }

  // --- plumbing ---

  private remember(me: MeResponse): MeResponse {
    if (me.csrfToken) this.csrf = me.csrfToken;
    return me;
  }

  /** Options of a phone-check request: no cookies, the phone-check device id. */
  private phoneCheck(): { anonymous: true; headers: Record<string, string> } {
    return { anonymous: true, headers: { [PHONE_CHECK_DEVICE_HEADER]: this.phoneCheckDevice() } };
  }

  private async csrfToken(): Promise<string> {
    this.csrf ??= (await this.request('GET', '/api/auth/csrf', csrfResponse)).csrfToken;
    return this.csrf;
  }

  private async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: Schema<T>,
    body?: object,
    opts: { anonymous?: boolean; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const send = async (): Promise<T> => {
      const headers: Record<string, string> = { ...opts.headers };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (method !== 'GET' && !opts.anonymous) headers[CSRF_HEADER] = await this.csrfToken();
      const cookie = opts.anonymous ? undefined : this.cookies?.header();
      if (cookie) headers.cookie = cookie;
      let res: Response;
      try {
        res = await this.fetchFn(`${this.serverUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify({ v: PROTOCOL_VERSION, ...body }),
          credentials: opts.anonymous ? 'omit' : 'same-origin',
        });
      } catch (e) {
        throw new ConclaveError('connection_failed', `cannot reach the server: ${(e as Error).message}`, 0);
      }
      if (!opts.anonymous) this.cookies?.store(res.headers.getSetCookie());
      const answer: unknown = await res.json().catch(() => undefined);
      if (!res.ok) {
        const err = errorResponse.safeParse(answer);
        if (err.success) throw new ConclaveError(err.data.error.code, err.data.error.message, res.status);
        throw new ConclaveError('internal_error', `the server answered HTTP ${res.status}`, res.status);
      }
      const parsed = schema.safeParse(answer);
      if (!parsed.success) {
        throw new ConclaveError('internal_error', `unexpected answer from ${path}`, res.status);
      }
      return parsed.data;
    };
    try {
      return await send();
    } catch (e) {
      // A stale token (rotated by a sign-in in another tab): fetch the current one and retry once.
      if (e instanceof ConclaveError && e.code === 'csrf_failed' && !opts.anonymous) {
        this.csrf = undefined;
        return send();
      }
      throw e;
    }
  }
}

/** `?k=v&…` of the defined, non-empty fields (or ''). */
function query(fields: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q.size > 0 ? `?${q.toString()}` : '';
}

/** 128 random bits, base64url. */
function randomId(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(16)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
