import {
  ConclaveClient,
  ConclaveError,
  KeyDirectory,
  type ClientState,
  type E2eeState,
  type MediaStatus,
  type MemberVerification,
  type Person as SdkPerson,
} from '@conclave/client';
import {
  BrowserE2ee,
  BrowserMediaTransport,
  detectE2eeApi,
  type E2eeApi,
  type RemoteTrack,
  type WorkerStats,
} from '@conclave/client/browser';
import { fromBase64, type GroupMember, type MlsDevice } from '@conclave/crypto';
import type { MediaSource, MeetingInfo, Participant, Role } from '@conclave/protocol';
import { accountApi } from '../account/api.js';
import { humanError, type HumanError } from '../errors.js';
import { KeyFingerprints } from '../key-fingerprint.js';
import type { LocalMedia } from '../media/local-media.js';
import { publishTestView, testSwitches } from '../test-hooks.js';
import { describeGroupChange, type GroupChange } from './group-notices.js';
import { sampleStats, SPEAKER_HOLD_MS, SPEAKING_LEVEL, type InboundSample } from './stats.js';

export interface ChatEntry {
  id: number;
  author: string;
  /** self: sent from here; member: MLS-verified sender (E2EE); server: named by the server (standard). */
  authorKind: 'self' | 'member' | 'server';
  text: string;
  sentAt: number;
}

/** One person as the panels and tiles show them: the SDK's `Person`, with display lookups added. */
export interface Person {
  /** Stable React key. */
  key: string;
  participantId: string | undefined;
  displayName: string;
  kind: 'user' | 'guest';
  /**
   * E2EE members only: the key directory's verdict on the MLS credential (a `user` credential
   * whose key is registered on that account is `verified`). Undefined in standard meetings and
   * for people outside the group, where only the server's `kind` is known.
   */
  verification: MemberVerification | undefined;
  /** In the meeting's MLS group (E2EE): they hold the keys and can see and hear everything. */
  inGroup: boolean;
  /** E2EE members: their leaf in the MLS group. */
  leafIndex: number | undefined;
  /** E2EE members: the fingerprint of their MLS signature key (see key-fingerprint.ts), once computed. */
  keyFingerprint: string | undefined;
  role: Role | undefined;
  audio: boolean;
  video: boolean;
  isSelf: boolean;
  /** E2EE, others: what this page receives from them (the SDK's per-sender media status). */
  media: MediaStatus | undefined;
}

export interface RemoteStream {
  mid: string;
  participantId: string;
  source: MediaSource;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  /** Frames (video) or packets (audio) arrived in the last couple of seconds. */
  flowing: boolean;
  /**
   * E2EE: who really sends this stream — the MLS leaf whose key decrypts its frames (the
   * SFrame KID names the sender's leaf) and that member's name in the group (undefined when no
   * member holds that leaf). Undefined until a frame decrypted, and in standard meetings.
   */
  sender: { leafIndex: number; displayName: string | undefined } | undefined;
  /** The server's name for `participantId` (what it claims this stream is). */
  claimedName: string | undefined;
  /**
   * E2EE: the frames decrypt under another member's key than the participant the server
   * names (held for a second, so a stream the SFU just moved does not flicker).
   */
  mismatch: boolean;
}

/** A joiner in the waiting room, with what admitting them adds to the encryption group. */
export interface WaitingPerson extends Participant {
  /**
   * E2EE: the key directory's verdict on the joiner's account claim for the key it will join
   * with (`guest` for guests). Undefined in standard meetings, where only the server's `kind` is known.
   */
  verification: MemberVerification | undefined;
  /** Fingerprint of the MLS signature key the joiner will be added with (E2EE), once computed. */
  keyFingerprint: string | undefined;
}

/** A change to the encryption group as a sentence ("Alice added Gabi (guest)"). */
export interface GroupNotice {
  id: number;
  text: string;
  /** ms since the epoch. */
  at: number;
  /** The epoch the change created (decimal string). */
  epoch: string;
}

