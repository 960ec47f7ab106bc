import {
  MediaKeys,
  MlsDevice,
  MlsSession,
  credentialMismatch,
  fromBase64,
  readKeyPackage,
  toBase64,
  type GroupMember,
  type KeyDirectoryHook,
  type PendingCommit,
} from '@conclave/crypto';
import type { Joiner, ServerMessage, ServerMessageOf } from '@conclave/protocol';
import { Emitter } from './emitter.js';
import type { SignalingConnection } from './signaling.js';

export interface ChatMessage {
  /** The sender as the MLS group proves it (signature checked), not as the server claims. */
  sender: GroupMember;
  text: string;
  sentAt: number;
}

type E2eeEvents = {
  epoch: (epoch: bigint, code: string) => void;
  /** A new epoch's SFrame base key, for media pipelines that run elsewhere (a browser worker). */
  mediaKey: (epoch: bigint, baseKey: Uint8Array, ownLeafIndex: number) => void;
  /** Every media key was dropped (left, removed, group lost). */
  mediaKeysForgotten: () => void;
  roster: (members: GroupMember[]) => void;
  chat: (msg: ChatMessage) => void;
  removed: () => void;
  warning: (message: string) => void;
};

interface InFlight {
  pending: PendingCommit;
  kind: 'add' | 'remove' | 'rekey';
}

/**
 * Why a joiner the server announced must not be added, or undefined: its key package must
 * verify and name the joiner that was announced (and that the host admitted) — the name
 * everyone will then see in the roster — and must not carry the server's credential.
 */
