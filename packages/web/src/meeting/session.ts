import {
  ConclaveClient,
  ConclaveError,
  KeyDirectory,
  type MemberVerification,
  type Person as SdkPerson,
  type ReportableMeeting,
  type ReportablePerson,
  type ReportChoice,
} from '@conclave/client';
import {
  BrowserE2ee,
  BrowserMediaTransport,
  detectE2eeApi,
  type RemoteTrack,
  type WorkerStats,
} from '@conclave/client/browser';
import { fromBase64, type MlsDevice } from '@conclave/crypto';
import type { MeetingInfo, Participant } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { humanError, type HumanError } from '../errors.js';
import { KeyFingerprints } from '../key-fingerprint.js';
import type { LocalMedia } from '../media/local-media.js';
import { saveMeeting } from '../report/saved-meetings.js';
import { publishTestView, testSwitches } from '../test-hooks.js';
import { describeGroupChange, type GroupChange } from './group-notices.js';
import { arrangeStage, initialView, tileKey, viewOf } from './layout.js';
import { remoteStreams } from './remote-streams.js';
import type {
  ChatEntry,
  Layout,
  DecryptIssue,
  GroupNotice,
  PasscodeLockout,
  Person,
  SessionSnapshot,
  WaitingPerson,
} from './snapshot.js';
import {
  sampleStats,
  SPEAKER_HOLD_MS,
  SPEAKING_LEVEL,
  type InboundSample,
  type StatsSample,
} from './stats.js';
import { testViewOf } from './test-view.js';

export interface SessionOptions {
  meetingId: string;
  displayName: string;
  passcode: string | undefined;
  hostSecret: string | undefined;
  /** From the HTTP API before joining (mode, settings); replaced by the server's view once joined. */
  meeting: MeetingInfo;
  local: LocalMedia;
  /** Signed in: join as this account with this browser's registered device; else as a guest. */
  account?: SessionAccount;
}

export interface SessionAccount {
  userId: string;
  deviceId: string;
  device: MlsDevice;
}

const POLL_MS = 500;
const RECENT_FAILURE_MS = 5000;
const NOTICE_MS = 6000;
const GROUP_NOTICES_KEPT = 100;
const GROUP_TOASTS_SHOWN = 3;
/** How often the meeting's reportable snapshot is written to this device when it changed (see saved-meetings.ts). */
const SAVE_REPORTABLE_MS = 5000;

/**
 * One participation in a meeting: the SDK client, the media transport it creates on every
 * (re)join, the E2EE worker, and the state the UI renders. React reads it through
 * `subscribe`/`snapshot` (useSyncExternalStore); the snapshot is rebuilt at most once per task.
 */
export class MeetingSession {
  readonly client: ConclaveClient;
  /** E2EE meetings: the SDK's browser key sink (the E2EE worker holds the keys, not this page). */
  readonly crypto: BrowserE2ee | undefined;
  /** Checks members' account claims against the server's key directory (display only). */
  private readonly directory = new KeyDirectory(accountApi, () => this.changed());
  private readonly fingerprints = new KeyFingerprints(() => this.changed());
  private groupChanges: GroupChange[] = [];
  private groupChangeId = 0;
  private transport: BrowserMediaTransport | undefined;
  private remoteTracks: RemoteTrack[] = [];
  private meeting: MeetingInfo;
  private waiting: Participant[] = [];
  private chat: ChatEntry[] = [];
  private chatId = 0;
  private inbound = new Map<string, InboundSample & { lastFrameAt: number }>();
  private speaker: { id: string; at: number } | undefined;
  private readonly failures = new Map<string, { failures: number; lastAt: number }>();
  private readonly lastDropped = new Map<number, number>();
  private workerStats: WorkerStats | undefined;
  private notice: { text: string; at: number } | undefined;
  private mediaError: HumanError | undefined;
  private lockout: PasscodeLockout | undefined;
  /** The server's last refusal of a join on this session's sockets (cleared once joined). */
  private joinRefusal: HumanError | undefined;
  private lastMediaState = '';
  private readonly listeners = new Set<() => void>();
  private current: SessionSnapshot;
  private scheduled = false;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly cleanups: (() => void)[] = [];
  /** The reportable snapshot changed since it was last kept on this device. */
  private reportableDirty = false;
  /** What we send (per encoding) and the browser's send estimate, from the last poll. */
  private outbound: Pick<StatsSample, 'outbound' | 'availableOutgoingBitrate'> = {
    outbound: [],
    availableOutgoingBitrate: undefined,
  };
  private layout: Layout = 'grid';
  /** Participant ids pinned on this page, in pin order. */
  private pins: string[] = [];
  /** Each shown tile of someone else: its height in device pixels (`tileKey`). */
  private readonly tileHeights = new Map<string, number>();
  private filmstripSlots = 3;
  private previousMain: string | undefined;

