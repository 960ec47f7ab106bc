import { randomBytes } from 'node:crypto';
import { createTokenRequest } from '@conclave/client';
import {
  CSRF_HEADER,
  PHONE_CHECK_DEVICE_HEADER,
  verificationCheckResponse,
  verificationKeyResponse,
  verificationStartResponse,
} from '@conclave/protocol';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import {
  BlindSigner,
  buildHttpApp,
  createDatabase,
  MeetingStore,
  migrateToLatest,
  type AccountsOptions,
  type Db,
  type ServerConfig,
  type SmsMessage,
  type SmsProvider,
} from '../../src/index.js';
import { fakeClock, memoryLogger, tempDir, testConfig } from '../helpers.js';

/** An SMS provider that keeps what it was asked to send. */
export class CapturingSms implements SmsProvider {
  readonly name = 'capture';
  readonly sent: SmsMessage[] = [];
  fail = false;
  async send(message: SmsMessage): Promise<void> {
    if (this.fail) throw new Error('capture provider told to fail');
    this.sent.push(message);
  }
  lastCode(): string {
    const last = this.sent.at(-1);
    if (!last) throw new Error('no SMS sent');
    return last.code;
  }
}

let signer: Promise<BlindSigner> | undefined;
/** One 2048-bit key for every app in a test file (key generation is the slow part). */
export function sharedSigner(): Promise<BlindSigner> {
  signer ??= BlindSigner.generate();
  return signer;
}

/** Fast scrypt for tests (the production cost is in accounts/passwords.ts). */
export const TEST_SCRYPT = { ln: 10, r: 8, p: 1 };

export const STRONG_PASSWORD = 'correct horse battery staple';

export interface Harness {
  app: FastifyInstance;
  db: Db;
  dataDir: string;
  sms: CapturingSms;
  clock: ReturnType<typeof fakeClock>;
  log: ReturnType<typeof memoryLogger>;
  client(ip?: string): TestClient;
  /** The phone check's side of a browser: no cookies, its own device id. */
  phoneCheck(ip?: string, device?: string): PhoneCheckClient;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    accounts?: Omit<AccountsOptions, 'db'>;
    config?: Partial<ServerConfig>;
    /** Keep the configured SMS provider (console / http) instead of capturing. */
    realSms?: boolean;
    dataDir?: string;
  } = {},
): Promise<Harness> {
  const dir = opts.dataDir ? undefined : tempDir('conclave-accounts-');
  const dataDir = opts.dataDir ?? dir!.path;
  const db = createDatabase({ dataDir });
  await migrateToLatest(db);
  const log = memoryLogger();
  const clock = fakeClock();
  const sms = new CapturingSms();
  const app = await buildHttpApp({
    config: testConfig(dataDir, { publicUrl: 'http://meet.test', ...opts.config }),
    store: new MeetingStore(db),
    logger: log.logger,
    webRoot: null,
    accounts: {
      db,
      now: clock.now,
      passwordScrypt: TEST_SCRYPT,
      blindSigner: await sharedSigner(),
      ...(opts.realSms ? {} : { sms }),
      ...opts.accounts,
    },
  });
  await app.ready();
  return {
    app,
    db,
    dataDir,
    sms,
    clock,
    log,
    client: (ip) => new TestClient(app, ip),
    phoneCheck: (ip, device) => new PhoneCheckClient(app, ip, device),
    async close() {
      await app.close();
      await db.destroy();
      dir?.remove();
    },
  };
}

/** A browser stand-in: keeps cookies, sends the CSRF header like the web app does. */
export class TestClient {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly app: FastifyInstance,
    public ip = '198.51.100.7',
  ) {}

  private cookieHeader(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: LightMyRequestResponse): void {
    for (const c of res.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      const cleared =
        c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now());
      if (cleared) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  cookie(suffix: string): string | undefined {
    for (const [k, v] of this.cookies) if (k.endsWith(suffix)) return v;
    return undefined;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const cookie = this.cookieHeader();
    const res = await this.app.inject({
      method: 'GET',
      url,
      remoteAddress: this.ip,
      headers: cookie ? { cookie } : {},
    });
    this.keep(res);
    return res;
  }

  /**
   * POST (or DELETE) JSON. `csrf`: true = the cookie's value (fetching one first if needed),
   * false = no header, a string = that header.
   */
  async send(
    method: 'POST' | 'DELETE',
    url: string,
    body?: Record<string, unknown>,
    csrf: boolean | string = true,
  ): Promise<LightMyRequestResponse> {
    if (csrf === true && !this.cookie('conclave_csrf')) await this.get('/api/auth/csrf');
    const headers: Record<string, string> = {};
    const token = csrf === true ? this.cookie('conclave_csrf') : csrf === false ? undefined : csrf;
    if (token !== undefined) headers[CSRF_HEADER] = token;
    if (body) headers['content-type'] = 'application/json';
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    const res = await this.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers,
      ...(body ? { payload: { v: 1, ...body } } : {}),
    });
    this.keep(res);
    return res;
  }

  /** Cookie and CSRF headers as the web app sends them, for hand-made requests (raw bodies). */
  async authHeaders(): Promise<Record<string, string>> {
    if (!this.cookie('conclave_csrf')) await this.get('/api/auth/csrf');
    return { cookie: this.cookieHeader() ?? '', [CSRF_HEADER]: this.cookie('conclave_csrf') ?? '' };
  }

  post(url: string, body?: Record<string, unknown>, csrf: boolean | string = true) {
    return this.send('POST', url, body, csrf);
  }

  /** A new account, signed in: the sign-up (which sets no session), then the sign-in, as the SDK does. */
  async signup(email: string, password = STRONG_PASSWORD): Promise<{ id: string }> {
    const res = await this.post('/api/auth/signup', { email, password, displayName: email.split('@')[0] });
    expect(res.statusCode, res.body).toBe(202);
    const signin = await this.signin(email, password);
    expect(signin.statusCode, signin.body).toBe(200);
    return (signin.json() as { account: { id: string } }).account;
  }

  async signin(email: string, password = STRONG_PASSWORD): Promise<LightMyRequestResponse> {
    return this.post('/api/auth/signin', { email, password });
  }
}

