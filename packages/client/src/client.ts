import { MlsDevice, type GroupMember, type GroupRoles, type MemberIdentity } from '@conclave/crypto';
import type {
  ClipEvidence,
  ErrorCode,
  MediaResetReason,
  MeetingInfo,
  MembershipProofWire,
  Participant,
  Role,
  ServerMessage,
  ServerMessageOf,
} from '@conclave/protocol';
import { E2eeMember, type ChatMessage, type GroupHealth, type MembershipChange } from './e2ee-member.js';
import type { ClientOptions, ClientState, E2eeState } from './client-options.js';
import { Emitter } from './emitter.js';
import { ConclaveError } from './errors.js';
import { LocalKeySink, type MediaKeySink } from './key-sink.js';
import type { MediaTransport } from './media-transport.js';
import { buildPeople, type People } from './people.js';
import { ReportLog, type ReportableMeeting } from './report/report-log.js';
import { Attestations } from './attestation/attestations.js';
import { ServerRoster } from './server-roster.js';
import { ViewSender, type ForwardingStatus, type MediaViewFields, type ViewRequest } from './media-view.js';
import { SignalingConnection, type WebSocketFactory } from './signaling.js';

type ClientEvents = {
  state: (state: ClientState) => void;
  participants: (participants: Participant[]) => void;
  waitingRoom: (waiting: Participant[]) => void;
  /**
   * The server refused a join of this client, also one made by the automatic reconnect (the
   * first join's refusal also rejects `connect()`). After `resume_rejected` the client joins
   * afresh at once, so a meeting with a waiting room makes the participant wait again.
   */
  joinRefused: (code: ErrorCode, message: string) => void;
  /** Hosts and co-hosts: too many wrong passcodes; passcode joins are refused until `until` (ms since the epoch). */
  passcodeLockout: (until: number, failures: number) => void;
  epoch: (epoch: bigint, securityCode: string) => void;
  /**
   * The key sink confirmed an epoch (or dropped its keys) or reported received frames:
   * `e2ee.active` and the media status in `people()` may have changed.
   */
  media: () => void;
  roster: (members: GroupMember[]) => void;
  /** Someone was added to or removed from the MLS group, and who committed it ("Host added Gabi"). */
  membership: (change: MembershipChange) => void;
  /** The group's health changed (see E2eeState.health). */
  health: (health: GroupHealth) => void;
  chat: (msg: ChatMessage | { id: string; from: string; text: string; sentAt: number }) => void;
  muted: (kind: 'audio' | 'video') => void;
  /**
   * The server made this participant's media session anew (its SFU worker died, or a peer
   * connection with the SFU failed): media reconnects (a few seconds).
   */
  mediaReset: (reason: MediaResetReason) => void;
  /**
   * The SFU's `media_status`: what it forwards to this participant and why (see
   * `mediaStatus()`). Undefined when a new media session starts (after a (re)join or
   * `media_reset`) until the SFU reports again.
   */
  mediaStatus: (status: ForwardingStatus | undefined) => void;
  meeting: (meeting: MeetingInfo) => void;
  error: (code: ErrorCode, message: string, ref: string | undefined) => void;
  warning: (message: string) => void;
};

const MEDIA_MESSAGES = new Set<ServerMessage['type']>(['media_offer', 'media_answer', 'ice', 'media_reset']);

const TERMINAL: ClientState[] = ['denied', 'removed', 'ended', 'left', 'lost'];

/**
 * The Conclave client SDK: one API for browsers and Node. Connects, joins (passcode, host
 * link, waiting room), keeps the MLS group and the SFrame keys, carries chat, negotiates media
 * with the SFU, and reconnects automatically (rejoining the MLS group with a fresh key package).
 */