export interface DecryptIssue {
  participantId: string;
  displayName: string;
  failures: number;
  /** Failed within the last few seconds. */
  recent: boolean;
}

export interface SessionSnapshot {
  state: ClientState;
  meeting: MeetingInfo;
  role: Role | undefined;
  selfId: string | undefined;
  /** E2EE: the MLS roster (whoever is shown can decrypt). Standard: the server's list. */
  people: Person[];
  /** E2EE: in the meeting according to the server but not in the MLS group (cannot decrypt). */
  outsiders: Person[];
  waiting: WaitingPerson[];
  e2ee: E2eeState;
  /** E2EE: every add and remove this page saw, oldest first (the last 100). */
  groupNotices: GroupNotice[];
  /** The group notices of the last few seconds (shown briefly in the room). */
  groupToasts: GroupNotice[];
  e2eeApi: E2eeApi | undefined;
  chat: ChatEntry[];
  remote: RemoteStream[];
  /** participantId of the active speaker, or 'self'. */
  activeSpeaker: string | undefined;
  decryptIssues: DecryptIssue[];
  framesDecrypted: number;
  decryptFailures: number;
  framesEncrypted: number;
  /** A short message to announce (the host muted you, ...). */
  notice: string | undefined;
  /** Media could not start (with what to do); `media_capacity` stays until a rejoin. */
  mediaError: HumanError | undefined;
  /** Hosts and co-hosts: passcode entry is paused after too many wrong passcodes (until `until`, ms). */
  passcodeLockout: PasscodeLockout | undefined;
  /**
   * While `lost` or `waiting`: the server refused this session's last join, which was a
   * reconnect (the first join's refusal is thrown by `join()`). `resume_rejected` is the usual
   * one: the SDK then joins afresh, so a meeting with a waiting room makes the participant wait
   * for the host again.
   */
  refusal: HumanError | undefined;
}

