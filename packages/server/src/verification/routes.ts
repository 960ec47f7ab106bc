import { createHash } from 'node:crypto';
import {
  PHONE_CHECK_DEVICE_HEADER,
  phoneCheckDeviceSchema,
  PROTOCOL_VERSION,
  VERIFICATION_TOKEN_MESSAGE_BYTES,
  VERIFICATION_TOKEN_SUITE,
  verificationCheckRequest,
  verificationRedeemRequest,
  verificationStartRequest,
  type VerificationCheckResponse,
  type VerificationKeyResponse,
  type VerificationStartResponse,
} from '@conclave/protocol';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts } from '../accounts/accounts.js';
import { hostingEntitlement } from '../accounts/entitlement.js';
import { meBody, parseJson } from '../accounts/http.js';
import { replyError } from '../http/errors.js';
import { TokenBucketLimiter, type TakeResult } from '../http/rate-limit.js';
import { truncateWal } from '../store/database.js';
import { checkPhoneNumber } from './phone.js';

/**
 * The one-time phone check, in requests that neither the database, the logs nor the request
 * itself tie to an account:
 *
 * 1. `POST /api/verification/start` (no session read, sent without cookies): limits per network,
 *    per check device (`PHONE_CHECK_DEVICE_HEADER`, a random id the client keeps for this only)
 *    and per number; the number is parsed, HMAC-ed and texted; the pending code is kept in
 *    memory with the number's HMAC and nothing of an account.
 * 2. `POST /api/verification/check` (the same): the code and a blinded token message; on the
 *    right code the server blind-signs it (RFC 9474), forgets the code and counts the number's
 *    yearly quota.
 * 3. `POST /api/verification/redeem` (signed in, on the account's connection, minutes later:
 *    the web app waits a random 1–15 minutes or until the next sign-in): the finalized token;
 *    the server checks the signature, records the token id against double spending, and
 *    unlocks E2EE hosting on the account. The blinding hides which check the token came from.
 *
 * `GET /key`, `start` and `check` are an encapsulated plugin of their own that logs nothing per
 * request (no "incoming request" lines with IP:port) and gives its requests a fixed request id
 * instead of one from the app's counter, so no hole in the account routes' ids shows when a
 * check happened; an error there is logged without request data. The redeem, an account
 * request, is logged like any other. Registered with the prefix `/api/verification`.
 */
export const verificationApi: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  // The token key is made (or loaded) at start-up, not at the first check: its row's time must
  // not say when somebody first used the phone check. (Making one takes about 0.4 s, once per
  // data dir.)
  await accounts.blindSigner();
  await app.register(anonymousRoutes, { accounts });
  await app.register(redeemRoute, { accounts });
};

const ANONYMOUS_REQUEST_ID = 'phone-check';

