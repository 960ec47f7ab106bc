import {
  passwordChangeRequest,
  PROTOCOL_VERSION,
  signinRequest,
  signinTotpRequest,
  signupRequest,
  totpCodeRequest,
  type StepUpResponse,
} from '@conclave/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { replyError } from '../http/errors.js';
import { STEP_UP_TTL_MS, toAccountUser, type AccountUser } from './account-store.js';
import { riskMessage, TOO_MANY_FAILURES, type Accounts } from './accounts.js';
import { meBody, parseJson } from './http.js';
import { checkTotp, newTotpSecret, totpUri } from './totp.js';

/** Wrong TOTP codes per step-up ticket before the sign-in has to start again. */
const STEP_UP_ATTEMPTS = 5;

/**
 * Sign-up, sign-in (with the TOTP step-up), sign-out, password change, `/api/me`, TOTP
 * enrolment, on the accounts API (paths below its prefix `/api`). Every POST needs the CSRF
 * header (cookies.ts).
 *
 * Sign-in order: the risk engine scores the attempt first, so a denial costs no scrypt and says
 * nothing about the password; then the password; then, on step-up, a ticket for
 * `/api/auth/signin/totp`. An unknown e-mail takes as long as a wrong password and counts as a
 * failure of the network.
 */
export function authRoutes(app: FastifyInstance, accounts: Accounts): void {
  const { store, cookies, events, passwords } = accounts;
  const csrf = { preHandler: cookies.csrfGuard };

  /**
   * Starts a session: cookie, fresh CSRF token, device and network remembered. A session the
   * browser already had (another account, or one planted by someone else) is ended first.
   */
  async function startSession(
    req: FastifyRequest,
    reply: FastifyReply,
    user: AccountUser,
    deviceHash: string,
    ipPrefix: string,
    status: number,
  ): Promise<FastifyReply> {
    const previous = cookies.session(req);
    if (previous) await store.deleteSession(previous);
    const session = await store.createSession(user.id);
    await store.rememberDeviceAndNetwork(user.id, deviceHash, ipPrefix);
    cookies.setSession(reply, session);
    const csrfToken = cookies.issueCsrf(reply);
    return reply.code(status).send(meBody(user, csrfToken));
  }

  app.get('/auth/csrf', async (req, reply) => {
    const csrfToken = cookies.csrf(req) ?? cookies.issueCsrf(reply);
    return reply.send({ v: PROTOCOL_VERSION, csrfToken });
  });

  app.get('/me', async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const csrfToken = cookies.csrf(req) ? undefined : cookies.issueCsrf(reply);
    return reply.send(meBody(user, csrfToken));
  });

  app.post('/auth/signup', csrf, async (req, reply) => {
    const body = parseJson(signupRequest, req, reply);
    if (!body) return reply;
    const deviceHash = cookies.deviceHash(req, reply);
    const ipPrefix = accounts.ipPrefix(req);
    const assessment = await accounts.risk.assess('signup', { email: body.email, deviceHash, ipPrefix });
    if (assessment.decision !== 'allow') {
      await events.record({ userId: null, action: 'signup', outcome: 'denied', ipPrefix, assessment });
      return replyError(reply, 'risk_denied', riskMessage('the sign-up', assessment));
    }
    if (await store.rowByEmail(body.email)) return replyError(reply, 'email_taken');
    // A sign-up racing this one for the e-mail throws EmailTakenError: 409 from the error handler.
    const user = await store.create({
      email: body.email,
      passwordHash: await passwords.hash(body.password),
      displayName: body.displayName,
    });
    await events.record({ userId: user.id, action: 'signup', outcome: 'ok', ipPrefix, assessment });
    req.log.info({ userId: user.id }, 'account created');
    return startSession(req, reply, user, deviceHash, ipPrefix, 201);
  });

  app.post('/auth/signin', csrf, async (req, reply) => {
    const body = parseJson(signinRequest, req, reply);
    if (!body) return reply;
    const deviceHash = cookies.deviceHash(req, reply);
    const ipPrefix = accounts.ipPrefix(req);
    const row = await store.rowByEmail(body.email);
    const user = row && toAccountUser(row);
    const assessment = await accounts.risk.assess('signin', { user, deviceHash, ipPrefix });
    const userId = user?.id ?? null;
    if (assessment.decision === 'deny') {
      await events.record({ userId, action: 'signin', outcome: 'denied', ipPrefix, assessment });
      return replyError(reply, 'risk_denied', riskMessage('this sign-in', assessment));
    }
    const passwordOk = row
      ? await passwords.verify(body.password, row.password_hash)
      : await passwords.verifyNothing(body.password);
    if (!user || !passwordOk) {
      const outcome = user ? 'wrong_password' : 'unknown_account';
      await events.record({ userId, action: 'signin', outcome, ipPrefix, assessment });
      return replyError(reply, 'invalid_credentials');
    }
    if (assessment.decision === 'step_up') {
      // The engine asks for a step-up only when the account has a second factor (engine.ts).
      const ticket = await store.createStepUpTicket(user.id, deviceHash, ipPrefix);
      await events.record({ userId, action: 'signin', outcome: 'step_up', ipPrefix, assessment });
      const body: StepUpResponse = {
        v: PROTOCOL_VERSION,
        stepUp: 'totp',
        ticket,
        expiresInSeconds: STEP_UP_TTL_MS / 1000,
      };
      return reply.send(body);
    }
    await events.record({ userId, action: 'signin', outcome: 'ok', ipPrefix, assessment });
    return startSession(req, reply, user, deviceHash, ipPrefix, 200);
  });

  app.post('/auth/signin/totp', csrf, async (req, reply) => {
    const body = parseJson(signinTotpRequest, req, reply);
    if (!body) return reply;
    const deviceHash = cookies.deviceHash(req, reply);
    const ipPrefix = accounts.ipPrefix(req);
    const ticket = await store.takeStepUpAttempt(body.ticket, STEP_UP_ATTEMPTS);
    // A ticket works only in the browser (device cookie) that passed the password.
    if (!ticket || ticket.deviceHash !== deviceHash) {
      return replyError(
        reply,
        'unauthenticated',
        'this sign-in has expired or used up its attempts; sign in again',
      );
    }
    const user = await store.byId(ticket.userId);
    if (!user || !(await accounts.acceptTotp(user.id, body.code))) {
      await events.record({ userId: ticket.userId, action: 'signin_totp', outcome: 'wrong_totp', ipPrefix });
      return replyError(reply, 'invalid_totp');
    }
    if (!(await store.deleteStepUpTicket(body.ticket))) {
      return replyError(reply, 'unauthenticated', 'this sign-in was already completed; sign in again');
    }
    await events.record({ userId: user.id, action: 'signin_totp', outcome: 'ok', ipPrefix });
    return startSession(req, reply, user, deviceHash, ipPrefix, 200);
  });

  app.post('/auth/signout', csrf, async (req, reply) => {
    const session = cookies.session(req);
    if (session) await store.deleteSession(session);
    cookies.clearSession(reply);
    return reply.send({ v: PROTOCOL_VERSION, ok: true });
  });

  app.post('/auth/password', csrf, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(passwordChangeRequest, req, reply);
    if (!body) return reply;
    const ipPrefix = accounts.ipPrefix(req);
    if (await accounts.tooManyFailures(user.id)) return replyError(reply, 'rate_limited', TOO_MANY_FAILURES);
    const row = await store.rowById(user.id);
    if (!row || !(await passwords.verify(body.currentPassword, row.password_hash))) {
      await events.record({
        userId: user.id,
        action: 'password_change',
        outcome: 'wrong_password',
        ipPrefix,
      });
      return replyError(reply, 'invalid_credentials', 'the current password is wrong');
    }
    await store.setPassword(user.id, await passwords.hash(body.newPassword));
    // Every session ends (a thief's too); this browser gets a new one.
    await store.deleteSessionsOf(user.id);
    cookies.setSession(reply, await store.createSession(user.id));
    await events.record({ userId: user.id, action: 'password_change', outcome: 'ok', ipPrefix });
    return reply.send({ v: PROTOCOL_VERSION, ok: true });
  });

  app.post('/auth/totp/enroll', csrf, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    if (user.totpEnabled) {
      return replyError(
        reply,
        'totp_already_enabled',
        'an authenticator app is enrolled already; disable it first',
      );
    }
    const secret = newTotpSecret();
    await store.setTotpPending(user.id, secret);
    return reply.send({ v: PROTOCOL_VERSION, secret, otpauthUri: totpUri(secret, user.email) });
  });

  app.post('/auth/totp/confirm', csrf, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(totpCodeRequest, req, reply);
    if (!body) return reply;
    const row = await store.rowById(user.id);
    if (!row?.totp_pending_secret) {
      return replyError(reply, 'totp_not_enrolled', 'start with POST /api/auth/totp/enroll');
    }
    const step = await checkTotp(row.totp_pending_secret, body.code, accounts.now(), null);
    if (step === undefined) return replyError(reply, 'invalid_totp_enrolment');
    await store.enableTotp(user.id, row.totp_pending_secret, step);
    return reply.send(meBody({ ...user, totpEnabled: true }));
  });

  app.post('/auth/totp/disable', csrf, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(totpCodeRequest, req, reply);
    if (!body) return reply;
    if (!user.totpEnabled) return replyError(reply, 'totp_not_enrolled');
    if (await accounts.tooManyFailures(user.id)) return replyError(reply, 'rate_limited', TOO_MANY_FAILURES);
    if (!(await accounts.acceptTotp(user.id, body.code))) {
      await events.record({
        userId: user.id,
        action: 'signin_totp',
        outcome: 'wrong_totp',
        ipPrefix: accounts.ipPrefix(req),
      });
      return replyError(reply, 'invalid_totp');
    }
    await store.disableTotp(user.id);
    return reply.send(meBody({ ...user, totpEnabled: false }));
  });
}
