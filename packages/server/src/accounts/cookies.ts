import { timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import { CSRF_HEADER } from '@conclave/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { replyError } from '../http/errors.js';
import { randomToken, SESSION_TTL_MS, sha256 } from './account-store.js';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Browsers cap cookie lifetimes at 400 days. */
const DEVICE_TTL_S = 400 * 86_400;

/**
 * The three cookies, all `Path=/`. Over HTTPS (the server's own certificate, or an https public
 * URL in front of it: tls.ts, reachedOverHttps) they are `Secure` and named with the `__Host-`
 * prefix (no Domain attribute allowed, so a sibling subdomain cannot plant one). Over plain HTTP
 * (localhost, a test LAN) they keep the plain names without `Secure`: browsers refuse `__Host-`
 * cookies that are not `Secure`, and drop `Secure` ones sent over http to anything but localhost.
 *
 * | cookie           | HttpOnly | SameSite | lifetime | holds                                      |
 * |------------------|----------|----------|----------|--------------------------------------------|
 * | conclave_session | yes      | Lax      | 30 days  | session id (the database keeps its SHA-256) |
 * | conclave_csrf    | no       | Strict   | browser session | CSRF token, read by the page        |
 * | conclave_device  | yes      | Lax      | 400 days | device id for the risk engine (SHA-256 kept) |
 *
 * CSRF (double submit): every state-changing request of the accounts API must send the CSRF
 * cookie's value in the `x-csrf-token` header. A page on another site can make the browser send
 * the cookie but cannot read it, and cannot add a custom header without a CORS preflight, which
 * this server never approves. The `__Host-` prefix closes the classic hole of double submit
 * (cookie injection from a subdomain) on https deployments; SameSite on the session cookie is a
 * second layer. The token is rotated at sign-in and sign-up.
 */
export class AuthCookies {
  readonly names: { session: string; csrf: string; device: string };

  constructor(private readonly secure: boolean) {
    const prefix = secure ? '__Host-' : '';
    this.names = {
      session: `${prefix}conclave_session`,
      csrf: `${prefix}conclave_csrf`,
      device: `${prefix}conclave_device`,
    };
  }

  private options(o: Partial<CookieSerializeOptions>): CookieSerializeOptions {
    return { path: '/', secure: this.secure, ...o };
  }

  private read(req: FastifyRequest, name: string): string | undefined {
    const value = req.cookies[name];
    return value !== undefined && TOKEN.test(value) ? value : undefined;
  }

  session(req: FastifyRequest): string | undefined {
    return this.sessionFrom(req.cookies);
  }

  /** The session id in parsed cookies (e.g. a WebSocket upgrade's Cookie header). */
  sessionFrom(cookies: Record<string, string | undefined>): string | undefined {
    const value = cookies[this.names.session];
    return value !== undefined && TOKEN.test(value) ? value : undefined;
  }

  setSession(reply: FastifyReply, id: string): void {
    reply.setCookie(
      this.names.session,
      id,
      this.options({ httpOnly: true, sameSite: 'lax', maxAge: SESSION_TTL_MS / 1000 }),
    );
  }

  clearSession(reply: FastifyReply): void {
    reply.clearCookie(this.names.session, this.options({ httpOnly: true, sameSite: 'lax' }));
  }

  csrf(req: FastifyRequest): string | undefined {
    return this.read(req, this.names.csrf);
  }

  /** Sets a fresh CSRF token and returns it (the page may also read it from the cookie). */
  issueCsrf(reply: FastifyReply): string {
    const token = randomToken();
    reply.setCookie(this.names.csrf, token, this.options({ httpOnly: false, sameSite: 'strict' }));
    return token;
  }

  /** SHA-256 of the device cookie, setting a new device cookie first when there is none. */
  deviceHash(req: FastifyRequest, reply: FastifyReply): string {
    let id = this.read(req, this.names.device);
    if (!id) {
      id = randomToken();
      reply.setCookie(
        this.names.device,
        id,
        this.options({ httpOnly: true, sameSite: 'lax', maxAge: DEVICE_TTL_S }),
      );
    }
    return sha256(id);
  }

  /**
   * Fastify preHandler: refuses (403 `csrf_failed`) a request whose `x-csrf-token` header is
   * missing or differs from the CSRF cookie. Put it on every state-changing route that relies on
   * the session cookie (the meeting API too, once it reads the session).
   */
  readonly csrfGuard = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const cookie = this.csrf(req);
    const header = req.headers[CSRF_HEADER];
    const ok =
      cookie !== undefined &&
      typeof header === 'string' &&
      header.length === cookie.length &&
      timingSafeEqual(Buffer.from(header), Buffer.from(cookie));
    if (!ok) {
      return replyError(
        reply,
        'csrf_failed',
        `missing or wrong ${CSRF_HEADER} header: send the value of the ${this.names.csrf} cookie (GET /api/auth/csrf sets one)`,
      );
    }
  };
}
