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
import { accountStanding, standingRefusal } from './standing.js';
import { checkTotp, newTotpSecret, totpUri } from './totp.js';

/** Wrong TOTP codes per step-up ticket before the sign-in has to start again. */
const STEP_UP_ATTEMPTS = 5;

/** The answer to a sign-in that must send its TOTP code with the password (the same for every e-mail). */
const SIGNIN_NEEDS_CODE =
  'after failed sign-ins the password alone is not enough: send it again with the code from your authenticator app as "totp" (without an authenticator app, sign in from a device or network you have used before, or try again later)';

/**
 * Sign-up, sign-in (with the TOTP step-up), sign-out, password change, `/api/me`, TOTP
 * enrolment, on the accounts API (paths below its prefix `/api`). Every POST needs the CSRF
 * header (cookies.ts).
 *
 * No answer tells whether an e-mail has an account (docs: packages/server/src/accounts/README.md,
 * "Sign-up, sign-in and account discovery"):
 * - sign-up answers 202 `{ok: true}` for every e-mail (one scrypt either way) and sets no
 *   session; an existing account is not touched. The client signs in next with the same
 *   e-mail and password, which works for a new account and for the owner of an existing one.
 * - sign-in: the `signin_attempt` risk check first, from facts an e-mail without an account
 *   has too (its failures are counted in memory), so a refusal or a request for the code
 *   costs no scrypt and says nothing about the account or the password; then the password
 *   (scrypt also for an unknown e-mail: `invalid_credentials` either way); then the code if one
 *   was asked for or sent; then the `signin` check of the account (a TOTP step-up with a
 *   ticket for `/api/auth/signin/totp`, or a refusal that may name the account's reasons, to
 *   someone who knows the password).
 */
export function authRoutes(app: FastifyInstance, accounts: Accounts): void {
  const { store, cookies, events, passwords } = accounts;
  const csrf = { preHandler: cookies.csrfGuard };
  const failureMinutes = Math.round(accounts.risk.config.windows.failuresMs / 60_000);
  /** A refused sign-in attempt: no reasons, counts or account facts (the same for every e-mail). */
  const SIGNIN_REFUSED = `too many failed sign-ins for this e-mail address or from this network; try again in ${failureMinutes} minutes, or from a device or network you have signed in from before`;

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
    // Signals of the network and the e-mail's domain only: the same for every address.
    const assessment = await accounts.risk.assess('signup', { email: body.email, deviceHash, ipPrefix });
    if (assessment.decision !== 'allow') {
      await events.record({ userId: null, action: 'signup', outcome: 'denied', ipPrefix, assessment });
      return replyError(reply, 'risk_denied', riskMessage('the sign-up', assessment));
    }
    // One scrypt and the same answer whether or not the e-mail has an account; an existing
    // account is left as it was (its password is not replaced), and the client signs in next.
    const passwordHash = await passwords.hash(body.password);
    const user = await store.create({ email: body.email, passwordHash, displayName: body.displayName });
    if (user) {
      // The browser that made the account is its first known device and network.
      await store.rememberDeviceAndNetwork(user.id, deviceHash, ipPrefix);
      await events.record({ userId: user.id, action: 'signup', outcome: 'ok', ipPrefix, assessment });
      req.log.info({ userId: user.id }, 'account created');
    } else {
      const existing = await store.rowByEmail(body.email);
      const userId = existing?.id ?? null;
      await events.record({ userId, action: 'signup', outcome: 'exists', ipPrefix, assessment });
    }
    return reply.code(202).send({ v: PROTOCOL_VERSION, ok: true });
  });

  app.post('/auth/signin', csrf, async (req, reply) => {
    const body = parseJson(signinRequest, req, reply);
    if (!body) return reply;
    const deviceHash = cookies.deviceHash(req, reply);
    const ipPrefix = accounts.ipPrefix(req);
    const row = await store.rowByEmail(body.email);
    const user = row && toAccountUser(row);
    const userId = user?.id ?? null;

    // 1. Before the password, from what every e-mail has: the same answer with or without an
    //    account, and no scrypt (a refusal says nothing about the password either).
    const attempt = await accounts.risk.assess('signin_attempt', {
      user,
      email: body.email,
      deviceHash,
      ipPrefix,
    });
    if (attempt.decision === 'deny') {
      await events.record({ userId, action: 'signin', outcome: 'denied', ipPrefix, assessment: attempt });
      return replyError(reply, 'risk_denied', SIGNIN_REFUSED);
    }
    const codeNeeded = attempt.decision === 'step_up';
    if (codeNeeded && body.totp === undefined) {
      await events.record({ userId, action: 'signin', outcome: 'step_up', ipPrefix, assessment: attempt });
      return replyError(reply, 'step_up_required', SIGNIN_NEEDS_CODE);
    }

    // 2. The password; an unknown e-mail costs the same scrypt and gets the same answer.
    const passwordOk = row
      ? await passwords.verify(body.password, row.password_hash)
      : await passwords.verifyNothing(body.password);
    if (!user || !passwordOk) {
      const outcome = user ? 'wrong_password' : 'unknown_account';
      await events.record({ userId, action: 'signin', outcome, ipPrefix, assessment: attempt });
      if (!user) accounts.risk.recordUnknownEmailFailure(body.email, ipPrefix);
      return replyError(reply, 'invalid_credentials');
    }
    // After the right password: a suspended or banned account hears so (and until when).
    const blocked = row && standingRefusal(accountStanding(row, accounts.now()));
    if (blocked) {
      await events.record({ userId, action: 'signin', outcome: 'blocked', ipPrefix, assessment: attempt });
      return replyError(reply, blocked.code, blocked.message);
    }

    // 3. A code sent with the password. Where step 1 asked for it, an account without TOTP
    //    cannot pass and hears no more than a wrong password would tell it.
    let codeAccepted = false;
    if (body.totp !== undefined && (user.totpEnabled || codeNeeded)) {
      codeAccepted = await accounts.acceptTotp(user.id, body.totp);
      if (!codeAccepted) {
        await events.record({ userId, action: 'signin_totp', outcome: 'wrong_totp', ipPrefix });
        return user.totpEnabled
          ? replyError(reply, 'invalid_totp')
          : replyError(reply, 'invalid_credentials');
      }
    }

    // 4. After the right password (and code), what only the account has.
    const assessment = await accounts.risk.assess('signin', { user, deviceHash, ipPrefix });
    if (assessment.decision === 'deny') {
      await events.record({ userId, action: 'signin', outcome: 'denied', ipPrefix, assessment });
      return replyError(reply, 'risk_denied', riskMessage('this sign-in', assessment));
    }
    if (assessment.decision === 'step_up' && !codeAccepted) {
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
    const row = await store.rowById(ticket.userId);
    const user = row && toAccountUser(row);
    // Suspended or banned since the password was checked.
    const blocked = row && standingRefusal(accountStanding(row, accounts.now()));
    if (blocked) return replyError(reply, blocked.code, blocked.message);
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
