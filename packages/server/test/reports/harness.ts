import {
  MlsDevice,
  MlsSession,
  generateModerationKeyPair,
  toBase64,
  type MemberIdentity,
  type ModerationKeyPair,
} from '@conclave/crypto';
import { createMeetingRequest, type ReportEvidence } from '@conclave/protocol';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildHttpApp, createDatabase, MeetingStore, migrateToLatest, type Db } from '../../src/index.js';
import { ModerationKeys } from '../../src/reports/moderation-keys.js';
import type { LiveParticipant } from '../../src/reports/resolve-reported.js';
import { ReportService, type ReportSettings } from '../../src/reports/service.js';
import { TestClient, sharedSigner, TEST_SCRYPT } from '../accounts/harness.js';
import { fakeClock, memoryLogger, tempDir, testConfig } from '../helpers.js';

export interface ReportsHarness {
  app: FastifyInstance;
  db: Db;
  dataDir: string;
  clock: ReturnType<typeof fakeClock>;
  log: ReturnType<typeof memoryLogger>;
  reports: ReportService;
  meetings: MeetingStore;
  /** The hub's participants as the report service sees them (tests push entries). */
  live: LiveParticipant[];
  client(ip?: string): TestClient;
  /** A meeting to report in (E2EE unless told). */
  meeting(mode?: 'e2ee' | 'standard'): Promise<string>;
  /** A moderation key made and registered (as `conclave admin moderation-key create` does). */
  moderationKey(): Promise<ModerationKeyPair & { id: string }>;
  close(): Promise<void>;
}

/** The HTTP app with the report service given (live participants, settings, fake clock). */
export async function startReportsHarness(settings: Partial<ReportSettings> = {}): Promise<ReportsHarness> {
  const dir = tempDir('conclave-reports-');
  const db = createDatabase({ dataDir: dir.path });
  await migrateToLatest(db);
  const log = memoryLogger();
  const clock = fakeClock();
  const config = testConfig(dir.path, { publicUrl: 'http://meet.test' });
  const live: LiveParticipant[] = [];
  const reports = await ReportService.open({
    db,
    settings: { ...config, ...settings },
    logger: log.logger,
    now: clock.now,
    liveParticipants: () => live,
  });
  const meetings = new MeetingStore(db, { now: clock.now });
  const app = await buildHttpApp({
    config,
    store: meetings,
    logger: log.logger,
    webRoot: null,
    accounts: { db, now: clock.now, passwordScrypt: TEST_SCRYPT, blindSigner: await sharedSigner() },
    reports,
  });
  await app.ready();
  return {
    app,
    db,
    dataDir: dir.path,
    clock,
    log,
    reports,
    meetings,
    live,
    client: (ip) => new TestClient(app, ip),
    meeting: async (mode = 'e2ee') =>
      (await meetings.create(createMeetingRequest.parse({ v: 1, mode }))).meeting.id,
    moderationKey: async () => {
      const pair = await generateModerationKeyPair();
      const { id } = await new ModerationKeys(db).add(pair.publicKey, new Date(clock.now()).toISOString());
      return { ...pair, id };
    },
    async close() {
      reports.close();
      await app.close();
      await db.destroy();
      dir.remove();
    },
  };
}

const text = new TextEncoder();

/** A member of a real MLS group: its session and device. */
export interface Member {
  session: MlsSession;
  device: MlsDevice;
  /** base64 of its MLS signature key. */
  key: string;
}

/** A real MLS group of these identities (the first creates it and adds the others). */
export async function mlsGroup(identities: MemberIdentity[]): Promise<Member[]> {
  const devices = await Promise.all(identities.map((i) => MlsDevice.create(i)));
  const host = await MlsSession.create(devices[0]!, {
    groupId: crypto.getRandomValues(new Uint8Array(16)),
    roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
  });
  const pending = await host.prepareCommit({
    add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
  });
  host.applyCommit(pending);
  const others = await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, pending.welcome!)));
  return [host, ...others].map((session, i) => ({
    session,
    device: devices[i]!,
    key: toBase64(devices[i]!.signatureKeys.publicKey),
  }));
}

/** One chat message `from` sends, as `to` received it: the report evidence of it (one proof, one message). */
export async function chatEvidence(
  from: Member,
  to: Member,
  message: string,
  sentAt = Date.UTC(2030, 0, 1, 12),
): Promise<{ evidence: ReportEvidence; framedContent: Uint8Array; signature: Uint8Array }> {
  const payload = text.encode(JSON.stringify({ kind: 'chat', text: message, sentAt }));
  const received = await to.session.decryptApplication(await from.session.encryptApplication(payload));
  const proof = to.session.membershipProof(received.epoch)!;
  const { framedContent, signature } = received.evidence;
  return {
    framedContent,
    signature,
    evidence: {
      proofs: [{ groupContext: toBase64(proof.groupContext), ratchetTree: toBase64(proof.ratchetTree) }],
      chat: [
        {
          kind: 'mls_chat',
          proof: 0,
          framedContent: toBase64(framedContent),
          signature: toBase64(signature),
        },
      ],
      screenshots: [],
    },
  };
}

/** Registers the member's MLS key in the key directory as the signed-in account's device. */
export async function registerDevice(c: TestClient, m: Member): Promise<void> {
  const res = await c.post('/api/devices', { deviceId: m.device.identity.deviceId, publicKey: m.key });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

/** POST /api/reports from this client (its cookies and CSRF header when signed in). */
export function submit(
  c: TestClient,
  body: {
    meetingId: string;
    reported: { participantId?: string; signatureKey?: string; displayName: string };
    reason?: string;
    text?: string;
    evidence?: unknown;
  },
  csrf: boolean | string = true,
): Promise<LightMyRequestResponse> {
  return c.post(
    '/api/reports',
    { reason: 'harassment', ...body },
    c.cookie('conclave_session') ? csrf : false,
  );
}