  constructor(private readonly opts: SessionOptions) {
    this.meeting = opts.meeting;
    const test = testSwitches();
    const refused = new Set(test.refuseJoiners ?? []);
    if (opts.meeting.mode === 'e2ee') {
      const api = detectE2eeApi(test.e2eeApi);
      // Unsupported browsers never get here: the pre-join page explains and offers no Join.
      if (api) {
        this.crypto = new BrowserE2ee(api);
        this.cleanups.push(this.crypto.onStats((s) => this.onWorkerStats(s)));
        this.cleanups.push(this.crypto.onSenders(() => this.changed()));
      }
    }
    this.client = new ConclaveClient({
      keySink: this.crypto,
      serverUrl: window.location.origin,
      meetingId: opts.meetingId,
      displayName: opts.displayName,
      passcode: opts.passcode || undefined,
      hostSecret: opts.hostSecret,
      deviceId: opts.account?.deviceId ?? deviceId(),
      userId: opts.account?.userId,
      device: opts.account?.device,
      media: () => this.createTransport(),
      admitJoiner: refused.size > 0 ? (j) => !refused.has(j.displayName) : undefined,
    });
    this.wireClient();
    this.cleanups.push(opts.local.on('change', () => this.onLocalChange()));
    this.timers.push(setInterval(() => void this.poll(), POLL_MS));
    this.timers.push(
      setInterval(() => {
        if (this.reportableDirty) this.saveReportable();
      }, SAVE_REPORTABLE_MS),
    );
    window.__conclaveTestActions = { dropConnection: () => this.client.simulateConnectionLoss() };
    this.cleanups.push(() => {
      window.__conclaveTestActions = undefined;
    });
    this.current = this.build();
  }

  get local(): LocalMedia {
    return this.opts.local;
  }

  /** Joins; resolves 'joined' or 'waiting'; rejects with a HumanError. */
  async join(): Promise<'joined' | 'waiting'> {
    // Sent with the join: the SFU's first offer carries only what this layout can show.
    if (!this.client.view()) this.client.setView(initialView(this.layout, this.filmstripSlots));
    try {
      return await this.client.connect();
    } catch (e) {
      throw humanError(e);
    }
  }

  async leave(): Promise<void> {
    await this.client.leave();
    this.dispose();
  }

  /** Stops timers, the worker and (unless told otherwise) local devices; the session cannot be used again. */
  dispose(stopLocal = true): void {
    if (this.reportableDirty) this.saveReportable();
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
    // Unmounted while in the meeting (or after a failed join, which leaves the socket open): leave.
    if (!['left', 'ended', 'removed', 'denied'].includes(this.client.state)) void this.client.leave();
    this.transport?.close();
    this.transport = undefined;
    this.crypto?.close();
    if (stopLocal) this.opts.local.stop();
  }

  async sendChat(text: string): Promise<void> {
    await this.client.sendChat(text);
    this.addChat({ author: 'You', authorKind: 'self', text, sentAt: Date.now() });
  }

  /**
   * What a report about `p` starts from: the SDK's reportable snapshot of the meeting now and
   * `p` as it lists them (their signing key in E2EE meetings); undefined when the SDK has none.
   */
  reportTarget(p: Person): { snapshot: ReportableMeeting; person: ReportablePerson } | undefined {
    const snapshot = this.client.reportable();
    if (!snapshot) return undefined;
    const person =
      snapshot.people.find((r) => p.leafIndex !== undefined && r.leafIndex === p.leafIndex) ??
      snapshot.people.find((r) => p.participantId !== undefined && r.participantId === p.participantId);
    return person && !person.isSelf ? { snapshot, person } : undefined;
  }

  /** A clip of the member at `leafIndex`'s last `seconds` of media (E2EE meetings that attest). */
  clip(leafIndex: number, seconds: number): Promise<ReportChoice['clip']> {
    return this.client.clipEvidence(leafIndex, seconds);
  }

