import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { createCommit, type ClientState } from 'ts-mls';
import {
  ExternalSender,
  MlsDevice,
  MlsSession,
  MlsSessionError,
  encodeMls,
  fromBase64,
  mlsSuite,
  toBase64,
  type GroupMember,
  type GroupRoles,
  type HandshakeResult,
  type MemberIdentity,
  type PendingCommit,
} from '@conclave/crypto';
import {
  ConclaveClient,
  type ChatMessage,
  type ClientOptions,
  type GroupHealth,
  type MembershipChange,
  type WebSocketLike,
} from '@conclave/client';
import {
  PROTOCOL_VERSION,
  e2eeAppPayloadSchema,
  parseClientMessage,
  serverMessage,
  type ClientMessage,
  type ClientMessageOf,
  type E2eeAppPayload,
  type Joiner,
  type MeetingInfo,
  type MeetingSettings,
  type Participant,
  type Role,
  type ServerMessage,
} from '@conclave/protocol';
import { until } from '@conclave/testing';

/**
 * A malicious (or merely scripted) Conclave server for the adversarial tests: it speaks the
 * signaling protocol on 127.0.0.1, real SDK clients (`ConclaveClient`) connect to it, and the test
 * decides every message the server sends. It holds a real server key (`sender`, an MLS external
 * sender) and plays other members of the meeting with real MLS state (`Colluder`s), so what the
 * SDK receives is exactly what a compromised server, alone or with colluding members, could send.
 *
 * Nothing here trusts the SDK: every client message is recorded (`FakeConnection.got`, parsed
 * with the protocol's own schema; frames that do not parse land in `invalid`).
 */

/** A server message as a test writes it: without `v`, which `say` adds. */
export type ServerSays = ServerMessage extends infer M
  ? M extends { v: number }
    ? Omit<M, 'v'>
    : never
  : never;

const DEFAULT_SETTINGS: MeetingSettings = {
  passcodeRequired: false,
  waitingRoom: false,
  muteOnEntry: false,
  maxParticipants: 50,
  locked: false,
  allowScreenShare: true,
};

/** A participant id the protocol accepts, derived from a display name. */
function idFor(name: string): string {
  const base = name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return `${base}-id`.slice(0, 64);
}

/** One client's WebSocket at the fake server: what it sent, and a way to answer. */
export class FakeConnection {
  /** Every message the client sent, in order, as the protocol parses it. */
  readonly got: ClientMessage[] = [];
  /** Frames the client sent that are not valid protocol messages (raw text, reason). */
  readonly invalid: Array<{ raw: string; reason: string }> = [];
  closed = false;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const raw = String(data);
      const parsed = parseClientMessage(raw);
      if (parsed.ok) this.got.push(parsed.value);
      else this.invalid.push({ raw, reason: parsed.message });
    });
    socket.on('close', () => (this.closed = true));
  }

  /** Sends a server message; throws if it is not one the protocol's schema accepts (`v: 1` is added). */
  say(msg: ServerSays): void {
    const full = { v: PROTOCOL_VERSION, ...msg };
    const checked = serverMessage.safeParse(full);
    if (!checked.success) {
      throw new Error(`not a valid server message: ${checked.error.issues[0]?.message ?? ''} (${msg.type})`);
    }
    this.socket.send(JSON.stringify(full));
  }

  /** Sends any frame, unchecked (for malformed-message tests). */
  sayRaw(frame: string | Record<string, unknown>): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** How many messages were received so far: pass it as `from` to wait only for later ones. */
  mark(): number {
    return this.got.length;
  }

  /** Messages of one type received (from index `from` on). */
  sent<T extends ClientMessage['type']>(type: T, from = 0): ClientMessageOf<T>[] {
    return this.got.slice(from).filter((m): m is ClientMessageOf<T> => m.type === type);
  }

  /** The first message of `type` (from index `from` on) that `where` accepts, waiting for it. */
  async next<T extends ClientMessage['type']>(
    type: T,
    opts: { from?: number; where?: (m: ClientMessageOf<T>) => boolean; ms?: number } = {},
  ): Promise<ClientMessageOf<T>> {
    let found: ClientMessageOf<T> | undefined;
    await until(
      () => {
        found = this.sent(type, opts.from ?? 0).find((m) => opts.where?.(m) ?? true);
        return found !== undefined;
      },
      `a ${type} message from the client`,
      opts.ms,
    );
    return found!;
  }
}

