import { createHash } from 'node:crypto';
import {
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
import type { FastifyPluginAsync } from 'fastify';
import type { Accounts } from '../accounts/accounts.js';
import { hostingEntitlement } from '../accounts/entitlement.js';
import { meBody, parseJson } from '../accounts/http.js';
import { replyError } from '../http/errors.js';
import { TokenBucketLimiter } from '../http/rate-limit.js';
import { checkPhoneNumber } from './phone.js';

const DAY_MS = 86_400_000;

/**
 * The one-time phone check, in three requests that the database cannot tie together:
 *
 * 1. `POST /api/verification/start` (signed in): per-account and per-network limits and the
 *    risk check use the account; the number is parsed, HMAC-ed and texted, and the pending code
 *    row gets the number's HMAC but not the account.
 * 2. `POST /api/verification/check` (no session read): the code and a blinded token message;
 *    on the right code the server blind-signs it (RFC 9474), consumes the code and counts the
 *    number's yearly quota.
 * 3. `POST /api/verification/redeem` (signed in, later, separately): the finalized token; the
 *    server checks the signature, records the token id against double spending, and unlocks
 *    E2EE hosting on the account. The blinding hides which check the token came from.
 *
 * Nothing here logs the number, its hash or the account next to a verification. Registered with
 * the prefix `/api/verification`.
 */
export const verificationApi: FastifyPluginAsync<{ accounts: Accounts }> = async (app, { accounts }) => {
  const { verification, cookies, store } = accounts;
  const settings = verification.settings;
  const csrf = { preHandler: cookies.csrfGuard };
  const startLimiter = new TokenBucketLimiter({ ...settings.startsPerNetwork, now: accounts.now });
  const checkLimiter = new TokenBucketLimiter({ ...settings.checksPerNetwork, now: accounts.now });

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

  app.post('/start', csrf, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(verificationStartRequest, req, reply);
    if (!body) return reply;
    if (hostingEntitlement(user).e2ee) {
      return replyError(reply, 'already_verified');
    }
    const phone = checkPhoneNumber(body.phoneNumber, body.country);
    if (!phone.ok) return replyError(reply, phone.code, phone.message);

    const byNetwork = startLimiter.take(accounts.ipPrefix(req));
    if (!byNetwork.ok) {
      return replyError(
        reply,
        'rate_limited',
        `too many phone checks from this network; try again in ${byNetwork.retryAfterSeconds} s`,
        byNetwork,
      );
    }
    const started = await accounts.events.countForUser(user.id, 'verification_start', 'ok', DAY_MS);
    if (started >= settings.startsPerAccountPerDay) {
      return replyError(
        reply,
        'rate_limited',
        'this account asked for too many codes today; try again tomorrow',
        {
          retryAfterSeconds: 3600,
        },
      );
    }
    const gate = await accounts.gate(req, reply, 'verification_start', user, body.totp);
    if (!gate.ok) return replyError(reply, gate.code, gate.message, gate);

    const result = await verification.start(phone.e164);
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

  // No CSRF guard and no cookie read: the request carries no ambient authority (the secret is
  // the code and the verification id), so clients send it without cookies (`credentials:
  // 'omit'`) and nothing in it ties it to the account or the browser's device cookie.
  app.post('/check', async (req, reply) => {
    const body = parseJson(verificationCheckRequest, req, reply);
    if (!body) return reply;
    const byNetwork = checkLimiter.take(accounts.ipPrefix(req));
    if (!byNetwork.ok) {
      return replyError(
        reply,
        'rate_limited',
        `too many code checks from this network; try again in ${byNetwork.retryAfterSeconds} s`,
        byNetwork,
      );
    }
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

  app.post('/redeem', csrf, async (req, reply) => {
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
    return reply.send(meBody({ ...user, phoneVerified: true }));
  });
};