  /** Grid or speaker view; the SFU is told how many videos the new layout shows. */
  setLayout(layout: Layout): void {
    if (this.layout === layout) return;
    this.layout = layout;
    this.changed();
  }

  /** Pins someone (their video is always forwarded; the speaker view shows them large), or unpins. */
  togglePin(participantId: string): void {
    this.pins = this.pins.includes(participantId)
      ? this.pins.filter((id) => id !== participantId)
      : [...this.pins, participantId];
    this.changed();
  }

  /** A tile of someone else was laid out `height` CSS pixels tall (undefined: it is gone). */
  tileResized(participantId: string, source: 'camera' | 'screen', height: number | undefined): void {
    const key = tileKey(participantId, source);
    const px = height === undefined ? undefined : Math.round(height * (window.devicePixelRatio || 1));
    if (this.tileHeights.get(key) === px) return;
    if (px === undefined) this.tileHeights.delete(key);
    else this.tileHeights.set(key, px);
    this.changed();
  }

  /** Speaker view: how many tiles of others the filmstrip shows without scrolling. */
  setFilmstripSlots(slots: number): void {
    if (this.filmstripSlots === slots) return;
    this.filmstripSlots = slots;
    this.changed();
  }

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  snapshot = (): SessionSnapshot => this.current;

  // ------------------------------------------------------------------ internals

  /**
   * The server's own reason this page has no media (no room for it, or it stopped making a
   * failing session anew): it stays until a new join, whatever the connections do meanwhile.
   */
  private get serverMediaError(): boolean {
    const code = this.mediaError?.code;
    return code === 'media_capacity' || code === 'media_stopped';
  }

  private createTransport(): BrowserMediaTransport {
    const meeting = this.client.meeting ?? this.meeting;
    if (meeting.mode === 'e2ee' && !this.crypto) {
      // Never send media in clear into an E2EE meeting.
      this.mediaError = {
        code: 'e2ee_unsupported',
        title: 'This browser cannot encrypt media end-to-end, so your camera and microphone stay off.',
        next: 'Join from a current version of Chrome, Edge, Firefox or Safari.',
      };
      this.changed();
      throw new Error('E2EE media is not supported by this browser');
    }
    this.transport?.close();
    this.remoteTracks = [];
    this.lastDropped.clear();
    const transport = new BrowserMediaTransport({
      local: this.opts.local,
      crypto: meeting.mode === 'e2ee' ? this.crypto : undefined,
      screenShare: meeting.settings.allowScreenShare,
      onConnectionState: (pc, state) => {
        if (this.transport !== transport) return;
        // The server said it has no media capacity, or stopped retrying: that stays the reason
        // shown (a connection of the last, dead session coming up does not clear it).
        if (this.serverMediaError) return;
        if (state === 'failed') {
          this.mediaError = {
            code: 'media_failed',
            title: `The ${pc === 'publish' ? 'outgoing' : 'incoming'} audio and video connection failed.`,
            next: 'Your network may block WebRTC (UDP). Try another network, or ask whoever runs this server to set up a TURN relay; then rejoin.',
          };
        } else if (state === 'connected' && this.mediaError?.code === 'media_failed') {
          this.mediaError = undefined;
        }
        this.changed();
      },
      onRemoteTracks: (tracks) => {
        if (this.transport !== transport) return;
        this.remoteTracks = tracks;
        this.changed();
      },
    });
    this.transport = transport;
    return transport;
  }

