import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodedError,
  ERROR_CATALOGUE,
  ERROR_CODES,
  errorResponse,
  ProtocolError,
  type ErrorCode,
} from '@conclave/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BlindSignError,
  buildHttpApp,
  createDatabase,
  MeetingStore,
  migrateToLatest,
  MigrationError,
  SmsDeliveryError,
} from '../src/index.js';
import { replyError, setErrorAnswers } from '../src/http/errors.js';
import { startHarness, type Harness } from './accounts/harness.js';
import { memoryLogger, tempDir, testConfig } from './helpers.js';

/** A bare app with the root's error answers and one encapsulated plugin under a prefix. */
async function bareApp(log = memoryLogger()): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: log.logger as FastifyBaseLogger });
  setErrorAnswers(app);
  await app.register(
    async (child) => {
      child.get<{ Params: { code: ErrorCode } }>('/answer/:code', (req, reply) =>
        replyError(reply, req.params.code),
      );
      child.get<{ Params: { code: ErrorCode } }>('/throw/:code', (req) => {
        throw new ProtocolError(req.params.code, `thrown ${req.params.code}`);
      });
    },
    { prefix: '/plugin' },
  );
  return app;
}

describe('HTTP error answers', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  it('a route answering a code gets the catalogue status and sentence, for every code', async () => {
    const app = await bareApp();
    apps.push(app);
    for (const code of ERROR_CODES) {
      const res = await app.inject({ url: `/plugin/answer/${code}` });
      expect(res.statusCode, code).toBe(ERROR_CATALOGUE[code].status);
      expect(errorResponse.parse(res.json())).toEqual({
        v: 1,
        error: { code, message: ERROR_CATALOGUE[code].message },
      });
    }
  });

  it('a coded error thrown in a plugin gets the catalogue status, for every code; a 5xx does not send its text', async () => {
    const app = await bareApp();
    apps.push(app);
    for (const code of ERROR_CODES) {
      const res = await app.inject({ url: `/plugin/throw/${code}` });
      const { status, message } = ERROR_CATALOGUE[code];
      expect(res.statusCode, code).toBe(status);
      expect(errorResponse.parse(res.json()).error, code).toEqual({
        code,
        message: status >= 500 ? message : `thrown ${code}`,
      });
    }
  });

  it('the server error classes are coded errors: each answers its code, a 5xx keeps its text in the log', async () => {
    const log = memoryLogger();
    const app = Fastify({ loggerInstance: log.logger as FastifyBaseLogger });
    apps.push(app);
    setErrorAnswers(app);
    const thrown: Record<string, Error> = {
      unauthenticated: new ProtocolError('unauthenticated', 'who are you'),
      meeting_full: new ProtocolError('meeting_full', 'no seat left'),
      media_error: new ProtocolError('media_error', 'worker 3 at /srv/media said no'),
      migration: new MigrationError('migration 0009 failed on table x', []),
      blind: new BlindSignError('signing failure with key 0xabc'),
      sms: new SmsDeliveryError('the SMS gateway answered HTTP 500'),
    };
    await app.register(
      async (child) => {
        child.get<{ Params: { name: string } }>('/:name', (req) => {
          throw thrown[req.params.name];
        });
      },
      { prefix: '/deep/down' },
    );
    const answer = async (name: string) => {
      const res = await app.inject({ url: `/deep/down/${name}` });
      return { status: res.statusCode, ...errorResponse.parse(res.json()).error };
    };
    expect(await answer('unauthenticated')).toEqual({
      status: 401,
      code: 'unauthenticated',
      message: 'who are you',
    });
    expect(await answer('meeting_full')).toEqual({
      status: 409,
      code: 'meeting_full',
      message: 'no seat left',
    });
    expect(await answer('sms')).toEqual({
      status: 502,
      code: 'sms_failed',
      message: ERROR_CATALOGUE.sms_failed.message,
    });
    for (const name of ['media_error', 'migration', 'blind']) {
      const got = await answer(name);
      expect(got.status, name).toBe(500);
      expect(got.message, name).toBe(ERROR_CATALOGUE[got.code].message);
      expect(
        log.lines.some((l) => l.includes(thrown[name]!.message)),
        name,
      ).toBe(true);
    }
  });

  it('anything else thrown is internal_error 500, without its message', async () => {
    const log = memoryLogger();
    const app = Fastify({ loggerInstance: log.logger as FastifyBaseLogger });
    apps.push(app);
    setErrorAnswers(app);
    app.get('/boom', () => {
      throw new Error('ENOENT /var/lib/conclave/secret-path');
    });
    app.get('/not-ours', () => {
      // A coded error whose code is not one of the protocol's (the SDK widens its codes so).
      throw new CodedError<'connection_failed'>('connection_failed', 'the SDK lost its socket');
    });
    for (const url of ['/boom', '/not-ours']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(500);
      expect(res.json(), url).toEqual({ v: 1, error: { code: 'internal_error', message: 'internal error' } });
    }
    expect(log.lines.some((l) => l.includes('secret-path'))).toBe(true);
  });
});

