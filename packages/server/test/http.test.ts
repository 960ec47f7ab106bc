import {
  createMeetingResponse,
  errorResponse,
  healthResponse,
  meetingResponse,
  type CreateMeetingResponse,
} from '@conclave/protocol';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminSetPlan,
  buildHttpApp,
  createDatabase,
  MeetingStore,
  migrateToLatest,
  type Db,
  type TokenBucketOptions,
} from '../src/index.js';
import { TEST_SCRYPT, TestClient } from './accounts/harness.js';
import { fakeClock, memoryLogger, tempDir, testConfig } from './helpers.js';

const json = { 'content-type': 'application/json' };

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  const body = errorResponse.parse(res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

describe('HTTP API', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: Db;
  let app: FastifyInstance;
  let log: ReturnType<typeof memoryLogger>;
  /** A signed-in account on the paid plan: meetings of both modes may be created. */
  let host: TestClient;

  async function build(
    opts: { createMeetingLimit?: TokenBucketOptions; publicUrl?: string | null; port?: number } = {},
  ) {
    await app?.close();
    const config = testConfig(dir.path, {
      publicUrl: opts.publicUrl === null ? undefined : (opts.publicUrl ?? 'https://meet.example.org'),
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
    app = await buildHttpApp({
      config,
      store: new MeetingStore(db),
      logger: log.logger,
      webRoot: null,
      createMeetingLimit: opts.createMeetingLimit,
      accounts: { db, passwordScrypt: TEST_SCRYPT },
    });
    host = new TestClient(app);
    const email = `host-${Math.random().toString(36).slice(2)}@example.org`;
    await host.signup(email);
    await adminSetPlan(db, email, 'paid');
    return app;
  }

  async function create(body: Record<string, unknown> = {}): Promise<CreateMeetingResponse> {
    const res = await host.post('/api/meetings', body);
    expect(res.statusCode, res.body).toBe(201);
    return createMeetingResponse.parse(res.json());
  }

  beforeEach(async () => {
    dir = tempDir();
    db = createDatabase({ dataDir: dir.path });
    await migrateToLatest(db);
    log = memoryLogger();
    await build();
  });
  afterEach(async () => {
    await app.close();
    await db.destroy();
    dir.remove();
  });

  it('GET /healthz', async () => {
    const res = await app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(healthResponse.parse(res.json())).toMatchObject({ status: 'ok', version: '0.1.0' });
  });

  it('creates, reads, updates and ends a meeting', async () => {
    const created = await create({ title: 'Weekly', passcode: '246810', waitingRoom: true });
    const { meeting, hostSecret } = created;
    expect(created.joinUrl).toBe(`https://meet.example.org/m/${meeting.id}`);
    expect(created.hostUrl).toBe(`https://meet.example.org/m/${meeting.id}#host=${hostSecret}`);
    expect(meeting).toMatchObject({ title: 'Weekly', mode: 'e2ee', ended: false });
    expect(meeting.settings).toMatchObject({ passcodeRequired: true, waitingRoom: true });

    const got = await app.inject({ url: `/api/meetings/${meeting.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.headers['cache-control']).toBe('no-store');
    expect(meetingResponse.parse(got.json()).meeting).toEqual(meeting);
    expect(got.body).not.toContain('246810');
    expect(got.body).not.toContain(hostSecret);

    const patched = await app.inject({
      method: 'PATCH',
      url: `/api/meetings/${meeting.id}`,
      headers: { ...json, 'x-host-secret': hostSecret },
      payload: { v: 1, title: 'Weekly (moved)', locked: true, passcode: null },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(meetingResponse.parse(patched.json()).meeting).toMatchObject({
      title: 'Weekly (moved)',
      settings: { locked: true, passcodeRequired: false },
    });

    const ended = await app.inject({
      method: 'POST',
      url: `/api/meetings/${meeting.id}/end`,
      headers: { 'x-host-secret': hostSecret },
    });
    expect(ended.statusCode, ended.body).toBe(200);
    expect(meetingResponse.parse(ended.json()).meeting.ended).toBe(true);
    const after = await app.inject({ url: `/api/meetings/${meeting.id}` });
    expect(meetingResponse.parse(after.json()).meeting.ended).toBe(true);

    const late = await app.inject({
      method: 'PATCH',
      url: `/api/meetings/${meeting.id}`,
      headers: { ...json, 'x-host-secret': hostSecret },
      payload: { v: 1, title: 'too late' },
    });
    expectError(late, 409, 'meeting_ended');
  });

  it('applies defaults from the protocol schema', async () => {
    const { meeting } = await create();
    expect(meeting).toMatchObject({
      title: '',
      mode: 'e2ee',
      settings: {
        passcodeRequired: false,
        waitingRoom: false,
        muteOnEntry: false,
        maxParticipants: 100,
        locked: false,
        allowScreenShare: true,
      },
    });
  });

  it('derives links from the listening address when no public URL is set', async () => {
    await build({ publicUrl: null, port: 4321 });
    const { joinUrl, meeting } = await create();
    expect(joinUrl).toBe(`http://127.0.0.1:4321/m/${meeting.id}`);
  });

  it('requires the host secret for changes', async () => {
    const { meeting, hostSecret } = await create();
    const other = await create();
    for (const headers of [
      {},
      { 'x-host-secret': 'wrong' },
      { 'x-host-secret': other.hostSecret },
      { 'x-host-secret': '' },
    ]) {
      const patch = await app.inject({
        method: 'PATCH',
        url: `/api/meetings/${meeting.id}`,
        headers: { ...json, ...headers },
        payload: { v: 1, locked: true },
      });
      expectError(patch, 403, 'forbidden');
      const end = await app.inject({ method: 'POST', url: `/api/meetings/${meeting.id}/end`, headers });
      expectError(end, 403, 'forbidden');
    }
    const got = await app.inject({ url: `/api/meetings/${meeting.id}` });
    expect(meetingResponse.parse(got.json()).meeting).toMatchObject({
      ended: false,
      settings: { locked: false },
    });
    // The secret is never logged, nor the passcode.
    await app.inject({
      method: 'PATCH',
      url: `/api/meetings/${meeting.id}`,
      headers: { ...json, 'x-host-secret': hostSecret },
      payload: { v: 1, passcode: 'sesame-open' },
    });
    const logged = log.lines.join('\n');
    expect(logged).not.toContain(hostSecret);
    expect(logged).not.toContain(other.hostSecret);
    expect(logged).not.toContain('sesame-open');
  });

  it('answers unknown meetings with 404 unknown_meeting', async () => {
    expectError(await app.inject({ url: '/api/meetings/nosuchmeeting' }), 404, 'unknown_meeting');
    expectError(await app.inject({ url: '/api/meetings/bad%20id!' }), 404, 'unknown_meeting');
    expectError(
      await app.inject({
        method: 'PATCH',
        url: '/api/meetings/nosuchmeeting',
        headers: json,
        payload: { v: 1 },
      }),
      404,
      'unknown_meeting',
    );
    expectError(
      await app.inject({ method: 'POST', url: '/api/meetings/nosuchmeeting/end' }),
      404,
      'unknown_meeting',
    );
  });

  it('answers bad bodies with the error shape, never 500', async () => {
    const cases: {
      payload?: string;
      headers?: Record<string, string>;
      status: number;
      code: string;
      message?: RegExp;
    }[] = [
      { payload: '{"v":1,', status: 400, code: 'bad_request', message: /not valid JSON/ },
      { payload: '', status: 400, code: 'bad_request' },
      { payload: 'null', status: 400, code: 'bad_request' },
      { payload: '[]', status: 400, code: 'bad_request' },
      { payload: '"text"', status: 400, code: 'bad_request' },
      { payload: '{}', status: 400, code: 'bad_request', message: /^v:/ },
      { payload: '{"v":2}', status: 400, code: 'bad_request', message: /^v:/ },
      { payload: '{"v":1,"title":5}', status: 400, code: 'bad_request', message: /^title:/ },
      { payload: '{"v":1,"mode":"plain"}', status: 400, code: 'bad_request', message: /^mode:/ },
      {
        payload: '{"v":1,"passcode":"12"}',
        status: 400,
        code: 'bad_request',
        message: /passcode must have at least 6/,
      },
      {
        payload: '{"v":1,"maxParticipants":1.5}',
        status: 400,
        code: 'bad_request',
        message: /^maxParticipants:/,
      },
      { payload: '{"v":1,"waitingRoom":"yes"}', status: 400, code: 'bad_request', message: /^waitingRoom:/ },
      { payload: '{"v":1,"__proto__":{"x":1}}', status: 400, code: 'bad_request' },
      {
        payload: 'v=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        status: 415,
        code: 'bad_request',
      },
      { payload: '{"v":1}', headers: { 'content-type': 'text/plain' }, status: 415, code: 'bad_request' },
      {
        payload: JSON.stringify({ v: 1, title: 'x'.repeat(70 * 1024) }),
        status: 413,
        code: 'message_too_large',
      },
    ];
    const auth = await host.authHeaders();
    for (const c of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/meetings',
        headers: { ...auth, ...(c.headers ?? json) },
        payload: c.payload,
      });
      expectError(res, c.status, c.code);
      if (c.message) expect(errorResponse.parse(res.json()).error.message).toMatch(c.message);
    }
    // No body at all.
    expectError(
      await app.inject({ method: 'POST', url: '/api/meetings', headers: auth }),
      400,
      'bad_request',
    );

    const { meeting, hostSecret } = await create();
    const patch = (payload: string) =>
      app.inject({
        method: 'PATCH',
        url: `/api/meetings/${meeting.id}`,
        headers: { ...json, 'x-host-secret': hostSecret },
        payload,
      });
    expectError(await patch('{"v":1,"locked":"yes"}'), 400, 'bad_request');
    expectError(await patch('{"v":1,"maxParticipants":5000}'), 400, 'bad_request');
    expectError(await patch('not json'), 400, 'bad_request');
    expect(log.lines.some((l) => l.includes('"level":50'))).toBe(false);
  });

  it('answers unknown routes and methods with the error shape', async () => {
    expectError(await app.inject({ url: '/api/nothing' }), 404, 'bad_request');
    expectError(await app.inject({ method: 'DELETE', url: '/api/meetings/abcdefghij' }), 404, 'bad_request');
  });

  it('serves a placeholder page when the web app is not built', async () => {
    const root = await app.inject({ url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.headers['content-type']).toMatch(/text\/html/);
    expect(root.body).toContain('web app is not built');
    const link = await app.inject({ url: '/m/abcdefghij' });
    expect(link.statusCode).toBe(200);
    expect(link.body).toContain('web app is not built');
  });

  it('rate-limits meeting creation per client', async () => {
    const clock = fakeClock();
    await build({ createMeetingLimit: { capacity: 3, refillPerSecond: 0.1, now: clock.now } });
    const post = (ip: string) => {
      host.ip = ip;
      return host.post('/api/meetings', {});
    };
    for (let i = 0; i < 3; i++) expect((await post('192.0.2.10')).statusCode).toBe(201);
    const limited = await post('192.0.2.10');
    expectError(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toBe('10');
    expect((await post('192.0.2.11')).statusCode).toBe(201);
    // Invalid requests do not spend tokens, and do not get 429 either... they get 400.
    host.ip = '192.0.2.10';
    expectError(await host.post('/api/meetings', { mode: 'x' }), 400, 'bad_request');
    clock.advance(10_000);
    expect((await post('192.0.2.10')).statusCode).toBe(201);
    expectError(await post('192.0.2.10'), 429, 'rate_limited');
  });
});