async function joinerMismatch(j: Joiner): Promise<string | undefined> {
  try {
    const reason = credentialMismatch((await readKeyPackage(fromBase64(j.keyPackage))).identity, j);
    return reason && `its key package ${reason}`;
  } catch (e) {
    return `invalid key package (${(e as Error).message})`;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The client's MLS membership in a meeting: creates or joins the group, commits what the
 * delivery service asks it to (adds, the server's Remove proposals, periodic rekeys), follows
 * everyone else's commits and feeds every new epoch's SFrame base key to MediaKeys.
 * All handling is serialized: one server message at a time.
 */
export class E2eeMember extends Emitter<E2eeEvents> {
  private session: MlsSession | undefined;
  private inFlight: InFlight | undefined;
  private serverKey: Uint8Array | undefined;
  private participantId = '';
  private securityCodeValue: string | undefined;
  /** Leaf index → participant id, from the server's Remove proposals (to tell it what a commit removes). */
  private readonly proposedRemovals = new Map<number, string>();

  constructor(
    readonly device: MlsDevice,
    readonly mediaKeys: MediaKeys,
    private readonly signaling: () => SignalingConnection | undefined,
    private readonly opts: {
      directory?: KeyDirectoryHook;
      /**
       * The key holder's own admission decision for each joiner the server announces (default:
       * accept). A refused joiner may be in the SFU session but never gets the group's keys.
       */
      admit?: (joiner: Joiner) => boolean;
    } = {},
  ) {
    super();
  }

  get epoch(): bigint | undefined {
    return this.session?.active ? this.session.epoch : undefined;
  }

  get securityCode(): string | undefined {
    return this.session?.active ? this.securityCodeValue : undefined;
  }

  get ownLeafIndex(): number | undefined {
    return this.session?.active ? this.session.ownLeafIndex : undefined;
  }

  /** The roster, read from the MLS group's leaves. */
  roster(): GroupMember[] {
    return this.session?.active ? this.session.members() : [];
  }

  async freshKeyPackage(): Promise<string> {
    return toBase64(await this.device.createKeyPackage());
  }

  /** Drops the group state and all media keys (left, removed, or the server lost the group). */
  reset(): void {
    this.session = undefined;
    this.inFlight = undefined;
    this.securityCodeValue = undefined;
    this.proposedRemovals.clear();
    this.mediaKeys.forget();
    this.emit('mediaKeysForgotten');
  }

  async onJoined(msg: ServerMessageOf<'joined'>): Promise<void> {
    this.participantId = msg.participantId;
    this.serverKey = msg.serverKey ? fromBase64(msg.serverKey) : undefined;
    this.reset();
    if (msg.createGroup) await this.createGroup();
  }

  async handle(msg: ServerMessage): Promise<void> {
    switch (msg.type) {
      case 'welcome':
        return this.onWelcome(msg);
      case 'add_request':
        return this.onAddRequest(msg);
      case 'commit':
        return this.onCommit(msg);
      case 'commit_accepted':
        return this.onCommitAccepted(msg);
      case 'proposal':
        return this.onProposal(msg);
      case 'rekey_request':
        if (this.session?.active && !this.inFlight && String(this.session.epoch) === msg.epoch) {
          await this.sendCommit(await this.session.prepareCommit(), 'rekey', [], []);
        }
        return;
      case 'group_reset':
        this.reset();
        this.emitEpoch();
        if (msg.creator === this.participantId) await this.createGroup();
        else this.signaling()?.send({ type: 'key_package', keyPackage: await this.freshKeyPackage() });
        return;
      case 'app':
        return this.onApp(msg);
      case 'error':
        if (msg.ref === 'commit' && this.inFlight) {
          // Lost the race (stale_epoch) or refused: drop it; the server asks again in the new epoch.
          this.inFlight = undefined;
        }
        return;
      default:
        return;
    }
  }

  async sendChat(text: string): Promise<void> {
    const s = this.requireSession();
    const data = await s.encryptApplication(enc.encode(JSON.stringify({ text, sentAt: Date.now() })));
    this.signaling()?.send({ type: 'app', epoch: String(s.epoch), data: toBase64(data) });
  }

  private async createGroup(): Promise<void> {
    const groupId = crypto.getRandomValues(new Uint8Array(16));
    this.session = await MlsSession.create(this.device, {
      groupId,
      externalSender: this.serverKey ? { signaturePublicKey: this.serverKey } : undefined,
      serverKey: this.serverKey,
      directory: this.opts.directory,
    });
    this.signaling()?.send({
      type: 'group_create',
      groupId: toBase64(groupId),
      leafIndex: this.session.ownLeafIndex,
    });
    await this.afterEpochChange();
  }

  private async onWelcome(msg: ServerMessageOf<'welcome'>): Promise<void> {
    const session = await MlsSession.join(this.device, fromBase64(msg.welcome), {
      serverKey: this.serverKey,
      directory: this.opts.directory,
    });
    this.session = session;
    this.inFlight = undefined;
    this.signaling()?.send({ type: 'leaf', epoch: String(session.epoch), leafIndex: session.ownLeafIndex });
    await this.afterEpochChange();
  }

  private async onAddRequest(msg: ServerMessageOf<'add_request'>): Promise<void> {
    const s = this.session;
    if (!s?.active || this.inFlight || String(s.epoch) !== msg.epoch) return; // asked again after the next commit
    let joiners: Joiner[] = [];
    for (const j of msg.joiners) {
      const mismatch = await joinerMismatch(j);
      if (mismatch) this.emit('warning', `refused to add ${j.displayName}: ${mismatch}`);
      else if (this.opts.admit?.(j) ?? true) joiners.push(j);
    }
    if (joiners.length === 0) return;
    let pending: PendingCommit | undefined;
    try {
      pending = await s.prepareCommit({ add: joiners.map((j) => fromBase64(j.keyPackage)) });
    } catch {
      // One bad key package must not keep everyone else out: add those that are valid.
      const good = [];
      for (const j of joiners) {
        const ok = await s.prepareCommit({ add: [fromBase64(j.keyPackage)] }).then(
          () => true,
          () => false,
        );
        if (ok) good.push(j);
        else this.emit('warning', `could not add ${j.displayName}: invalid key package`);
      }
      joiners = good;
      if (joiners.length === 0) return;
      pending = await s.prepareCommit({ add: joiners.map((j) => fromBase64(j.keyPackage)) });
    }
    await this.sendCommit(
      pending,
      'add',
      joiners.map((j) => j.participantId),
      [],
    );
  }

  private async onProposal(msg: ServerMessageOf<'proposal'>): Promise<void> {
    const s = this.session;
    if (!s?.active || String(s.epoch) !== msg.epoch) return;
    let result;
    try {
      result = await s.processHandshake(fromBase64(msg.proposal));
    } catch (e) {
      this.emit('warning', `refused a proposal from the server: ${(e as Error).message}`);
      return;
    }
    if (result.kind !== 'proposal' || result.proposal.type !== 'remove') return;
    // The server may only remove the participant it says left: check the leaf's credential.
    if (result.proposal.member?.identity.deviceId !== msg.deviceId) {
      this.emit('warning', 'the server proposed removing a member that is not the one that left');
      return;
    }
    this.proposedRemovals.set(result.proposal.leafIndex, msg.participantId);
    if (msg.committer === this.participantId && !this.inFlight) {
      await this.sendCommit(await s.prepareCommit(), 'remove', [], []);
    }
  }

  private async sendCommit(
    pending: PendingCommit,
    kind: InFlight['kind'],
    adds: string[],
    removes: string[],
  ): Promise<void> {
    const allRemoves = [
      ...removes,
      ...pending.removed.flatMap((leaf) => {
        const id = this.proposedRemovals.get(leaf);
        return id ? [id] : [];
      }),
    ];
    this.inFlight = { pending, kind };
    this.signaling()?.send({
      type: 'commit',
      epoch: String(pending.baseEpoch),
      commit: toBase64(pending.commit),
      welcome: pending.welcome ? toBase64(pending.welcome) : undefined,
      adds,
      removes: allRemoves,
    });
  }

  private async onCommitAccepted(msg: ServerMessageOf<'commit_accepted'>): Promise<void> {
    const f = this.inFlight;
    if (!f || !this.session || String(f.pending.baseEpoch) !== msg.epoch) return;
    this.inFlight = undefined;
    this.session.applyCommit(f.pending);
    await this.afterEpochChange();
  }

  private async onCommit(msg: ServerMessageOf<'commit'>): Promise<void> {
    const s = this.session;
    if (!s?.active) return;
    if (String(s.epoch) !== msg.epoch) {
      this.emit('warning', `ignored a commit for epoch ${msg.epoch} at epoch ${s.epoch}`);
      return;
    }
    this.inFlight = undefined; // somebody else's commit won this epoch
    const result = await s.processHandshake(fromBase64(msg.commit));
    if (result.kind === 'commit' && result.removedSelf) {
      this.reset();
      this.emit('removed');
      this.emitEpoch();
      return;
    }
    await this.afterEpochChange();
  }

  private async onApp(msg: ServerMessageOf<'app'>): Promise<void> {
    const s = this.session;
    if (!s?.active) return;
    try {
      const m = await s.decryptApplication(fromBase64(msg.data));
      const body = JSON.parse(dec.decode(m.data)) as { text?: unknown; sentAt?: unknown };
      if (typeof body.text !== 'string') throw new Error('chat message without text');
      this.emit('chat', {
        sender: m.sender,
        text: body.text,
        sentAt: typeof body.sentAt === 'number' ? body.sentAt : Date.now(),
      });
    } catch (e) {
      this.emit('warning', `could not decrypt a chat message: ${(e as Error).message}`);
    }
  }

  private async afterEpochChange(): Promise<void> {
    const s = this.requireSession();
    for (const leaf of [...this.proposedRemovals.keys()])
      if (!s.memberAt(leaf)) this.proposedRemovals.delete(leaf);
    const baseKey = await s.sframeBaseKey(this.mediaKeys.nk);
    this.mediaKeys.setEpoch(s.epoch, baseKey, s.ownLeafIndex);
    this.emit('mediaKey', s.epoch, baseKey, s.ownLeafIndex);
    this.securityCodeValue = await s.securityCode();
    this.emitEpoch();
  }

  private emitEpoch(): void {
    const s = this.session;
    if (s?.active && this.securityCodeValue) this.emit('epoch', s.epoch, this.securityCodeValue);
    this.emit('roster', this.roster());
  }

  private requireSession(): MlsSession {
    if (!this.session?.active) throw new Error('not in the meeting\u2019s MLS group yet');
    return this.session;
  }
}