  private wireClient(): void {
    const c = this.client;
    const keep = (unsubscribe: () => void): void => void this.cleanups.push(unsubscribe);
    keep(
      c.on('state', (s) => {
        if (s === 'joined') {
          this.sendMediaState(true);
          this.joinRefusal = undefined;
          // A new join gets a new media session: the server says again if it has no room.
          if (this.serverMediaError) this.mediaError = undefined;
        }
        if (s === 'removed' || s === 'ended' || s === 'denied' || s === 'left') {
          this.opts.local.stop();
          this.saveReportable();
        }
        this.changed();
      }),
    );
    keep(
      c.on('participants', () => {
        this.reportableDirty = true;
        this.changed();
      }),
    );
    // The SDK's warnings (ignored invalid messages, failed handling) carry no secrets: keep them in the console for diagnosis.
    keep(c.on('warning', (w) => console.warn(`conclave: ${w}`)));
    keep(
      c.on('error', (code, message, ref) => {
        console.warn(`conclave: server error ${code}: ${message}`);
        if (code === 'media_capacity') {
          // In the meeting, without audio and video: a notice that stays (not a passing one).
          this.mediaError = humanError(new ConclaveError(code, message));
          this.changed();
        } else if (code === 'media_error' && ref === 'media') {
          // The server stopped making our media session anew: its connections kept failing.
          this.mediaError = {
            code: 'media_stopped',
            title: 'Audio and video stopped: the connection with the server kept failing.',
            next: 'Leave and rejoin the meeting. If it keeps happening, your network may block WebRTC (UDP): try another network, or ask whoever runs this server to set up a TURN relay.',
          };
          this.changed();
        }
      }),
    );
    keep(
      // Why the server refused a join, also a reconnect's: the page says why, not "check your network".
      c.on('joinRefused', (code, message) => {
        this.joinRefusal = humanError(new ConclaveError(code, message));
        this.changed();
      }),
    );
    keep(
      // The server's passcode_lockout notice (sent to hosts and co-hosts only).
      c.on('passcodeLockout', (until, failures) => {
        this.lockout = { until, failures };
        this.changed();
      }),
    );
    keep(
      c.on('waitingRoom', (w) => {
        this.waiting = w;
        this.changed();
      }),
    );
    keep(c.on('epoch', () => this.changed()));
    keep(c.on('media', () => this.changed()));
    keep(c.on('mediaReset', () => this.setNotice('Reconnecting audio and video…')));
    keep(c.on('mediaStatus', () => this.changed()));
    keep(
      c.on('roster', () => {
        this.reportableDirty = true;
        this.changed();
      }),
    );
    keep(
      c.on('membership', (change) => {
        const entry: GroupChange = {
          ...change,
          id: ++this.groupChangeId,
          at: Date.now(),
          ownLeaf: this.client.ownLeafIndex,
        };
        this.groupChanges = [...this.groupChanges, entry].slice(-GROUP_NOTICES_KEPT);
        this.changed();
      }),
    );
    keep(c.on('health', () => this.changed()));
    keep(
      c.on('meeting', (m) => {
        this.meeting = m;
        this.changed();
      }),
    );
    keep(
      c.on('chat', (msg) => {
        this.reportableDirty = true;
        if ('sender' in msg) {
          // E2EE: the author is the MLS-verified sender, not what the server says.
          this.addChat({
            author: msg.sender.identity.displayName,
            authorKind: 'member',
            text: msg.text,
            sentAt: msg.sentAt,
          });
        } else {
          const p = this.client.participants().find((x) => x.id === msg.from);
          this.addChat({
            author: p?.displayName ?? 'Someone',
            authorKind: 'server',
            text: msg.text,
            sentAt: msg.sentAt,
          });
        }
      }),
    );
    keep(
      c.on('muted', (kind) => {
        if (kind === 'audio') {
          this.opts.local.setMicOn(false);
          this.setNotice('The host muted your microphone.');
        } else {
          void this.opts.local.setCameraOn(false);
          this.setNotice('The host turned off your camera.');
        }
      }),
    );
  }

  private onLocalChange(): void {
    this.sendMediaState(false);
    this.changed();
  }

  /** Tells the server our microphone/camera state (it shows it to the others). */
  private sendMediaState(force: boolean): void {
    if (this.client.state !== 'joined') return;
    const audio = this.selfAudio();
    const video = this.selfVideo();
    const key = `${audio}/${video}`;
    if (!force && key === this.lastMediaState) return;
    this.lastMediaState = key;
    this.client.setMediaState(audio, video);
  }

  /** Keeps the meeting's reportable snapshot on this device (for reports after the meeting). */
  private saveReportable(): void {
    this.reportableDirty = false;
    const snap = this.client.reportable();
    if (snap) saveMeeting(snap);
  }

  private addChat(e: Omit<ChatEntry, 'id'>): void {
    this.chat = [...this.chat, { ...e, id: ++this.chatId }].slice(-200);
    this.changed();
  }

  private setNotice(text: string): void {
    this.notice = { text, at: Date.now() };
    this.changed();
  }