export interface PasscodeLockout {
  /** Milliseconds since the epoch. */
  until: number;
  failures: number;
}

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
const FLOWING_MS = 2000;
const RECENT_FAILURE_MS = 5000;
const NOTICE_MS = 6000;
/** A stream's MLS sender must differ from the server's label this long before the tile says so. */
const MISMATCH_HOLD_MS = 1000;
const GROUP_NOTICES_KEPT = 100;
const GROUP_TOASTS_SHOWN = 3;

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

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  snapshot = (): SessionSnapshot => this.current;

  // ------------------------------------------------------------------ internals

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
        // The server said it has no media capacity: that stays the reason shown.
        if (this.mediaError?.code === 'media_capacity') return;
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
          if (this.mediaError?.code === 'media_capacity') this.mediaError = undefined;
        }
        if (s === 'removed' || s === 'ended' || s === 'denied' || s === 'left') this.opts.local.stop();
        this.changed();
      }),
    );
    keep(c.on('participants', () => this.changed()));
    // The SDK's warnings (ignored invalid messages, failed handling) carry no secrets: keep them in the console for diagnosis.
    keep(c.on('warning', (w) => console.warn(`conclave: ${w}`)));
    keep(
      c.on('error', (code, message) => {
        console.warn(`conclave: server error ${code}: ${message}`);
        if (code === 'media_capacity') {
          // In the meeting, without audio and video: a notice that stays (not a passing one).
          this.mediaError = humanError(new ConclaveError(code, message));
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
    keep(c.on('roster', () => this.changed()));
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
    const rosterByLeaf = new Map(roster.map((m) => [m.leafIndex, m]));
    const serverNames = new Map(participants.map((p) => [p.id, p.displayName]));
    // The leaves of the member(s) the server's participant is (a reconnect briefly has two).
    const leavesOf = new Map<string, Set<number>>();
    for (const p of people) {
      if (!p.participantId || p.leafIndex === undefined) continue;
      const set = leavesOf.get(p.participantId) ?? new Set<number>();
      set.add(p.leafIndex);
      leavesOf.set(p.participantId, set);
    }
    const remote: RemoteStream[] = this.remoteTracks.flatMap((r) => {
      if (!r.info) return [];
      const sample = this.inbound.get(r.mid);
      const flowing = sample !== undefined && now - sample.lastFrameAt < FLOWING_MS;
      const proven = e2ee && r.transformId !== undefined ? this.crypto?.senderOf(r.transformId) : undefined;
      const mismatch =
        proven !== undefined &&
        !(leavesOf.get(r.info.participantId)?.has(proven.leafIndex) ?? false) &&
        now - Math.max(proven.since, r.infoSince) >= MISMATCH_HOLD_MS;
      return [
        {
          mid: r.mid,
          participantId: r.info.participantId,
          source: r.info.source,
          kind: r.kind,
          track: r.track,
          flowing,
          sender: proven && {
            leafIndex: proven.leafIndex,
            displayName: rosterByLeaf.get(proven.leafIndex)?.identity.displayName,
          },
          claimedName: serverNames.get(r.info.participantId),
          mismatch,
        },
      ];
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
    const snapshot: SessionSnapshot = {
      state: c.state,
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
    this.publishTestView(snapshot, meeting.mode === 'e2ee' ? roster : []);
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

  private publishTestView(s: SessionSnapshot, roster: GroupMember[]): void {
    const ownLeaf = this.client.ownLeafIndex;
    publishTestView({
      state: s.state,
      mode: s.meeting.mode,
      participantId: s.selfId,
      framesDecrypted: s.framesDecrypted,
      decryptFailures: s.decryptFailures,
      framesEncrypted: s.framesEncrypted,
      securityCode: s.e2ee.securityCode,
      membershipCode: s.e2ee.membershipCode,
      epoch: s.e2ee.epoch === undefined ? undefined : String(s.e2ee.epoch),
      e2eeActive: s.e2ee.active,
      health: s.e2ee.health,
      indicator: e2eeStatus(s),
      groupNotices: s.groupNotices.map((n) => ({ text: n.text, epoch: n.epoch })),
      roster: roster.map((m) => ({
        leafIndex: m.leafIndex,
        displayName: m.identity.displayName,
        kind: m.identity.kind,
        verification: this.directory.status(m),
        isSelf: m.leafIndex === ownLeaf,
      })),
      people: [...s.people, ...s.outsiders].map((p) => ({
        displayName: p.displayName,
        isSelf: p.isSelf,
        inGroup: p.inGroup,
        media: p.media,
      })),
      inbound: [...this.inbound.values()].map((i) => ({
        participantId: i.participantId,
        source: i.source,
        kind: i.kind,
        framesDecoded: i.framesDecoded,
        packetsReceived: i.packetsReceived,
        bytesReceived: i.bytesReceived,
        codec: i.codec,
      })),
      streams: s.remote.map((r) => ({
        participantId: r.participantId,
        source: r.source,
        kind: r.kind,
        flowing: r.flowing,
        claimedName: r.claimedName,
        senderLeaf: r.sender?.leafIndex,
        senderName: r.sender?.displayName,
        mismatch: r.mismatch,
      })),
    });
  }
}

export type E2eeStatus = 'active' | 'pending' | 'alert' | 'standard';

/**
 * What the E2EE indicator says. `alert` while the group is not one this page can vouch for (a
 * participant who left still holds the keys, or this page is out of sync): never green then.
 */
export function e2eeStatus(s: Pick<SessionSnapshot, 'meeting' | 'e2ee'>): E2eeStatus {
  if (s.meeting.mode === 'standard') return 'standard';
  if (s.e2ee.health !== 'ok') return 'alert';
  return s.e2ee.active ? 'active' : 'pending';
}

/** A random device id per join (guests get a fresh MLS identity per meeting anyway). */
function deviceId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
