import { idSchema, PROTOCOL_VERSION, registerDeviceRequest } from '@conclave/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { replyError } from '../http/errors.js';
import type { Accounts } from './accounts.js';
import { parseJson } from './http.js';

type DirectoryRequest = FastifyRequest<{ Params: { userId: string; deviceId: string } }>;
type DeviceRequest = FastifyRequest<{ Params: { deviceId: string } }>;

/**
 * The key directory. A signed-in device registers its MLS signature public key under a device
 * id it chose (the one in its MLS credential); anyone may look a (user, device) pair up, which
 * is how members' clients check a `user` credential (KeyDirectoryHook in
 * packages/crypto/src/mls/auth-service.ts): "verified account" when the key matches. Paths are
 * below the accounts API's prefix `/api`.
 */
export function deviceRoutes(app: FastifyInstance, accounts: Accounts): void {
  const { store, cookies } = accounts;

  app.post('/devices', { preHandler: cookies.csrfGuard }, async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    const body = parseJson(registerDeviceRequest, req, reply);
    if (!body) return reply;
    const result = await store.registerDeviceKey(user.id, body.deviceId, body.publicKey);
    if (!result.ok) {
      return replyError(
        reply,
        'device_key_conflict',
        'this device id is registered with another key; a new key needs a new device id',
      );
    }
    return reply.code(result.created ? 201 : 200).send({ v: PROTOCOL_VERSION, device: result.device });
  });

  app.get('/devices', async (req, reply) => {
    const user = await accounts.requireUser(req, reply);
    if (!user) return reply;
    return reply.send({ v: PROTOCOL_VERSION, devices: await store.deviceKeys(user.id) });
  });

  app.delete<{ Params: { deviceId: string } }>(
    '/devices/:deviceId',
    { preHandler: cookies.csrfGuard },
    async (req: DeviceRequest, reply) => {
      const user = await accounts.requireUser(req, reply);
      if (!user) return reply;
      if (!(await store.deleteDeviceKey(user.id, req.params.deviceId))) {
        return replyError(reply, 'unknown_device', 'no such device on this account');
      }
      return reply.send({ v: PROTOCOL_VERSION, ok: true });
    },
  );

  app.get('/directory/:userId/:deviceId', async (req: DirectoryRequest, reply) => {
    const { userId, deviceId } = req.params;
    const device =
      idSchema.safeParse(userId).success && idSchema.safeParse(deviceId).success
        ? await accounts.lookupDeviceKey(userId, deviceId)
        : undefined;
    if (!device) return replyError(reply, 'unknown_device', 'no such device key');
    return reply.send({ v: PROTOCOL_VERSION, device });
  });
}