/**
 * The phone check's requests as the SDK sends them: no cookie, no CSRF header, the check-device
 * id in `PHONE_CHECK_DEVICE_HEADER` (random per client unless given).
 */
export class PhoneCheckClient {
  constructor(
    readonly app: FastifyInstance,
    public ip = '198.51.100.7',
    public device = randomBytes(16).toString('base64url'),
  ) {}

  private send(method: 'GET' | 'POST', url: string, body?: Record<string, unknown>) {
    return this.app.inject({
      method,
      url,
      remoteAddress: this.ip,
      headers: {
        [PHONE_CHECK_DEVICE_HEADER]: this.device,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { payload: { v: 1, ...body } } : {}),
    });
  }

  key() {
    return this.send('GET', '/api/verification/key');
  }

  start(phoneNumber: string, extra: Record<string, unknown> = {}) {
    return this.send('POST', '/api/verification/start', { phoneNumber, ...extra });
  }

  check(body: { verificationId: string; code: string; blindedMessage: string }) {
    return this.send('POST', '/api/verification/check', body);
  }
}

export function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect((res.json() as { error: { code: string } }).error.code).toBe(code);
}

/**
 * The phone check as a client does it — start, check the SMS code with a blinded message,
 * finalize, all without cookies — returning the token, not yet redeemed (on an account).
 */
export async function obtainPhoneToken(
  h: Pick<Harness, 'sms' | 'phoneCheck'>,
  phoneNumber = '+44 7400 123456',
  c: PhoneCheckClient = h.phoneCheck(),
): Promise<{ message: string; signature: string; keyId: string }> {
  const started = await c.start(phoneNumber);
  expect(started.statusCode, started.body).toBe(201);
  const { verificationId } = verificationStartResponse.parse(started.json());
  const key = verificationKeyResponse.parse((await c.key()).json());
  const request = await createTokenRequest(key.publicKey);
  const checked = await c.check({
    verificationId,
    code: h.sms.lastCode(),
    blindedMessage: request.blindedMessage,
  });
  expect(checked.statusCode, checked.body).toBe(200);
  const { blindSignature, keyId } = verificationCheckResponse.parse(checked.json());
  expect(keyId).toBe(key.keyId);
  return { ...(await request.finalize(blindSignature)), keyId };
}

/**
 * Files `count` open reports against an account as rows, each from another guest network with
 * verified evidence (what the risk engine counts; the submission route, with its verification
 * and limits, is tested in test/reports/).
 */
export async function fileReports(
  h: Pick<Harness, 'db' | 'clock'>,
  userId: string,
  count: number,
): Promise<void> {
  for (let n = 0; n < count; n++) {
    await h.db
      .insertInto('reports')
      .values({
        id: `report-${userId}-${n}`,
        meeting_id: 'meeting0000a',
        status: 'open',
        reason: 'harassment',
        text: '',
        reporter_user_id: null,
        reporter_network: `198.51.${n}.0/24`,
        reported_user_id: userId,
        reported_guest_key: null,
        reported_name: 'Reported',
        // Evidence that verified as the account's: the risk engine counts only such reports.
        verification: JSON.stringify({
          chat: [{ verdict: 'account_key', detail: "signed by this account's registered device key" }],
          screenshots: 0,
          signerAccountId: userId,
        }),
        sealed_evidence: null,
        sealed_key_id: null,
        evidence_expires_at: null,
        created_at: new Date(h.clock.now()).toISOString(),
        decided_at: null,
        outcome: null,
      })
      .execute();
  }
}