/** A real SDK client connected to the fake server, with everything it emitted recorded. */
export class Victim {
  readonly warnings: string[] = [];
  readonly membership: MembershipChange[] = [];
  readonly health: GroupHealth[] = [];
  readonly chats: ChatMessage[] = [];
  /** Every epoch the SDK announced (`epoch` event: keys, codes and roster of that epoch are set). */
  readonly epochs: bigint[] = [];

  constructor(
    readonly client: ConclaveClient,
    readonly conn: FakeConnection,
    readonly participantId: string,
    readonly displayName: string,
  ) {
    client.on('warning', (w) => this.warnings.push(w));
    client.on('membership', (c) => this.membership.push(c));
    client.on('health', (h) => this.health.push(h));
    client.on('epoch', (e) => this.epochs.push(e));
    client.on('chat', (m) => {
      if ('sender' in m) this.chats.push(m);
    });
  }

  get deviceId(): string {
    return this.conn.sent('join')[0]!.deviceId;
  }

  /** The SDK's current MLS epoch (undefined while it is in no group). */
  get epoch(): bigint | undefined {
    return this.client.e2ee.epoch;
  }

  /**
   * Waits until the SDK announced `epoch` (after the `from`-th announcement): its answer to a
   * commit comes before it has derived the new epoch's keys and codes.
   */
  async settled(epoch: bigint, from = 0): Promise<void> {
    await until(() => this.epochs.slice(from).includes(epoch), `${this.displayName} at epoch ${epoch}`);
  }

  /** The key package the client last handed out (its join, or a later `key_package`). */
  keyPackage(): string {
    const last = [...this.conn.got]
      .reverse()
      .find((m) => m.type === 'key_package' || (m.type === 'join' && m.keyPackage));
    if (!last || !('keyPackage' in last) || !last.keyPackage)
      throw new Error('the client sent no key package');
    return last.keyPackage;
  }

  /** This client as the server announces it in an `add_request`. */
  joiner(): Joiner {
    return {
      participantId: this.participantId,
      displayName: this.displayName,
      deviceId: this.deviceId,
      keyPackage: this.keyPackage(),
    };
  }

  /** Display names of the SDK's roster (read from its MLS group), sorted. */
  rosterNames(): string[] {
    return this.client
      .roster()
      .map((m) => m.identity.displayName)
      .sort();
  }
}

/** A member the malicious server plays itself: a real MLS device and session, no SDK. */
export class Colluder {
  session: MlsSession | undefined;

  constructor(
    readonly device: MlsDevice,
    readonly participantId: string,
    private readonly serverKey: Uint8Array,
  ) {}

  static async create(
    serverKey: Uint8Array,
    name: string,
    opts: { identity?: MemberIdentity; device?: MlsDevice; participantId?: string } = {},
  ): Promise<Colluder> {
    const identity = opts.identity ?? { kind: 'guest', deviceId: `dev-${idFor(name)}`, displayName: name };
    const device = opts.device ?? (await MlsDevice.create(identity));
    return new Colluder(device, opts.participantId ?? idFor(name), serverKey);
  }

  get displayName(): string {
    return this.device.identity.displayName;
  }

  get signatureKey(): string {
    return toBase64(this.device.signatureKeys.publicKey);
  }

  get leafIndex(): number {
    return this.active.ownLeafIndex;
  }

  /** The session, which must be in a group. */
  get active(): MlsSession {
    if (!this.session?.active) throw new Error(`${this.displayName} is in no group`);
    return this.session;
  }

  async keyPackage(): Promise<string> {
    return toBase64(await this.device.createKeyPackage());
  }

  /** This member as the server announces it in an `add_request` (with a fresh key package). */
  async joiner(): Promise<Joiner> {
    return {
      participantId: this.participantId,
      displayName: this.displayName,
      deviceId: this.device.identity.deviceId,
      keyPackage: await this.keyPackage(),
    };
  }