export class ConclaveClient extends Emitter<ClientEvents> {
  private readonly keySink: MediaKeySink;
  private device: MlsDevice | undefined;
  private e2eeMember: E2eeMember | undefined;
  private signaling: SignalingConnection | undefined;
  private media: MediaTransport | undefined;
  /** The connect watchdogs of the current transport (watchConnection). */
  private readonly mediaWatches = new Map<'publish' | 'subscribe', ReturnType<typeof setTimeout>>();
  /**
   * Server messages are handled in order, in two lanes: media negotiation (SDP, ICE) must not
   * hold up MLS handshakes (a Remove commit should not wait behind a renegotiation), and vice versa.
   */
  private readonly lanes = { control: Promise.resolve(), media: Promise.resolve() };
  private stateValue: ClientState = 'idle';
  private resume: { participantId: string; token: string } | undefined;
  /** The server's participants and waiting room. */
  private readonly serverRoster = new ServerRoster();
  private joinWaiter: { resolve: (s: 'joined' | 'waiting') => void; reject: (e: Error) => void } | undefined;
  /** The request id of the join in flight (its refusal carries it). */
  private joinRid: string | undefined;
  /** Our microphone and camera as last told to the server. */
  private ownMedia = { audio: false, video: false };
  /** A subscribe offer that came before our media transport existed (answered once it does). */
  private heldOffer: ServerMessageOf<'media_offer'> | undefined;
  /** When our media transport last started (ms). */
  private mediaStartedAt = 0;
  /** Received chat and the people seen, kept for Report a User. */
  private readonly reportLog = new ReportLog();
  /** Frame attestation: our frames signed, others' checked live and kept for clips. */
  private readonly attestations: Attestations;
  /** What this participant shows (`setView`), coalesced on its way to the server. */
  private readonly viewSender = new ViewSender((view) => this.sendView(view));
  private forwarding: ForwardingStatus | undefined;
  meeting: MeetingInfo | undefined;
  /** Why the server took this participant out (the host, or this server's moderators), once `removed`. */
  removedReason: string | undefined;
  role: Role | undefined;
  participantId: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    super();
    this.device = opts.device;
    this.keySink = opts.keySink ?? new LocalKeySink();
    this.keySink.onChange(() => this.emit('media'));
    this.attestations = new Attestations(this.keySink, (w) => this.emit('warning', w));
  }

  get state(): ClientState {
    return this.stateValue;
  }

  get e2ee(): E2eeState {
    const enabled = this.meeting?.mode === 'e2ee';
    const epoch = this.e2eeMember?.epoch;
    const health = this.e2eeMember?.health ?? 'ok';
    return {
      enabled,
      active: enabled && epoch !== undefined && this.keySink.confirmedEpoch === epoch && health === 'ok',
      epoch,
      securityCode: this.e2eeMember?.securityCode,
      membershipCode: this.e2eeMember?.membershipCode,
      health,
    };
  }

  /** The roster, read from the MLS group in E2EE meetings (whoever is shown can decrypt). */
  roster(): GroupMember[] {
    return this.e2eeMember?.roster() ?? [];
  }

  /** Host and co-hosts as the MLS group itself lists them (signature keys, base64), E2EE only. */
  groupRoles(): GroupRoles | undefined {
    return this.e2eeMember?.roles();
  }

  /** The server's view of the meeting's participants (waiting-room state, roles, mute flags). */
  participants(): Participant[] {
    return this.serverRoster.list();
  }

  /**
   * Everyone in the meeting, one entry per person: the server's participant matched to their
   * MLS leaf (by the signature key of their key package), with the group's roles and what this
   * client receives from them. A snapshot: read it again on `participants`, `roster`, `epoch`,
   * `media` events, or every second or so (the media status also moves with time).
   */
  people(): People {
    return buildPeople({
      mode: this.meeting?.mode ?? 'standard',
      participants: this.participants(),
      selfId: this.participantId,
      self: {
        displayName: this.opts.displayName,
        kind: this.opts.userId ? 'user' : 'guest',
        role: this.role,
        ...this.ownMedia,
      },
      roster: this.roster(),
      ownLeafIndex: this.ownLeafIndex,
      roles: this.groupRoles(),
      senderStats: this.keySink.senderStats(),
      expectedSince: (id) => Math.max(this.mediaStartedAt, (id && this.serverRoster.sendingSinceOf(id)) || 0),
      now: Date.now(),
      forwarding: this.forwarding,
    });
  }

  /**
   * What this client can report about the meeting (people seen, received chat with its
   * evidence), as plain JSON the app may keep for the end screen. See `buildReport`.
   */
  reportable(): ReportableMeeting | undefined {
    if (!this.meeting) return undefined;
    const people = this.people();
    this.reportLog.notePeople([...people.members, ...people.outsiders]);
    return this.reportLog.snapshot(
      this.meeting,
      this.meeting.mode === 'e2ee' && this.meeting.settings.attestation !== false,
    );
  }

  /**
   * A clip of the member at `leafIndex` for a report: the last `seconds` (at most 60) of their
   * media as this client received it (SFrame ciphertext), the key material of those frames' KIDs
   * only, and their signed frame attestations; `clip.attestations[].proof` indexes `proofs`.
   * Undefined when the meeting does not attest or nothing attested of theirs is buffered.
   */
  clipEvidence(
    leafIndex: number,
    seconds: number,
  ): Promise<{ clip: ClipEvidence; proofs: MembershipProofWire[] } | undefined> {
    return this.attestations.clipEvidence(leafIndex, seconds);
  }

  get ownLeafIndex(): number | undefined {
    return this.e2eeMember?.ownLeafIndex;
  }

  /** Connects and joins. Resolves with 'joined' or 'waiting'; rejects with a ConclaveError (e.g. wrong_passcode). */
  async connect(): Promise<'joined' | 'waiting'> {
    if (!this.device) {
      const identity: MemberIdentity = this.opts.userId
        ? {
            kind: 'user',
            userId: this.opts.userId,
            deviceId: this.deviceId(),
            displayName: this.opts.displayName,
          }
        : { kind: 'guest', deviceId: this.deviceId(), displayName: this.opts.displayName };
      this.device = await MlsDevice.create(identity);
    }
    this.e2eeMember ??= this.createE2eeMember(this.device);
    this.setState(this.resume ? 'reconnecting' : 'connecting');
    return this.open();
  }

  async leave(): Promise<void> {
    this.signaling?.send({ type: 'leave' });
    this.shutdown('left');
  }

  async sendChat(text: string): Promise<void> {
    if (this.meeting?.mode === 'e2ee') await this.requireE2ee().sendChat(text);
    else this.signaling?.send({ type: 'chat', text });
  }

  setMediaState(audio: boolean, video: boolean): void {
    this.ownMedia = { audio, video };
    this.signaling?.send({ type: 'media_state', audio, video });
  }

  /**
   * Tells the SFU what this participant shows, so it forwards only that (`media_view`): video
   * of the `lastN` most recent speakers plus the `pinned` participants, each at a layer that
   * fits its tile's height in device pixels (`tiles`; others `defaultHeight`). Validated here
   * (a wrong view throws `ConclaveError('bad_request')`); a view equal to the last one sent is
   * not sent again, at most about 4 go out per second (the latest wins), and the view is sent
   * again after every reconnect and `media_reset`. Until a view is set, the SFU forwards
   * everything.
   */
  setView(view: ViewRequest): void {
    this.viewSender.set(view);
  }

  /** The view last given to `setView`, in the canonical form sent to the server. */
  view(): MediaViewFields | undefined {
    return this.viewSender.view;
  }

  /**
   * The SFU's last `media_status`: which speakers it ranks, whose audio and video it forwards to
   * us and why, the simulcast layer of each video stream and what limits it, and its estimate of
   * our downlink. Undefined until it sends one in this media session.
   */
  mediaStatus(): ForwardingStatus | undefined {
    return this.forwarding;
  }

  // host controls
  /**
   * Admits a waiting participant. This client remembers the MLS signature key the waiting room
   * showed for it: if this client is later asked to add that participant, the key package must
   * carry that key (the server cannot swap in another device after the host's decision).
   */
  admit(participantId: string): void {
    const key = this.serverRoster.waiting(participantId)?.signatureKey;
    if (key) this.e2eeMember?.expectKey(participantId, key);
    this.signaling?.send({ type: 'admit', participantId });
  }
  deny(participantId: string): void {
    this.signaling?.send({ type: 'deny', participantId });
  }
  remove(participantId: string, ban = false): void {
    this.signaling?.send({ type: 'remove', participantId, ban });
  }
  mute(participantId: string, kind: 'audio' | 'video' = 'audio'): void {
    this.signaling?.send({ type: 'mute', participantId, kind });
  }
  muteAll(kind: 'audio' | 'video' = 'audio'): void {
    this.signaling?.send({ type: 'mute_all', kind });
  }
  setRole(participantId: string, role: 'cohost' | 'participant'): void {
    // The group's roles are written by this host's own commit, for the key it was shown.
    const key = this.serverRoster.get(participantId)?.signatureKey;
    if (key) this.e2eeMember?.intendRole(key, role);
    this.signaling?.send({ type: 'set_role', participantId, role });
  }
  lock(locked: boolean): void {
    this.signaling?.send({ type: 'lock', locked });
  }
  endForAll(): void {
    this.signaling?.send({ type: 'end' });
  }

  /**
   * Test hook: drops the connection as a network failure would. The client then reconnects,
   * unless `reconnect: false` (a participant that is simply gone).
   */
  simulateConnectionLoss(opts: { reconnect?: boolean } = {}): void {
    if (opts.reconnect === false) this.resume = undefined;
    this.signaling?.close(4000, 'simulated loss');
    this.onClosed(4000);
  }

  // ------------------------------------------------------------------ internals

  private deviceId(): string {
    return (
      this.opts.deviceId ??
      `dev-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}`
    );
  }

  private createE2eeMember(device: MlsDevice): E2eeMember {
    const m = new E2eeMember(device, this.keySink, () => this.signaling, {
      directory: this.opts.directory,
      admit: this.opts.admitJoiner,
    });
    m.on('epoch', (epoch, code) => this.emit('epoch', epoch, code));
    m.on('roster', (members) => this.emit('roster', members));
    m.on('membership', (change) => this.emit('membership', change));
    m.on('health', (h) => this.emit('health', h));
    m.on('chat', (msg) => {
      this.reportLog.recordE2ee(msg, (epoch) => m.membershipProof(epoch));
      this.emit('chat', msg);
    });
    m.on('warning', (w) => this.emit('warning', w));
    this.attestations.attach(m);
    m.on('removed', () => this.emit('warning', 'removed from the MLS group'));
    return m;
  }

  private async open(): Promise<'joined' | 'waiting'> {
    const wsUrl = this.opts.serverUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/ws';
    const factory =
      this.opts.webSocket ?? ((url: string) => new WebSocket(url) as unknown as ReturnType<WebSocketFactory>);
    const signaling = new SignalingConnection(wsUrl, factory, {
      message: (msg) => {
        // Not queued: a status replaces the previous one and waits for nothing. A media reset
        // forgets it at once, before any status of the new session can arrive.
        if (msg.type === 'media_status') return this.onMediaStatus(msg);
        if (msg.type === 'media_reset') this.setForwarding(undefined);
        this.enqueue(MEDIA_MESSAGES.has(msg.type) ? 'media' : 'control', () => this.onMessage(msg));
      },
      invalid: (reason) => this.emit('warning', `ignored an invalid server message: ${reason}`),
      closed: (code) => {
        if (this.signaling === signaling) this.onClosed(code);
      },
    });
    this.signaling = signaling;
    try {
      await signaling.open();
    } catch (e) {
      throw new ConclaveError('connection_failed', (e as Error).message);
    }
    // Closed again before the join went out (onClosed has run): no answer will ever come.
    if (this.signaling !== signaling) throw new ConclaveError('connection_failed', 'connection closed');
    const joined = new Promise<'joined' | 'waiting'>(
      (resolve, reject) => (this.joinWaiter = { resolve, reject }),
    );
    // The connection can close while the key package is made below, before anyone awaits
    // `joined`: its rejection must not count as unhandled (it still reaches the caller).
    joined.catch(() => undefined);
    const needsKeyPackage = true; // the meeting mode is only known after joining; a key package is cheap
    this.joinRid = signaling.send({
      type: 'join',
      meetingId: this.opts.meetingId,
      displayName: this.opts.displayName,
      deviceId: this.device!.identity.deviceId,
      userId: this.opts.userId,
      passcode: this.opts.passcode,
      hostSecret: this.resume ? undefined : this.opts.hostSecret,
      keyPackage: needsKeyPackage ? await this.e2eeMember!.freshKeyPackage() : undefined,
      resume: this.resume,
      // The SFU's first offer then carries only what we show (the view also follows as media_view).
      view: this.viewSender.view,
    });
    return joined;
  }

  private enqueue(lane: keyof typeof this.lanes, fn: () => Promise<void>): void {
    this.lanes[lane] = this.lanes[lane]
      .then(fn)
      .catch((e: unknown) => this.emit('warning', `message handling failed: ${(e as Error).message}`));
  }

  private async onMessage(msg: ServerMessage): Promise<void> {
    switch (msg.type) {
      case 'joined':
        return this.onJoined(msg);
      case 'waiting':
        this.resume = { participantId: msg.participantId, token: msg.resumeToken };
        this.participantId = msg.participantId;
        this.meeting = msg.meeting;
        this.setState('waiting');
        this.joinWaiter?.resolve('waiting');
        this.joinWaiter = undefined;
        return;
      case 'denied':
        this.failJoin('denied', msg.reason);
        this.shutdown('denied');
        return;
      case 'removed':
        this.removedReason = msg.reason;
        this.shutdown('removed');
        return;
      case 'meeting_ended':
        this.shutdown('ended');
        return;
      case 'meeting_updated':
        this.meeting = msg.meeting;
        this.applyAttestationSetting();
        this.emit('meeting', msg.meeting);
        return;
      case 'participant_joined':
      case 'participant_updated':
        this.serverRoster.upsert(msg.participant);
        if (msg.participant.id === this.participantId) {
          this.role = msg.participant.role;
          this.e2eeMember?.setServerRole(msg.participant.role);
        }
        this.emit('participants', this.participants());
        return;
      case 'participant_left':
        this.serverRoster.remove(msg.participantId);
        this.emit('participants', this.participants());
        return;
      case 'waiting_room':
        this.serverRoster.setWaiting(msg.waiting);
        this.emit('waitingRoom', msg.waiting);
        return;
      case 'passcode_lockout':
        this.emit('passcodeLockout', msg.until, msg.failures);
        return;
      case 'muted':
        this.emit('muted', msg.kind);
        return;
      case 'chat': {
        const name = this.serverRoster.get(msg.from)?.displayName ?? 'someone who left';
        const id = this.reportLog.recordStandard(msg, name);
        this.emit('chat', { id, from: msg.from, text: msg.text, sentAt: msg.sentAt ?? Date.now() });
        return;
      }
      case 'media_answer':
        await this.media?.applyPublishAnswer(msg.sdp);
        this.watchConnection('publish');
        return;
      case 'media_offer': {
        if (!this.media) {
          // The SFU can offer before our `joined` handling (control lane) has made the
          // transport: the latest such offer is answered as soon as it exists (startMedia).
          if (this.opts.media && this.stateValue !== 'idle') this.heldOffer = msg;
          return;
        }
        const sdp = await this.media.handleSubscribeOffer(msg.sdp, msg.streams);
        // Naming the offer's session: if the server made a new one meanwhile, it drops this.
        this.signaling?.send({ type: 'media_answer', pc: 'subscribe', sdp, session: msg.session });
        this.watchConnection('subscribe');
        return;
      }
      case 'ice':
        await this.media?.addIce(msg.pc, msg.candidate);
        return;
      case 'media_reset':
        this.emit('mediaReset', msg.reason);
        await this.startMedia();
        // The new SFU session knows nothing of what we show.
        this.viewSender.resend();
        return;
      case 'error':
        // The join's refusal: by its request id (a refusal at connect, before the join was read,
        // has none and names the join by type).
        if (this.joinWaiter && (msg.rid === undefined ? msg.ref === 'join' : msg.rid === this.joinRid)) {
          this.emit('joinRefused', msg.code, msg.message);
          this.failJoin(msg.code, msg.message);
          if (msg.code === 'resume_rejected' && this.stateValue === 'reconnecting') {
            // The reconnect loop joins afresh (passcode, waiting room and host decisions again).
            this.signaling?.close();
            this.signaling = undefined;
            return;
          }
          this.shutdown(this.resume ? 'lost' : 'idle', false);
          return;
        }
        this.emit('error', msg.code, msg.message, msg.ref);
        await this.e2eeMember?.handle(msg);
        return;
      case 'pong':
      case 'group_created':
        return;
      default:
        await this.e2eeMember?.handle(msg);
    }
  }

  private async onJoined(msg: ServerMessageOf<'joined'>): Promise<void> {
    this.resume = { participantId: msg.participantId, token: msg.resumeToken };
    this.participantId = msg.participantId;
    this.role = msg.role;
    this.meeting = msg.meeting;
    this.serverRoster.reset(msg.participants);
    this.applyAttestationSetting();
    if (msg.meeting.mode === 'e2ee') await this.e2eeMember!.onJoined(msg);
    this.setState('joined');
    this.emit('participants', this.participants());
    this.joinWaiter?.resolve('joined');
    this.joinWaiter = undefined;
    await this.startMedia();
    // A (re)join is a new participant for the server: it holds no view of ours yet.
    this.viewSender.resend();
  }

  /**
   * After an answer on `pc`: if that connection of this transport is not up within
   * `mediaConnectTimeoutMs`, or says `failed` at any time (also after it was up: the server's
   * end of a connection may not notice what ours did), the server is told (`media_failed`) and
   * makes a new media session. One watch per connection and transport, looked at once a second
   * until the connection is up and every 2 s after: renegotiations do not restart it, and a
   * report is sent once (the server's `media_reset` brings a new transport).
   */
  private watchConnection(pc: 'publish' | 'subscribe'): void {
    const media = this.media;
    const ms = this.opts.mediaConnectTimeoutMs ?? 15_000;
    if (!media?.connectionState || ms <= 0 || this.mediaWatches.has(pc)) return;
    const deadline = Date.now() + ms;
    let wasUp = false;
    const look = (): void => {
      if (this.media !== media || this.stateValue !== 'joined') return;
      const state = media.connectionState!(pc);
      if (state === 'connected') wasUp = true;
      if (state !== 'failed' && (wasUp || Date.now() < deadline)) {
        const next = wasUp ? 2_000 : Math.min(1_000, deadline - Date.now());
        this.mediaWatches.set(pc, this.unrefTimer(look, next));
        return;
      }
      this.emit(
        'warning',
        wasUp
          ? `the ${pc} media connection failed after it was up: asking for a new one`
          : `the ${pc} media connection is ${state} after ${ms - (deadline - Date.now())} ms: asking for a new one`,
      );
      this.signaling?.send({ type: 'media_failed', pc });
    };
    this.mediaWatches.set(pc, this.unrefTimer(look, Math.min(1_000, ms)));
  }

  private unrefTimer(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(fn, ms);
    (timer as { unref?: () => void }).unref?.();
    return timer;
  }

  private clearMediaWatches(): void {
    for (const t of this.mediaWatches.values()) clearTimeout(t);
    this.mediaWatches.clear();
  }

  /** A new media transport and a new publish offer: after every (re)join and after `media_reset`. */
  private async startMedia(): Promise<void> {
    if (!this.opts.media || this.stateValue !== 'joined') return;
    this.mediaStartedAt = Date.now();
    this.clearMediaWatches();
    this.media?.close();
    const media = this.opts.media();
    this.media = media;
    media.onIce((pc, candidate) => this.signaling?.send({ type: 'ice', pc, candidate }));
    const held = this.heldOffer;
    this.heldOffer = undefined;
    if (held) this.enqueue('media', () => this.onMessage(held));
    const sdp = await media.createPublishOffer();
    if (this.media === media) this.signaling?.send({ type: 'media_offer', pc: 'publish', sdp });
  }

  private onMediaStatus(msg: ServerMessageOf<'media_status'>): void {
    const { v: _v, type: _type, ...status } = msg;
    this.setForwarding(status);
  }

  private setForwarding(status: ForwardingStatus | undefined): void {
    if (status === undefined && this.forwarding === undefined) return;
    this.forwarding = status;
    this.emit('mediaStatus', status);
  }

  /** Sends a view while joined; false when it cannot go out now (it is sent again on join). */
  private sendView(view: MediaViewFields): boolean {
    if (this.stateValue !== 'joined' || !this.signaling) return false;
    return this.signaling.send({ type: 'media_view', ...view }) !== undefined;
  }

  private failJoin(code: ConclaveError['code'], message: string): void {
    this.joinWaiter?.reject(new ConclaveError(code, message));
    this.joinWaiter = undefined;
  }

  private onClosed(code: number): void {
    if (TERMINAL.includes(this.stateValue)) return;
    this.media?.close();
    this.clearMediaWatches();
    this.media = undefined;
    this.heldOffer = undefined;
    this.viewSender.cancel();
    this.setForwarding(undefined);
    this.e2eeMember?.reset();
    this.signaling = undefined;
    const policy = this.opts.reconnect === undefined ? { attempts: 10, delayMs: 500 } : this.opts.reconnect;
    if (!policy || !this.resume) {
      this.failJoin('connection_failed', `connection closed (${code})`);
      this.setState('lost');
      return;
    }
    this.setState('reconnecting');
    void this.reconnect(policy.attempts, policy.delayMs);
  }

  private async reconnect(attempts: number, delayMs: number): Promise<void> {
    let again = false;
    for (let i = 0; i < attempts; i++) {
      if (!again) await new Promise((r) => setTimeout(r, delayMs));
      again = false;
      if (this.stateValue !== 'reconnecting') return;
      try {
        await this.open();
        return;
      } catch (e) {
        this.emit('warning', `reconnect attempt ${i + 1} failed: ${(e as Error).message}`);
        if (e instanceof ConclaveError && e.code === 'resume_rejected' && this.resume) {
          // The server no longer honours the token (expired, revoked, or the meeting changed):
          // one fresh join through every gate, at once.
          this.resume = undefined;
          again = true;
          i--;
          continue;
        }
        if (e instanceof ConclaveError && e.code !== 'connection_failed') break;
      }
    }
    this.setState('lost');
  }

  /** Attestation follows the meeting's setting (absent: on); standard meetings have none. */
  private applyAttestationSetting(): void {
    this.attestations.setEnabled(
      this.meeting?.mode === 'e2ee' && this.meeting.settings.attestation !== false,
    );
  }

  private shutdown(state: ClientState, closeSocket = true): void {
    this.setState(state);
    this.attestations.setEnabled(false); // clips exist only during the meeting
    this.media?.close();
    this.clearMediaWatches();
    this.media = undefined;
    this.heldOffer = undefined;
    this.viewSender.cancel();
    this.setForwarding(undefined);
    this.e2eeMember?.reset();
    if (closeSocket) {
      this.signaling?.close();
      this.signaling = undefined;
    }
  }

  private setState(s: ClientState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private requireE2ee(): E2eeMember {
    if (!this.e2eeMember) throw new ConclaveError('not_joined', 'not joined');
    return this.e2eeMember;
  }
}