const anonymousRoutes: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  const { verification } = accounts;
  const settings = verification.settings;
  const now = accounts.now;
  const limiter = (o: typeof settings.startsPerNetwork) => new TokenBucketLimiter({ ...o, now });
  const starts = { network: limiter(settings.startsPerNetwork), device: limiter(settings.startsPerDevice) };
  const checks = { network: limiter(settings.checksPerNetwork), device: limiter(settings.checksPerDevice) };

  app.setGenReqId(() => ANONYMOUS_REQUEST_ID);
  app.setChildLoggerFactory((logger) => logger.child({ component: 'phone-check' }, { level: 'error' }));

  /**
   * The per-network and per-device limits of one kind of request; false after answering
   * `rate_limited` (or 400 for a missing device id). The network and the device id are used as
   * bucket keys in memory only.
   */
  const withinLimits = (
    req: FastifyRequest,
    reply: FastifyReply,
    buckets: { network: TokenBucketLimiter; device: TokenBucketLimiter },
    what: string,
  ): { network: string } | undefined => {
    const device = phoneCheckDeviceSchema.safeParse(req.headers[PHONE_CHECK_DEVICE_HEADER]);
    if (!device.success) {
      void replyError(
        reply,
        'bad_request',
        `${PHONE_CHECK_DEVICE_HEADER}: the phone check needs a random id kept for it (22 to 64 base64url characters)`,
      );
      return undefined;
    }
    const network = accounts.ipPrefix(req);
    const refused = (take: TakeResult, from: string) => {
      if (take.ok) return false;
      void replyError(
        reply,
        'rate_limited',
        `too many ${what} from this ${from}; try again in ${take.retryAfterSeconds} s`,
        take,
      );
      return true;
    };
    if (refused(buckets.network.take(network), 'network')) return undefined;
    if (refused(buckets.device.take(device.data), 'device')) return undefined;
    return { network };
  };

  app.get('/key', async (_req, reply) => {
    const signer = await accounts.blindSigner();
    const body: VerificationKeyResponse = {
      v: PROTOCOL_VERSION,
      suite: VERIFICATION_TOKEN_SUITE,
      keyId: signer.keyId,
      publicKey: signer.publicKeySpki.toString('base64'),
      modulusBits: signer.modulusBits,
    };
    return reply.send(body);
  });

  // No session, no CSRF guard, no cookie read: the request carries no ambient authority, and
  // clients send it without cookies (`credentials: 'omit'`). Whether the account may still use
  // the check (not yet unlocked) is the client's to know; the redeem refuses a second unlock.
  app.post('/start', async (req, reply) => {
    const body = parseJson(verificationStartRequest, req, reply);
    if (!body) return reply;
    const client = withinLimits(req, reply, starts, 'phone checks');
    if (!client) return reply;
    const phone = checkPhoneNumber(body.phoneNumber, body.country);
    if (!phone.ok) return replyError(reply, phone.code, phone.message);
    const result = await verification.start(phone.e164, client.network);
    if (!result.ok) return replyError(reply, result.code, result.message, result);
    const answer: VerificationStartResponse = {
      v: PROTOCOL_VERSION,
      verificationId: result.verificationId,
      expiresInSeconds: result.expiresInSeconds,
      resendAfterSeconds: result.resendAfterSeconds,
      attempts: result.attempts,
    };
    return reply.code(201).send(answer);
  });

  app.post('/check', async (req, reply) => {
    const body = parseJson(verificationCheckRequest, req, reply);
    if (!body) return reply;
    if (!withinLimits(req, reply, checks, 'code checks')) return reply;
    const signer = await accounts.blindSigner();
    const blinded = Buffer.from(body.blindedMessage, 'base64');
    const invalid = signer.invalidBlindedMessage(blinded);
    if (invalid) return replyError(reply, 'bad_request', `blindedMessage: ${invalid}`);
    // Signed before the code is consumed; a fault in signing throws (500) and keeps the code.
    const result = await verification.check(body.verificationId, body.code, () => signer.blindSign(blinded));
    if (!result.ok) return replyError(reply, result.code, result.message, result);
    const answer: VerificationCheckResponse = {
      v: PROTOCOL_VERSION,
      keyId: signer.keyId,
      blindSignature: result.value.toString('base64'),
    };
    return reply.send(answer);
  });
};

const redeemRoute: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  const { verification, cookies, store } = accounts;

  app.post('/redeem', { preHandler: cookies.csrfGuard }, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(verificationRedeemRequest, req, reply);
    if (!body) return reply;
    if (hostingEntitlement(user).e2ee) {
      return replyError(
        reply,
        'already_verified',
        'this account can host E2EE meetings already; keep the token',
      );
    }
    const signer = await accounts.blindSigner();
    const message = Buffer.from(body.message, 'base64');
    const signature = Buffer.from(body.signature, 'base64');
    if (
      (body.keyId !== undefined && body.keyId !== signer.keyId) ||
      message.length !== VERIFICATION_TOKEN_MESSAGE_BYTES ||
      !signer.verify(message, signature)
    ) {
      return replyError(reply, 'invalid_token');
    }
    const tokenId = createHash('sha256').update(message).digest('base64url');
    if (!(await verification.store.spendToken(tokenId, signer.keyId))) {
      return replyError(reply, 'token_spent');
    }
    await store.markPhoneVerified(user.id);
    // The WAL would keep the token's page next to the account's: truncated (store/database.ts).
    await truncateWal(accounts.db);
    return reply.send(meBody({ ...user, phoneVerified: true }));
  });
};