describe('HTTP error answers of the real app', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    vi.restoreAllMocks();
  });

  it('a coded error thrown below a route answers its catalogue status (401 here, where the old table said 400)', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('dana@example.org');
    vi.spyOn(h.app.accounts.store, 'deviceKeys').mockRejectedValue(
      new ProtocolError('unauthenticated', 'the session ended while listing'),
    );
    const res = await c.get('/api/devices');
    expect(res.statusCode, res.body).toBe(401);
    expect(res.json()).toEqual({
      v: 1,
      error: { code: 'unauthenticated', message: 'the session ended while listing' },
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('sign-ups racing for one e-mail both answer 202 like any sign-up; one account, one password', async () => {
    h = await startHarness();
    const [a, b] = [h.client('198.51.100.7'), h.client('198.51.100.8')];
    await Promise.all([a.get('/api/auth/csrf'), b.get('/api/auth/csrf')]);
    const [ra, rb] = await Promise.all([
      a.post('/api/auth/signup', { email: 'erin@example.org', password: 'first long password' }),
      b.post('/api/auth/signup', { email: 'erin@example.org', password: 'second long password' }),
    ]);
    expect([ra.statusCode, rb.statusCode]).toEqual([202, 202]);
    expect(ra.body).toBe(rb.body);
    expect(await h.db.selectFrom('users').selectAll().execute()).toHaveLength(1);
    const signins = await Promise.all([
      a.signin('erin@example.org', 'first long password'),
      b.signin('erin@example.org', 'second long password'),
    ]);
    expect(signins.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('an unknown error below a route is internal_error 500 without its message', async () => {
    h = await startHarness();
    const c = h.client();
    await c.signup('finn@example.org');
    vi.spyOn(h.app.accounts.store, 'deviceKeys').mockRejectedValue(new Error('SQLITE_CORRUPT at /data/x'));
    const res = await c.get('/api/devices');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ v: 1, error: { code: 'internal_error', message: 'internal error' } });
    expect(res.body).not.toContain('SQLITE');
    expect(h.log.lines.some((l) => l.includes('SQLITE_CORRUPT'))).toBe(true);
  });
});

describe('the HTTP app as plugins', () => {
  it('an unknown /api path is the API’s own 404 (no-store) even with a built web app’s wildcard', async () => {
    const dir = tempDir();
    const db = createDatabase({ dataDir: dir.path });
    let app: FastifyInstance | undefined;
    try {
      await migrateToLatest(db);
      const web = join(dir.path, 'dist');
      mkdirSync(web);
      writeFileSync(join(web, 'index.html'), '<!doctype html><title>app</title>');
      app = await buildHttpApp({
        config: testConfig(dir.path),
        store: new MeetingStore(db),
        logger: memoryLogger().logger,
        webRoot: web,
        accounts: { db },
      });
      for (const url of ['/api/nothing', '/api/meetings/abcdefghij/nothing']) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(404);
        expect(res.json(), url).toMatchObject({ error: { code: 'bad_request' } });
        expect(res.headers['cache-control'], url).toBe('no-store');
        expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      }
      const asset = await app.inject({ url: '/assets/none.js' });
      expect(asset.statusCode).toBe(404);
      expect(asset.headers['cache-control']).toBeUndefined();
      const page = await app.inject({ url: '/m/abcdefghij' });
      expect(page.body).toContain('<title>app</title>');
      expect(page.headers['cache-control']).not.toBe('no-store');
      // reply.sendFile stays inside the web app plugin.
      expect(app.hasReplyDecorator('sendFile')).toBe(false);
    } finally {
      await app?.close();
      await db.destroy();
      dir.remove();
    }
  });
});
