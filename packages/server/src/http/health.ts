import type { healthResponse } from '@conclave/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { MediaPoolStatus } from '../sfu/port-pool.js';
import { SERVER_VERSION } from '../version.js';

type HealthResponse = z.infer<typeof healthResponse>;

interface HealthOptions {
  /** When the app was built (uptime counts from here). */
  startedAt: number;
  /** The SFU's media-port pool (`media`); without it the field is absent. */
  mediaStatus?: () => MediaPoolStatus;
}

/** The health check, registered with the prefix `/healthz`. */
export const healthApi: FastifyPluginAsync<HealthOptions> = async (app, { startedAt, mediaStatus }) => {
  app.get('/', async (): Promise<HealthResponse> => ({
    status: 'ok' as const,
    version: SERVER_VERSION,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    ...(mediaStatus ? { media: mediaStatus() } : {}),
  }));
};
