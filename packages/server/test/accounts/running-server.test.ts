import {
  CSRF_HEADER,
  meResponse,
  verificationCheckResponse,
  verificationStartResponse,
} from '@conclave/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/index.js';
import { createTokenRequest } from '@conclave/client';
import { memoryLogger, tempDir, testConfig } from '../helpers.js';

describe('accounts in a running server (startServer, real HTTP)', () => {
  let server: RunningServer | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await server?.close();
    dir?.remove();
  });

  it('signs up and unlocks E2EE with the console provider, over fetch with cookies', async () => {
    dir = tempDir('conclave-accounts-server-');
    const log = memoryLogger();
    server = await startServer(testConfig(dir.path), { logger: log.logger, webRoot: null });
    const jar = new Map<string, string>();
    const call = async (method: string, path: string, body?: Record<string, unknown>) => {
      const headers: Record<string, string> = {};
      if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const csrf = jar.get('conclave_csrf');
      if (csrf) headers[CSRF_HEADER] = csrf;
      if (body) headers['content-type'] = 'application/json';
      const res = await fetch(`${server!.url}${path}`, {
        method,
        headers,
        body: body ? JSON.stringify({ v: 1, ...body }) : undefined,
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair = ''] = c.split(';');
        const [name = '', value = ''] = pair.split('=');
        if (value) jar.set(name, value);
        else jar.delete(name);
      }
      return { status: res.status, json: (await res.json()) as unknown };
    };

    expect((await call('GET', '/api/auth/csrf')).status).toBe(200);
    const signup = await call('POST', '/api/auth/signup', {
      email: 'net@example.org',
      password: 'a long enough password',
    });
    expect(signup.status).toBe(201);
    expect(meResponse.parse(signup.json).entitlement.e2ee).toBe(false);
    const started = await call('POST', '/api/verification/start', { phoneNumber: '+44 7400 123456' });
    expect(started.status).toBe(201);
    const codeLine = log.lines.find((l) => l.includes('console SMS provider'));
    const code = (JSON.parse(codeLine!) as { smsCode: string }).smsCode;
    const key = (await call('GET', '/api/verification/key')).json as { publicKey: string };
    const request = await createTokenRequest(key.publicKey);
    const checked = await call('POST', '/api/verification/check', {
      verificationId: verificationStartResponse.parse(started.json).verificationId,
      code,
      blindedMessage: request.blindedMessage,
    });
    expect(checked.status).toBe(200);
    const token = await request.finalize(verificationCheckResponse.parse(checked.json).blindSignature);
    const redeemed = await call('POST', '/api/verification/redeem', token);
    expect(redeemed.status).toBe(200);
    expect(meResponse.parse((await call('GET', '/api/me')).json).entitlement).toEqual({
      standard: true,
      e2ee: true,
      reason: 'phone_verified',
    });
  });
});