  /** Attributes the worker's dropped frames to the participant each receiver carries. */
  private onWorkerStats(s: WorkerStats): void {
    this.workerStats = s;
    const now = Date.now();
    const byTransform = new Map(this.remoteTracks.map((r) => [r.transformId, r]));
    for (const [id, c] of s.transforms) {
      const delta = c.dropped - (this.lastDropped.get(id) ?? 0);
      this.lastDropped.set(id, c.dropped);
      const pid = byTransform.get(id)?.info?.participantId;
      if (delta <= 0 || !pid) continue;
      const f = this.failures.get(pid) ?? { failures: 0, lastAt: 0 };
      f.failures += delta;
      f.lastAt = now;
      this.failures.set(pid, f);
    }
    this.changed();
  }

  private async poll(): Promise<void> {
    const t = this.transport;
    if (!t || this.client.state !== 'joined') {
      this.expireNotice();
      return;
    }
    const sample = await sampleStats(t.pcs.publish, t.pcs.subscribe, this.remoteTracks);
    const now = Date.now();
    const next = new Map<string, InboundSample & { lastFrameAt: number }>();
    let loudest: { id: string; level: number } | undefined;
    for (const s of sample.inbound) {
      const prev = this.inbound.get(s.mid);
      const progressed =
        s.kind === 'video'
          ? s.framesDecoded > (prev?.framesDecoded ?? 0)
          : s.packetsReceived > (prev?.packetsReceived ?? 0);
      next.set(s.mid, { ...s, lastFrameAt: progressed ? now : (prev?.lastFrameAt ?? 0) });
      if (s.kind === 'audio' && s.participantId && (s.audioLevel ?? 0) > (loudest?.level ?? SPEAKING_LEVEL)) {
        loudest = { id: s.participantId, level: s.audioLevel ?? 0 };
      }
    }
    this.outbound = { outbound: sample.outbound, availableOutgoingBitrate: sample.availableOutgoingBitrate };
    const own = this.selfAudio() ? (sample.ownAudioLevel ?? 0) : 0;
    if (own > (loudest?.level ?? SPEAKING_LEVEL)) loudest = { id: 'self', level: own };
    this.inbound = next;
    if (loudest) this.speaker = { id: loudest.id, at: now };
    else if (this.speaker && now - this.speaker.at > SPEAKER_HOLD_MS) this.speaker = undefined;
    this.expireNotice();
    this.changed();
  }

  private expireNotice(): void {
    if (this.notice && Date.now() - this.notice.at > NOTICE_MS) {
      this.notice = undefined;
      this.changed();
    }
  }