  /** Creates a group with the server as external sender; by default this member lists itself as host. */
  async createGroup(
    roles: GroupRoles | null = { hosts: [this.signatureKey], cohosts: [] },
  ): Promise<MlsSession> {
    this.session = await MlsSession.create(this.device, {
      groupId: crypto.getRandomValues(new Uint8Array(16)),
      externalSender: { signaturePublicKey: this.serverKey },
      serverKey: this.serverKey,
      roles: roles ?? undefined,
    });
    return this.session;
  }

  async join(welcome: string | Uint8Array): Promise<MlsSession> {
    this.session = await MlsSession.join(
      this.device,
      typeof welcome === 'string' ? fromBase64(welcome) : welcome,
      { serverKey: this.serverKey },
    );
    return this.session;
  }

  /** Processes a handshake message as any member does (the group policy applies). */
  process(
    bytes: string | Uint8Array,
    opts?: Parameters<MlsSession['processHandshake']>[1],
  ): Promise<HandshakeResult> {
    return this.active.processHandshake(typeof bytes === 'string' ? fromBase64(bytes) : bytes, opts);
  }

  /**
   * A commit by this member (not applied: call `apply` once delivered). The local session does
   * not check the group policy, so a colluder can make any commit MLS itself allows.
   */
  commit(opts?: Parameters<MlsSession['prepareCommit']>[0]): Promise<PendingCommit> {
    return this.active.prepareCommit(opts);
  }

  apply(pending: PendingCommit): void {
    this.active.applyCommit(pending);
  }

  /** An empty (rekey) commit sent as an MLS PrivateMessage, ts-mls's default wire format (not applied). */
  async privateCommit(): Promise<{ baseEpoch: bigint; commit: Uint8Array }> {
    const s = this.active;
    // MlsSession keeps its ts-mls state private: a colluder reaches into it (test code only).
    const state = (s as unknown as { state: ClientState }).state;
    const r = await createCommit({ state, cipherSuite: await mlsSuite(this.device.suiteName) });
    if (r.commit.wireformat !== 'mls_private_message') throw new Error('expected a PrivateMessage commit');
    return { baseEpoch: s.epoch, commit: encodeMls(r.commit) };
  }

  /** An encrypted chat message (the SDK's format), base64. */
  async chat(text: string): Promise<string> {
    const payload: E2eeAppPayload = { kind: 'chat', text, sentAt: Date.now() };
    const body = new TextEncoder().encode(JSON.stringify(payload));
    return toBase64(await this.active.encryptApplication(body));
  }

  async readChat(data: string): Promise<{ sender: GroupMember; text: string }> {
    const m = await this.active.decryptApplication(fromBase64(data));
    const body = e2eeAppPayloadSchema.parse(JSON.parse(new TextDecoder().decode(m.data)));
    if (body.kind !== 'chat') throw new Error(`expected chat, got ${body.kind}`);
    return { sender: m.sender, text: body.text };
  }

  membershipCode(): Promise<string> {
    return this.active.membershipCode();
  }

  rosterNames(): string[] {
    return this.active
      .members()
      .map((m) => m.identity.displayName)
      .sort();
  }
}

export type Member = Victim | Colluder;

/** What one member made of a delivered commit or Welcome. */
export interface Delivery {
  member: Member;
  ok: boolean;
  reason?: string;
  /** For colluders that processed a commit. */
  result?: HandshakeResult;
}

export interface VictimOptions {
  displayName: string;
  participantId?: string;
  /** The role the server tells the client it has (default: host when it creates the group). */
  role?: Role;
  /** Whether the server asks this client to create the meeting's group (default: true). */
  createGroup?: boolean;
  group?: { groupId: string; epoch: string } | null;
  meetingId?: string;
  settings?: Partial<MeetingSettings>;
  participants?: Participant[];
  client?: Partial<ClientOptions>;
}

