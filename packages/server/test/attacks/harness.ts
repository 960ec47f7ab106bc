import { afterAll, afterEach, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import {
  MlsDevice,
  MlsSession,
  fromBase64,
  toBase64,
  type MemberIdentity,
  type PendingCommit,
} from '@conclave/crypto';
import {
  AccountApi,
  ConclaveClient,
  SignalingConnection,
  type ClientOptions,
  type WebSocketFactory,
  type WebSocketLike,
} from '@conclave/client';
import type { ClientMessage, CreateMeetingRequest, ServerMessage, ServerMessageOf } from '@conclave/protocol';
import {
  adminSetPlan,
  createDatabase,
  loadConfig,
  startConclave,
  type ConclaveServer,
  type ConclaveStartOptions,
} from '../../src/index.js';

/**
 * Test support for the adversarial tests: a real `conclave serve` (HTTP, signaling, SQLite,
 * SFU workers that bind nothing until a client offers media), honest SDK clients, and a
 * *modified client* built from the SDK's own pieces (its signaling connection and MLS device)
 * that sends whatever a patched client could send.
 *
 * The server trusts `X-Forwarded-For` from loopback (as behind a reverse proxy), so a test on
 * 127.0.0.1 can speak from many addresses and networks.
 */
export interface AttackServer {
  server: ConclaveServer;
  url: string;
  wsUrl: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startAttackServer(
  flags: string[] = [],
  opts: ConclaveStartOptions = {},
): Promise<AttackServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'conclave-attack-'));
  const config = loadConfig(
    [
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--sfu-workers',
      '1',
      '--trust-proxy',
      'loopback',
      ...flags,
    ],
    { CONCLAVE_LOG_LEVEL: process.env.CONCLAVE_TEST_LOG_LEVEL ?? 'silent' },
  );
  const server = await startConclave(config, {
    loopbackOnly: true,
    commitTimeoutMs: 1000,
    createMeetingLimit: { capacity: 1000, refillPerSecond: 100 },
    ...opts,
  });
  return {
    server,
    url: server.url,
    wsUrl: server.url.replace(/^http/, 'ws') + '/ws',
    dataDir,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const hosts = new WeakMap<AttackServer, Promise<AccountApi>>();

/** One paid account per server (sign-ups are limited per network), signed in. */
function hostAccount(ts: AttackServer): Promise<AccountApi> {
  let api = hosts.get(ts);
  if (!api) {
    api = (async () => {
      const a = new AccountApi({ serverUrl: ts.url });
      const email = `host-${Math.random().toString(36).slice(2, 10)}@example.org`;
      await a.signUp({ email, password: 'attack tests host password', displayName: 'Host' });
      const db = createDatabase({ dataDir: ts.dataDir });
      try {
        await adminSetPlan(db, email, 'paid');
      } finally {
        await db.destroy();
      }
      return a;
    })();
    hosts.set(ts, api);
  }
  return api;
}

/** A paid account (as `conclave admin plan … paid` makes one) that creates a meeting. */
export async function hostMeeting(
  ts: AttackServer,
  req: Partial<Omit<CreateMeetingRequest, 'v'>> = {},
): Promise<{ meetingId: string; hostSecret: string; api: AccountApi }> {
  const api = await hostAccount(ts);
  const created = await api.createMeeting({ mode: 'e2ee', ...req });
  return { meetingId: created.meeting.id, hostSecret: created.hostSecret, api };
}

/** A WebSocket factory for the SDK that speaks from `forwardedFor` and sends the given headers. */
function socketFrom(
  opts: { forwardedFor?: string; origin?: string; cookie?: string } = {},
): WebSocketFactory {
  const headers: Record<string, string> = {};
  if (opts.forwardedFor) headers['x-forwarded-for'] = opts.forwardedFor;
  if (opts.origin) headers.origin = opts.origin;
  if (opts.cookie) headers.cookie = opts.cookie;
  return (url) => new WebSocket(url, { headers }) as unknown as WebSocketLike;
}

/** An honest participant: the SDK as shipped. */
export function honest(
  ts: AttackServer,
  meetingId: string,
  displayName: string,
  extra: Partial<ClientOptions> & { forwardedFor?: string } = {},
): ConclaveClient {
  const { forwardedFor, ...rest } = extra;
  return new ConclaveClient({
    serverUrl: ts.url,
    meetingId,
    displayName,
    webSocket: socketFrom({ forwardedFor }),
    reconnect: { attempts: 10, delayMs: 200 },
    ...rest,
  });
}

type Outgoing = Parameters<SignalingConnection['send']>[0];
type JoinFields = Omit<Extract<ClientMessage, { type: 'join' }>, 'v' | 'type'>;

/**
 * A modified client: the SDK's signaling connection and MLS device, driven by the test. It
 * keeps every server message, can send any message (also ones the SDK never would), can join
 * the MLS group from its Welcome, and can stop reading its socket.
 */
export class ModifiedClient {
  readonly got: ServerMessage[] = [];
  closeCode: number | undefined;
  session: MlsSession | undefined;
  private conn: SignalingConnection | undefined;
  private raw: WebSocket | undefined;
  private serverKey: Uint8Array | undefined;

  private constructor(
    private readonly ts: AttackServer,
    readonly device: MlsDevice,
    private readonly headers: { forwardedFor?: string; origin?: string; cookie?: string },
  ) {}

  /** A device of its own (new signature key), or a given one (the same key as before). */
  static async create(
    ts: AttackServer,
    opts: {
      identity?: MemberIdentity;
      device?: MlsDevice;
      forwardedFor?: string;
      origin?: string;
      cookie?: string;
    } = {},
  ): Promise<ModifiedClient> {
    const device =
      opts.device ??
      (await MlsDevice.create(
        opts.identity ?? {
          kind: 'guest',
          deviceId: `dev-${Math.random().toString(36).slice(2, 10)}`,
          displayName: 'Mallory',
        },
      ));
    return new ModifiedClient(ts, device, opts);
  }

  get identity(): MemberIdentity {
    return this.device.identity;
  }

  /** Opens the socket; resolves once it is open (or rejects when the upgrade is refused). */
  async open(): Promise<void> {
    const factory = socketFrom(this.headers);
    const conn = new SignalingConnection(
      this.ts.wsUrl,
      (url) => {
        const ws = factory(url);
        this.raw = ws as unknown as WebSocket;
        return ws;
      },
      {
        message: (m) => {
          this.got.push(m);
          // One message at a time, as the SDK does.
          this.handling = this.handling.then(() => this.onMessage(m)).catch(() => undefined);
        },
        invalid: () => undefined,
        closed: (code) => (this.closeCode = code),
      },
    );
    this.conn = conn;
    await conn.open();
  }

  /** Sends through the SDK's connection (which adds a fresh request id); returns that id. */
  send(msg: Outgoing): string | undefined {
    return this.conn?.send(msg);
  }

  /** Sends any JSON value as a text frame, schema or not. */
  sendRaw(value: unknown): void {
    this.raw?.send(JSON.stringify(value));
  }

  /**
   * Sends a join as the device's identity (override any field, e.g. a name that is not the
   * credential's) with a fresh key package, and waits for its answer.
   */
  async join(
    meetingId: string,
    fields: Partial<JoinFields> = {},
  ): Promise<ServerMessageOf<'joined' | 'waiting' | 'error'>> {
    if (!this.conn) await this.open();
    const from = this.got.length;
    const id = this.identity;
    this.send({
      type: 'join',
      meetingId,
      displayName: id.displayName,
      deviceId: id.deviceId,
      userId: id.kind === 'user' ? id.userId : undefined,
      keyPackage: toBase64(await this.device.createKeyPackage()),
      ...fields,
    });
    return this.next<ServerMessageOf<'joined' | 'waiting' | 'error'>>(
      (m) => m.type === 'joined' || m.type === 'waiting' || (m.type === 'error' && m.ref === 'join'),
      'an answer to the join',
      from,
    );
  }

  /** The first message from index `from` on that matches. */
  async next<T extends ServerMessage = ServerMessage>(
    pred: (m: ServerMessage) => boolean,
    what: string,
    from = 0,
    ms = 5_000,
  ): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const found = this.got.slice(from).find(pred);
      if (found) return found as T;
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  has(type: ServerMessage['type']): boolean {
    return this.got.some((m) => m.type === type);
  }

  /** The resume token and participant id of the last `joined`/`waiting`. */
  get resume(): { participantId: string; token: string } | undefined {
    const last = [...this.got]
      .reverse()
      .find((m): m is ServerMessageOf<'joined' | 'waiting'> => m.type === 'joined' || m.type === 'waiting');
    return last ? { participantId: last.participantId, token: last.resumeToken } : undefined;
  }

  /** Stops reading the socket: what the server sends piles up in its send buffer. */
  stopReading(): void {
    const tcp = (this.raw as unknown as { _socket?: { pause(): void } } | undefined)?._socket;
    tcp?.pause();
  }

  /** Cuts the connection without a goodbye (as a network failure would). */
  drop(): void {
    this.raw?.terminate();
    this.conn = undefined;
  }

  close(): void {
    this.conn?.close();
    this.conn = undefined;
    this.raw?.terminate();
  }

  /**
   * What the modified client does with MLS messages unless a test's `onMls` handles them
   * (returns true): what the SDK does — creates the group when told to, joins from its Welcome,
   * follows commits, stores the server's proposals, commits what it is asked to (adds, removals,
   * rekeys), and answers `commit_result` (a lying member sets `answer`).
   */
  answer: 'truth' | 'ok' | 'fail' | 'silent' = 'truth';
  onMls: ((m: ServerMessage) => Promise<boolean> | boolean) | undefined;
  /** The commit it sent and has not seen accepted. */
  pending: PendingCommit | undefined;
  private handling: Promise<void> = Promise.resolve();

  /** Creates the meeting's group (as the SDK does on `createGroup`), listing itself as host if `host`. */
  async createGroup(host = false): Promise<void> {
    const own = toBase64(this.device.signatureKeys.publicKey);
    const groupId = crypto.getRandomValues(new Uint8Array(16));
    this.session = await MlsSession.create(this.device, {
      groupId,
      externalSender: this.serverKey ? { signaturePublicKey: this.serverKey } : undefined,
      serverKey: this.serverKey,
      roles: host ? { hosts: [own], cohosts: [] } : undefined,
    });
    this.send({
      type: 'group_create',
      groupId: toBase64(groupId),
      groupInfo: toBase64(await this.session.groupInfo()),
    });
  }

  /** Sends a commit it made (possibly altered: `bytes`), to be applied when accepted. */
  sendCommit(pending: PendingCommit, bytes = pending.commit, welcome = pending.welcome): void {
    this.pending = pending;
    this.send({
      type: 'commit',
      epoch: String(pending.baseEpoch),
      commit: toBase64(bytes),
      welcome: welcome ? toBase64(welcome) : undefined,
    });
  }

  private async onMessage(m: ServerMessage): Promise<void> {
    if (m.type === 'joined' && m.serverKey) this.serverKey = fromBase64(m.serverKey);
    if (this.onMls && (await this.onMls(m))) return;
    const s = this.session;
    switch (m.type) {
      case 'joined':
        if (m.createGroup) await this.createGroup(m.role === 'host');
        return;
      case 'welcome': {
        let ok = true;
        try {
          this.session = await MlsSession.join(this.device, fromBase64(m.welcome), {
            serverKey: this.serverKey,
          });
        } catch {
          ok = false;
        }
        this.reply(String(BigInt(m.epoch) - 1n), ok);
        return;
      }
      case 'commit':
        if (s?.active && String(s.epoch) === m.epoch) {
          this.pending = undefined;
          const ok = await s.processHandshake(fromBase64(m.commit)).then(
            () => true,
            () => false,
          );
          this.reply(m.epoch, ok);
        }
        return;
      case 'commit_accepted':
        if (this.pending && s && String(this.pending.baseEpoch) === m.epoch) {
          s.applyCommit(this.pending);
          this.pending = undefined;
        }
        return;
      case 'proposal':
        if (s?.active && String(s.epoch) === m.epoch) {
          await s.processHandshake(fromBase64(m.proposal)).catch(() => undefined);
          if (m.committer === this.resume?.participantId && !this.pending)
            this.sendCommit(await s.prepareCommit());
        }
        return;
      case 'add_request':
        if (s?.active && String(s.epoch) === m.epoch && !this.pending)
          this.sendCommit(await s.prepareCommit({ add: m.joiners.map((j) => fromBase64(j.keyPackage)) }));
        return;
      case 'rekey_request':
        if (s?.active && String(s.epoch) === m.epoch && !this.pending)
          this.sendCommit(await s.prepareCommit());
        return;
      case 'group_reset':
        this.session = undefined;
        this.pending = undefined;
        if (m.creator === this.resume?.participantId) await this.createGroup();
        else this.send({ type: 'key_package', keyPackage: toBase64(await this.device.createKeyPackage()) });
        return;
      default:
        return;
    }
  }

  private reply(epoch: string, ok: boolean): void {
    if (this.answer === 'silent') return;
    const said = this.answer === 'truth' ? ok : this.answer === 'ok';
    this.send({
      type: 'commit_result',
      epoch,
      ok: said,
      reason: said ? undefined : 'modified client says no',
    });
  }
}

export { sleep, until } from '@conclave/testing';

/**
 * One attack server for a test file: started before its tests (with `flags`), closed after.
 * Read `server.ts` inside tests and hooks, once `beforeAll` has run.
 */
export function attackServer(flags: string[] = []): { readonly ts: AttackServer } {
  let ts: AttackServer | undefined;
  beforeAll(async () => {
    ts = await startAttackServer(flags);
  });
  afterAll(async () => {
    await ts?.close();
  });
  return {
    get ts() {
      if (!ts) throw new Error('the attack server is not started yet (use it inside tests)');
      return ts;
    },
  };
}

/** Participants a test opens: `track` each; after every test they leave (SDK) or are closed. */
export function participants(): { track<T extends ConclaveClient | ModifiedClient>(c: T): T } {
  const clients: ConclaveClient[] = [];
  const modified: ModifiedClient[] = [];
  afterEach(async () => {
    for (const m of modified.splice(0)) m.close();
    await Promise.all(clients.splice(0).map((c) => c.leave().catch(() => undefined)));
  });
  return {
    track(c) {
      if (c instanceof ModifiedClient) modified.push(c);
      else clients.push(c);
      return c;
    },
  };
}