  private changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.current = this.build();
      for (const cb of this.listeners) cb();
    });
  }

  private build(): SessionSnapshot {
    const c = this.client;
    const meeting = c.meeting ?? this.meeting;
    const participants = c.participants();
    const roster = c.roster();
    const all = c.people();
    const people = all.members.map((p) => this.person(p));
    const outsiders = all.outsiders.map((p) => this.person(p));
    const names = new Map(
      [...people, ...outsiders].flatMap((p) =>
        p.participantId ? [[p.participantId, p.displayName] as const] : [],
      ),
    );
    const now = Date.now();
    const e2ee = meeting.mode === 'e2ee';
    const remote = remoteStreams({
      tracks: this.remoteTracks,
      lastFrameAt: (mid) => this.inbound.get(mid)?.lastFrameAt,
      senderOf: e2ee ? (id) => this.crypto?.senderOf(id) : () => undefined,
      people,
      roster,
      participants,
      now,
    });
    const groupNotices: GroupNotice[] = this.groupChanges.map((g) => ({
      id: g.id,
      text: describeGroupChange(g, (m) => this.directory.status(m)),
      at: g.at,
      epoch: String(g.epoch),
    }));
    const decryptIssues: DecryptIssue[] = [...this.failures].map(([pid, f]) => ({
      participantId: pid,
      displayName: names.get(pid) ?? 'Somebody who left',
      failures: f.failures,
      recent: now - f.lastAt < RECENT_FAILURE_MS,
    }));
    const senders = this.workerStats?.senders ?? [];
    const transforms = this.workerStats?.transforms ?? [];
    const receiverIds = new Set(this.remoteTracks.map((r) => r.transformId));
    const forwarding = c.mediaStatus();
    const present = new Set(people.flatMap((p) => (p.participantId ? [p.participantId] : [])));
    // Pins of people who left go; a pin is per meeting visit.
    if (this.pins.some((id) => !present.has(id))) this.pins = this.pins.filter((id) => present.has(id));
    const stage = arrangeStage({
      layout: this.layout,
      people,
      remote,
      forwarding,
      pins: this.pins,
      localSpeaker: this.speaker?.id,
      previousMain: this.previousMain,
      filmstripSlots: this.filmstripSlots,
    });
    if (stage.main?.kind === 'person') this.previousMain = stage.main.tile.participantId;
    // What the SFU forwards follows what this layout shows (the SDK sends only changes).
    try {
      c.setView(viewOf(stage, this.pins, this.tileHeights));
    } catch (e) {
      // viewOf keeps every field in range; should the SDK still refuse, the page goes on.
      console.warn(`conclave: view not sent: ${(e as Error).message}`);
    }
    const snapshot: SessionSnapshot = {
      state: c.state,
      removedReason: c.removedReason,
      meeting,
      role: c.role,
      selfId: c.participantId,
      people,
      outsiders,
      waiting: this.waiting.map((w) => this.waitingPerson(w, e2ee)),
      e2ee: c.e2ee,
      groupNotices,
      groupToasts: groupNotices.filter((n) => now - n.at < NOTICE_MS).slice(-GROUP_TOASTS_SHOWN),
      e2eeApi: this.crypto?.api,
      chat: this.chat,
      remote,
      stage,
      pins: this.pins,
      forwarding,
      activeSpeaker: this.speaker?.id,
      decryptIssues,
      framesDecrypted: senders.reduce((n, [, s]) => n + s.decrypted, 0),
      decryptFailures: senders.reduce((n, [, s]) => n + s.failures, 0),
      framesEncrypted: transforms.reduce((n, [id, t]) => n + (receiverIds.has(id) ? 0 : t.ok), 0),
      notice: this.notice?.text,
      mediaError: this.mediaError,
      passcodeLockout: this.lockout && this.lockout.until > now ? this.lockout : undefined,
      refusal: c.state === 'lost' || c.state === 'waiting' ? this.joinRefusal : undefined,
    };
    publishTestView(testViewOf(snapshot, [...this.inbound.values()], this.outbound, c.view()));
    return snapshot;
  }

  /** The SDK's person with what this page looks up for display (key directory, fingerprint). */
  private person(p: SdkPerson): Person {
    return {
      key: p.key,
      participantId: p.participantId,
      displayName: p.displayName,
      kind: p.kind,
      verification: p.member ? this.directory.status(p.member) : undefined,
      inGroup: p.inGroup,
      leafIndex: p.member?.leafIndex,
      keyFingerprint: p.member ? this.fingerprints.of(p.member.signaturePublicKey) : undefined,
      role: p.role,
      audio: p.audio,
      video: p.video,
      isSelf: p.isSelf,
      media: p.media,
      forwarding: p.forwarding,
    };
  }

  /**
   * A waiting joiner with the credential admitting them adds: in E2EE meetings the key the
   * server received in their key package (the key the SDK checks before it adds them) and the
   * key directory's verdict on their account claim for that key.
   */
  private waitingPerson(w: Participant, e2ee: boolean): WaitingPerson {
    if (!e2ee || !w.signatureKey) return { ...w, verification: undefined, keyFingerprint: undefined };
    let verification: MemberVerification | undefined;
    if (w.kind === 'guest') verification = 'guest';
    else if (w.userId) {
      try {
        verification = this.directory.status({
          leafIndex: -1,
          identity: {
            v: 1,
            kind: 'user',
            userId: w.userId,
            deviceId: w.deviceId,
            displayName: w.displayName,
          },
          signaturePublicKey: fromBase64(w.signatureKey),
        });
      } catch {
        verification = undefined; // not base64 (the protocol checks it): the server's kind only
      }
    }
    return { ...w, verification, keyFingerprint: this.fingerprints.of(w.signatureKey) };
  }

  private selfAudio(): boolean {
    return this.opts.local.micOn && this.opts.local.mic !== undefined;
  }

  private selfVideo(): boolean {
    return this.opts.local.cameraOn && this.opts.local.camera !== undefined;
  }
}

/** A random device id per join (guests get a fresh MLS identity per meeting anyway). */
function deviceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