/** The fake server. `start()` it, `join()` SDK clients to it, `close()` it. */
export class MaliciousServer {
  readonly connections: FakeConnection[] = [];
  readonly victims: Victim[] = [];

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    /** http://127.0.0.1:port, the `serverUrl` for the SDK. */
    readonly url: string,
    /** The server's MLS external-sender key (its `serverKey`): it signs Remove proposals. */
    readonly sender: ExternalSender,
  ) {
    wss.on('connection', (s) => this.connections.push(new FakeConnection(s)));
  }

  static async start(): Promise<MaliciousServer> {
    const http = createServer((_q, r) => r.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: '/ws' });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    return new MaliciousServer(http, wss, url, await ExternalSender.generate());
  }

  get serverKey(): Uint8Array {
    return this.sender.publicKey;
  }

  /** A member the server plays (a guest named `name`), pinned to this server's key. */
  colluder(name: string, opts?: Parameters<typeof Colluder.create>[2]): Promise<Colluder> {
    return Colluder.create(this.serverKey, name, opts);
  }

  /** A device whose credential is the server's own kind of credential, with the server's signature key. */
  serverCredentialDevice(): Promise<MlsDevice> {
    return MlsDevice.create(
      {
        kind: 'server',
        deviceId: 'delivery-service',
        displayName: this.sender.displayName,
      } as unknown as MemberIdentity,
      { signatureKeys: this.sender.keys },
    );
  }

  meeting(id = 'fake-meeting', settings: Partial<MeetingSettings> = {}): MeetingInfo {
    return { id, title: '', mode: 'e2ee', ended: false, settings: { ...DEFAULT_SETTINGS, ...settings } };
  }

  /**
   * Connects a real SDK client and answers its join with `joined`. With `createGroup` (the
   * default) it resolves once the client created the group (`group_create`).
   */
  async join(opts: VictimOptions): Promise<Victim> {
    const createGroup = opts.createGroup ?? true;
    const participantId = opts.participantId ?? idFor(opts.displayName);
    const meetingId = opts.meetingId ?? 'fake-meeting';
    const client = new ConclaveClient({
      serverUrl: this.url,
      meetingId,
      displayName: opts.displayName,
      webSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
      reconnect: false,
      ...opts.client,
    });
    const n = this.connections.length;
    const connected = client.connect();
    await until(
      () => this.connections.length > n && this.connections[n]!.got.some((m) => m.type === 'join'),
      `${opts.displayName}'s join`,
    );
    const conn = this.connections[n]!;
    const victim = new Victim(client, conn, participantId, opts.displayName);
    this.victims.push(victim);
    conn.say({
      type: 'joined',
      participantId,
      resumeToken: 'x'.repeat(43),
      role: opts.role ?? (createGroup ? 'host' : 'participant'),
      meeting: this.meeting(meetingId, opts.settings),
      participants: opts.participants ?? [],
      serverKey: toBase64(this.serverKey),
      group: opts.group ?? null,
      createGroup,
    });
    await connected;
    if (createGroup) await victim.settled(0n);
    return victim;
  }

  /** Asks `committer` (an SDK key holder) to add `joiners`, and waits for its commit. */
  async requestAdd(committer: Victim, joiners: Joiner[]): Promise<ClientMessageOf<'commit'>> {
    const from = committer.conn.mark();
    committer.conn.say({ type: 'add_request', epoch: String(committer.epoch), joiners });
    return committer.conn.next('commit', { from });
  }

  /**
   * The honest delivery service's add: asks `committer` to add `joiners`, accepts its commit,
   * gives the Welcome to the joiners and the commit to `others` (members already in the group).
   */
  async add(committer: Victim, joiners: Member[], others: Member[] = []): Promise<Delivery[]> {
    const announced = await Promise.all(joiners.map((j) => j.joiner()));
    const commit = await this.requestAdd(committer, announced);
    return this.relay(committer, commit, [...others, ...joiners]);
  }

  /**
   * Accepts a commit an SDK client sent (`commit_accepted`) and delivers it to `to` as the
   * honest server would. Resolves once the committer applied it and everyone answered.
   */
  async relay(committer: Victim, msg: ClientMessageOf<'commit'>, to: Member[] = []): Promise<Delivery[]> {
    const newEpoch = BigInt(msg.epoch) + 1n;
    const announced = committer.epochs.length;
    committer.conn.say({ type: 'commit_accepted', epoch: msg.epoch, newEpoch: String(newEpoch) });
    const out = await this.deliver(
      committer,
      {
        baseEpoch: BigInt(msg.epoch),
        commit: fromBase64(msg.commit),
        welcome: msg.welcome ? fromBase64(msg.welcome) : undefined,
      },
      to,
    );
    await committer.settled(newEpoch, announced);
    return out;
  }

  /**
   * Delivers a commit (and its Welcome) to each member of `to`: SDK clients in a group get it as
   * `commit` (from `from`), SDK clients in no group get the Welcome; colluders process it (or
   * join from the Welcome when it is for them). Waits for every SDK client's `commit_result`.
   * The committer, if a colluder, applies its own commit separately (`apply`).
   */
  async deliver(
    from: Member | string,
    commit: { baseEpoch: bigint; commit: Uint8Array; welcome?: Uint8Array | undefined },
    to: Member[],
  ): Promise<Delivery[]> {
    const epoch = String(commit.baseEpoch);
    const fromId = typeof from === 'string' ? from : from.participantId;
    return Promise.all(
      to.map(async (member): Promise<Delivery> => {
        if (member instanceof Victim) {
          const mark = member.conn.mark();
          const announced = member.epochs.length;
          if (member.epoch !== undefined)
            member.conn.say({ type: 'commit', epoch, commit: toBase64(commit.commit), from: fromId });
          else if (commit.welcome)
            member.conn.say({
              type: 'welcome',
              epoch: String(commit.baseEpoch + 1n),
              welcome: toBase64(commit.welcome),
            });
          else return { member, ok: false, reason: 'in no group and no Welcome' };
          const r = await member.conn.next('commit_result', { from: mark, where: (m) => m.epoch === epoch });
          if (r.ok && member.epoch !== undefined) await member.settled(commit.baseEpoch + 1n, announced);
          return { member, ok: r.ok, reason: r.reason };
        }
        try {
          if (member.session?.active)
            return { member, ok: true, result: await member.process(commit.commit) };
          if (!commit.welcome) return { member, ok: false, reason: 'in no group and no Welcome' };
          await member.join(commit.welcome);
          return { member, ok: true };
        } catch (e) {
          if (e instanceof MlsSessionError && e.code === 'no_matching_key_package')
            return { member, ok: false, reason: 'the Welcome is not for it' };
          return { member, ok: false, reason: (e as Error).message };
        }
      }),
    );
  }

  /** Gives an SDK client a Welcome (e.g. into a group the server's colluders built); waits for its answer. */
  async welcome(victim: Victim, pending: { epoch: bigint; welcome: Uint8Array | undefined }) {
    if (!pending.welcome) throw new Error('the commit has no Welcome');
    const mark = victim.conn.mark();
    victim.conn.say({ type: 'welcome', epoch: String(pending.epoch), welcome: toBase64(pending.welcome) });
    return victim.conn.next('commit_result', {
      from: mark,
      where: (m) => m.epoch === String(pending.epoch - 1n),
    });
  }

  /** The server's external Remove proposal for `leafIndex`, in the group and epoch of `session`, base64. */
  async removeProposal(session: MlsSession, leafIndex: number): Promise<string> {
    return toBase64(await this.sender.proposeRemove(session.groupId, session.epoch, leafIndex));
  }

  /** Sends a chat message from a colluder to SDK clients and waits until each decrypted it. */
  async chatFrom(colluder: Colluder, text: string, to: Victim[]): Promise<void> {
    const data = await colluder.chat(text);
    for (const v of to) {
      v.conn.say({ type: 'app', epoch: String(colluder.active.epoch), data, from: colluder.participantId });
      await until(() => v.chats.some((c) => c.text === text), `${v.displayName} reading "${text}"`);
    }
  }

  /** Has an SDK client send a chat message and returns it as the colluder decrypts it. */
  async chatTo(
    victim: Victim,
    text: string,
    colluder: Colluder,
  ): Promise<{ sender: GroupMember; text: string }> {
    const mark = victim.conn.mark();
    await victim.client.sendChat(text);
    const app = await victim.conn.next('app', { from: mark });
    return colluder.readChat(app.data);
  }

  async close(): Promise<void> {
    for (const v of this.victims) if (v.client.state === 'joined') await v.client.leave();
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
