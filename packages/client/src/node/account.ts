import { randomBytes } from 'node:crypto';
import { MlsDevice } from '@conclave/crypto';
import type { AccountApi } from '../account/account-api.js';
import type { ClientOptions } from '../client-options.js';
import { ConclaveError } from '../errors.js';
import { nodeWebSocketWithCookies } from './websocket.js';

/**
 * Client options for joining as the account signed in on `api` (Node): a fresh device whose MLS
 * signature key is registered in the key directory — so other members see "verified account" —
 * and the session cookie on the WebSocket upgrade, which the server requires for a join that
 * names an account.
 */
export async function accountClientOptions(
  api: AccountApi,
  displayName: string,
): Promise<Required<Pick<ClientOptions, 'device' | 'userId' | 'deviceId' | 'webSocket'>>> {
  const me = await api.me();
  if (!me) throw new ConclaveError('unauthenticated', 'sign in before joining as an account');
  const deviceId = `bot-${randomBytes(9).toString('base64url')}`;
  const userId = me.account.id;
  const device = await MlsDevice.create({ kind: 'user', userId, deviceId, displayName });
  await api.registerDevice(deviceId, device.signatureKeys.publicKey);
  return { device, userId, deviceId, webSocket: nodeWebSocketWithCookies(() => api.cookieHeader()) };
}
