import type { LogSink } from '../logger.js';
import {
  PublicGroup,
  PublicGroupError,
  constantTimeEqual,
  fromBase64,
  readMlsFraming,
  toBase64,
  type ExternalSender,
  type VerifiedCommit,
} from '@conclave/crypto';
import {
  PROTOCOL_VERSION as v,
  ProtocolError,
  type ClientMessageOf,
  type Role,
  type ServerMessage,
} from '@conclave/protocol';

/** What the coordinator knows of an admitted participant (from the room). */
export interface GroupParticipant {
  id: string;
  role: Role;
  displayName: string;
  deviceId: string;
  userId: string | undefined;
  /** base64 MLS signature key of its key package (E2EE joins always have one). */
  signatureKey: string;
  joinedAt: number;
}

/** Everything the coordinator does to the outside world. */
export interface GroupPorts {
  send(participantId: string, msg: ServerMessage): void;
  /** Every admitted participant (in the group or not). */
  broadcast(msg: ServerMessage, exceptId?: string): void;
  /** The SFU forwards media to this participant only while it is in the group. */
  mediaAccess(participantId: string, inGroup: boolean): void;
  /** Takes an offender out of the meeting (it sent a commit the members could not process). */
  expel(participantId: string, reason: string): void;
  /** A timer whose callback runs in the room's order (`enqueue`). */
  timer(ms: number, fn: () => void): { cancel(): void };
  logger: LogSink;
}

export interface GroupTimings {
  /** A member asked to commit that has not within this many ms is passed over. */
  commitTimeoutMs: number;
  /** How long the members have to confirm a commit before the delivery service moves on. */
  confirmTimeoutMs: number;
  /** Periodic rekey (0: off). */
  rekeyMs: number;
}

interface Seat {
  p: GroupParticipant;
  /** Its leaf in the group (the delivery service read it from the tree). */
  leaf: number | undefined;
  /** It processed the epoch the group is at (creator, confirmed commit or Welcome). */
  confirmed: boolean;
  /** A key package waiting to be added. */
  keyPackage: string | undefined;
  /** Let a request to remove, rekey or create time out: asked last, or not at all, until then (ms). */
  unresponsiveUntil: number;
  /** Did not confirm a commit in time once: later commits do not wait for it. */
  silent: boolean;
  /** When it was last taken out of the group because it could not process a commit. */
  resyncs: number[];
}

type Ask = {
  committer: string;
  kind: 'add' | 'remove' | 'rekey' | 'roles';
  /** Every joiner announced for this ask (it grows when joiners arrive meanwhile). */
  joiners: Set<string>;
  /** The joiners of the first announcement: in every request the committer may be answering. */
  first?: Set<string>;
  /** When it was asked (Date.now()), for the commit-cycle log lines. */
  at?: number;
};

interface Settling {
  epoch: bigint;
  committer: string;
  previous: PublicGroup;
  expected: Set<string>;
  existing: Set<string>;
  /** Joiners the commit's Welcome is for. */
  joiners: Set<string>;
  ok: Set<string>;
  failed: Map<string, string>;
  /** Departures the commit removed (restored if it is undone). */
  removed: [number, { participantId: string; deviceId: string }][];
  timer: { cancel(): void };
  /** When the commit was accepted (Date.now()). */
  at: number;
}

/** Committer and creator ranking: host, co-hosts, then everyone else. */
const rank = (r: Role) => (r === 'host' ? 0 : r === 'cohost' ? 1 : 2);

/** `group_reset.creator` when a single member is resynced: nobody creates, the member sends a key package. */
const NOBODY = 'resync-only';

/** How long a member that let a removal, rekey or creation time out is asked last. */
const UNRESPONSIVE_MS = 30_000;

/** A member that cannot follow the group this often (per minute) is expelled instead of resynced. */
const MAX_RESYNCS_PER_MINUTE = 3;

/** A joiner the asked key holder left out is asked for again after this long at the latest. */
const DECLINE_RETRY_MS = 10_000;

/**
 * The MLS group of one E2EE meeting session, as the delivery service runs it: which member
 * commits what and when, checking every commit on public data (PublicGroup) before fanning it
 * out, and recovering when a commit cannot be processed or a committer does not answer.
 * Events in (admitted, departed, key packages, MLS messages, timers), messages out (ports).
 * Decisions (docs/architecture.md, "The MLS group"):
 * - leaf indices come from the tree the commits build, never from a member's report;
 * - a commit must come from the member asked, for what it was asked (adds of the announced
 *   joiners, removes of departed leaves, role changes by the host, or an empty rekey);
 * - after a commit the members confirm it (`commit_result`); if no existing member could
 *   process it the group goes back one epoch and the committer is expelled; a member that
 *   could not while others could is taken out and added again with a fresh key package;
 * - an asked committer that stays silent is passed over; when nobody is left to ask, the group
 *   is re-created by the best-ranked responsive member and everyone else joins it afresh.
 */
export class GroupCoordinator {
  private view: PublicGroup | undefined;
  private creator: string | undefined;
  private readonly seats = new Map<string, Seat>();
  /** Leaves whose owner left, dropped, or was taken out: the server proposes their removal. */
  private readonly departures = new Map<number, { participantId: string; deviceId: string }>();
  private ask: Ask | undefined;
  /** The last add request, after it timed out, until anything else is asked or committed. */
  private lateAdd: Ask | undefined;
  /**
   * Joiners the asked committer did not add in time: the key holders' decision (the host may
   * refuse a joiner), asked again after the next commit, never a reason to pass the host over.
   */
  private readonly declined = new Set<string>();
  private askTimer: { cancel(): void } | undefined;
  private settling: Settling | undefined;
  private rekeyTimer: { cancel(): void } | undefined;
  private closed = false;
  /** The host changed a role since the last roles request. */
  private rolesChanged = false;

  constructor(
    private readonly ports: GroupPorts,
    private readonly externalSender: ExternalSender,
    private readonly timings: GroupTimings,
    private readonly meetingId: string,
  ) {}

  get exists(): boolean {
    return this.view !== undefined;
  }

  get info(): { groupId: string; epoch: string } | null {
    return this.view ? { groupId: toBase64(this.view.groupId), epoch: String(this.view.epoch) } : null;
  }

  get epoch(): bigint | undefined {
    return this.view?.epoch;
  }

  inGroup(id: string): boolean {
    return this.seats.get(id)?.leaf !== undefined;
  }

  /** Leaf index of a participant's leaf, as the tree says. */
  leafOf(id: string): number | undefined {
    return this.seats.get(id)?.leaf;
  }

  // ------------------------------------------------------------ participants

  /** A participant was admitted with a key package; true when it must create the group. */
  admitted(p: GroupParticipant, keyPackage: string): boolean {
    this.seats.set(p.id, {
      p,
      leaf: undefined,
      confirmed: false,
      keyPackage,
      unresponsiveUntil: 0,
      silent: false,
      resyncs: [],
    });
    if (!this.view && this.creator === undefined) {
      this.creator = p.id;
      this.armCreation();
      return true;
    }
    this.joinerArrived();
    return false;
  }

  keyPackage(id: string, keyPackage: string): void {
    const s = this.seats.get(id);
    if (!s) return;
    s.keyPackage = keyPackage;
    if (s.leaf === undefined) this.joinerArrived();
  }

  /**
   * A joiner with a key package: while the committer is already asked to add others, the
   * request is widened to include it (a commit adding any of the announced joiners is taken),
   * so joiners arriving one after another do not wait for each other's commits.
   */
  private joinerArrived(): void {
    const ask = this.ask;
    if (ask?.kind === 'add' && !this.settling && this.view) {
      const committer = this.seats.get(ask.committer);
      if (committer) return void this.sendAdds(committer, ask);
    }
    this.next();
  }

  roleChanged(id: string, role: Role): void {
    const s = this.seats.get(id);
    if (!s) return;
    s.p = { ...s.p, role };
    this.rolesChanged = true;
    this.next();
  }

  departed(id: string): void {
    const s = this.seats.get(id);
    if (!s) return;
    this.seats.delete(id);
    if (this.creator === id) this.creator = undefined;
    // A departure goes first: its leaf must leave the group before anything else happens.
    if (this.ask && (this.ask.committer === id || (s.leaf !== undefined && this.ask.kind !== 'remove')))
      this.clearAsk();
    this.declined.delete(id);
    if (s.leaf !== undefined) this.departures.set(s.leaf, { participantId: id, deviceId: s.p.deviceId });
    if (this.settling) {
      this.settling.expected.delete(id);
      this.settling.existing.delete(id);
      this.maybeSettle();
    }
    if (this.view && this.members().length === 0) this.recreate('everyone with the group’s keys left');
    else if (!this.view && this.creator === undefined) this.pickCreator();
    else this.next();
  }

  close(): void {
    this.closed = true;
    this.clearAsk();
    this.settling?.timer.cancel();
    this.rekeyTimer?.cancel();
  }

  // ------------------------------------------------------------ messages

  async groupCreate(id: string, msg: ClientMessageOf<'group_create'>): Promise<void> {
    const s = this.seats.get(id);
    if (!s || this.creator !== id || this.view)
      throw new ProtocolError('forbidden', 'another participant creates this meeting’s group');
    let view: PublicGroup;
    try {
      view = await PublicGroup.fromGroupInfo(fromBase64(msg.groupInfo), {
        serverKey: this.externalSender.publicKey,
        creatorSignatureKey: fromBase64(s.p.signatureKey),
      });
    } catch (e) {
      throw new ProtocolError('bad_mls_message', (e as Error).message);
    }
    if (!constantTimeEqual(view.groupId, fromBase64(msg.groupId)))
      throw new ProtocolError('bad_mls_message', 'the group id is not the GroupInfo’s');
    if (view.groupId.length < 8 || view.groupId.length > 64)
      throw new ProtocolError('bad_request', 'group id must be 8-64 bytes');
    const roles = view.roles();
    if (roles.cohosts.length > 0 || roles.hosts.some((k) => k !== s.p.signatureKey || s.p.role !== 'host'))
      throw new ProtocolError(
        'bad_mls_message',
        'a new group lists no roles but its creator as host, if it is the host',
      );
    this.view = view;
    this.creator = undefined;
    this.clearAsk();
    s.leaf = 0;
    s.confirmed = true;
    s.keyPackage = undefined;
    this.departures.clear();
    this.ports.mediaAccess(id, true);
    this.ports.logger.info({ meetingId: this.meetingId, by: id }, 'MLS group created');
    this.ports.broadcast({ v, type: 'group_created', groupId: msg.groupId, epoch: '0' }, id);
    this.scheduleRekey();
    this.next();
  }

  async commit(id: string, msg: ClientMessageOf<'commit'>): Promise<void> {
    const view = this.requireView();
    const s = this.seats.get(id);
    if (!s || s.leaf === undefined) throw new ProtocolError('no_group', 'you are not in the MLS group');
    if (this.settling)
      throw new ProtocolError('commit_pending', 'the members are still confirming the previous commit');
    if (BigInt(msg.epoch) !== view.epoch)
      throw new ProtocolError(
        'stale_epoch',
        `commit for epoch ${msg.epoch}, the group is at epoch ${view.epoch}`,
      );
    // An add request that timed out is still answered when nothing else was asked since: a
    // slow key holder's late commit of joiners that are still waiting is not wasted.
    const ask = this.ask ?? (this.lateAdd?.committer === id ? this.lateAdd : undefined);
    if (!ask || ask.committer !== id)
      throw new ProtocolError('not_your_turn', 'the delivery service did not ask you to commit');
    let verified: VerifiedCommit;
    try {
      verified = await view.verifyCommit(
        fromBase64(msg.commit),
        msg.welcome === undefined ? undefined : fromBase64(msg.welcome),
      );
    } catch (e) {
      if (e instanceof PublicGroupError)
        throw new ProtocolError(e.code === 'stale_epoch' ? 'stale_epoch' : 'invalid_commit', e.message);
      throw e;
    }
    if (verified.committerLeaf !== s.leaf)
      throw new ProtocolError('invalid_commit', 'the commit is signed by another member’s leaf');
    const added = this.matchAdds(verified, ask);
    for (const r of verified.effect.removes) {
      if (!this.departures.has(r.leafIndex))
        throw new ProtocolError('not_your_turn', `leaf ${r.leafIndex} belongs to a member who has not left`);
      if (r.by === 'member' && s.p.role === 'participant')
        throw new ProtocolError('not_your_turn', 'only the host or a co-host removes by its own proposal');
    }
    if (verified.effect.roles && s.p.role !== 'host')
      throw new ProtocolError('not_your_turn', 'only the host changes the roles');

    // Accepted: the group moves on; the members confirm.
    const previous = view;
    this.view = verified.next;
    this.clearAsk();
    this.lateAdd = undefined;
    this.declined.clear();
    // Joiners of the first announcement that the committer left out were refused by it (asked
    // again after the next commit); later ones it may not have seen yet.
    for (const j of ask.first ?? []) if (!added.some(([a]) => a.p.id === j)) this.declined.add(j);
    const existing = this.members().filter((m) => m.p.id !== id);
    const removed: Settling['removed'] = [];
    for (const r of verified.effect.removes) {
      const d = this.departures.get(r.leafIndex);
      if (d) removed.push([r.leafIndex, d]);
      this.departures.delete(r.leafIndex);
    }
    for (const other of this.seats.values())
      if (other.leaf !== undefined && other.p.id !== id) other.confirmed = false;
    this.ports.send(id, {
      v,
      type: 'commit_accepted',
      rid: msg.rid,
      epoch: msg.epoch,
      newEpoch: String(this.view.epoch),
    });
    // The Welcome goes out before the commit: the joiner is the one waiting, and where members
    // share a machine (the load tool's bot processes hold ~25 each) a Welcome read after the
    // commit waited behind every co-located member's processing of it (~400 ms at 50).
    for (const [joiner, leaf] of added) {
      joiner.leaf = leaf;
      joiner.keyPackage = undefined;
      joiner.confirmed = false;
      this.ports.send(joiner.p.id, {
        v,
        type: 'welcome',
        epoch: String(this.view.epoch),
        welcome: msg.welcome!,
      });
    }
    for (const o of existing)
      this.ports.send(o.p.id, { v, type: 'commit', epoch: msg.epoch, commit: msg.commit, from: id });
    this.ports.logger.info(
      {
        meetingId: this.meetingId,
        by: id,
        epoch: String(this.view.epoch),
        adds: added.length,
        removes: verified.effect.removes.length,
        roles: verified.effect.roles !== undefined,
        askedMsAgo: ask.at === undefined ? undefined : Date.now() - ask.at,
      },
      'commit accepted',
    );
    const expected = new Set(
      [...existing.filter((o) => !o.silent), ...added.map(([j]) => j)].map((o) => o.p.id),
    );
    this.settling = {
      epoch: previous.epoch,
      committer: id,
      previous,
      expected,
      existing: new Set(existing.map((o) => o.p.id)),
      joiners: new Set(added.map(([j]) => j.p.id)),
      ok: new Set(),
      failed: new Map(),
      removed,
      timer: this.ports.timer(this.timings.confirmTimeoutMs, () => this.settle()),
      at: Date.now(),
    };
    this.scheduleRekey();
    this.maybeSettle();
  }

  commitResult(id: string, msg: ClientMessageOf<'commit_result'>): void {
    const st = this.settling;
    const epoch = BigInt(msg.epoch);
    if (st && epoch === st.epoch) {
      if (!st.existing.has(id) && !st.expected.has(id) && !st.joiners.has(id)) return;
      if (st.ok.has(id) || st.failed.has(id)) return;
      st.expected.delete(id);
      if (msg.ok) st.ok.add(id);
      else st.failed.set(id, msg.reason ?? 'no reason given');
      // A joiner that confirmed its Welcome is a member: its media opens now, not once every
      // existing member has confirmed too (hundreds of ms in a big group). Should the commit be
      // undone, `settle` resyncs it and closes its media again.
      if (msg.ok && st.joiners.has(id)) this.ports.mediaAccess(id, true);
      this.maybeSettle();
      return;
    }
    // A failure reported after its commit was settled (a member that answered late): that
    // member is not at the group's epoch, so it is brought back in.
    const s = this.seats.get(id);
    if (!msg.ok && s?.leaf !== undefined && this.view && epoch === this.view.epoch - 1n && !st) {
      this.ports.logger.warn({ meetingId: this.meetingId, participantId: id }, 'late commit failure: resync');
      this.resync(s, true);
      this.next();
    }
  }

  /** Checks an application message's framing (this group, an epoch it had) before relaying it to the members. */
  relayApplication(id: string, msg: ClientMessageOf<'app'>): void {
    const view = this.requireView();
    if (!this.inGroup(id)) throw new ProtocolError('no_group', 'you are not in the MLS group yet');
    let framing;
    try {
      framing = readMlsFraming(fromBase64(msg.data));
    } catch (e) {
      throw new ProtocolError(
        'bad_mls_message',
        `application message does not parse: ${(e as Error).message}`,
      );
    }
    if (framing.wireformat !== 'mls_private_message' || framing.contentType !== 'application')
      throw new ProtocolError('bad_mls_message', 'not an MLS application message');
    if (!framing.groupId || !constantTimeEqual(framing.groupId, view.groupId))
      throw new ProtocolError('bad_mls_message', 'application message is for another group');
    if (framing.epoch === undefined || framing.epoch > view.epoch || String(framing.epoch) !== msg.epoch)
      throw new ProtocolError(
        'stale_epoch',
        `application message epoch ${framing.epoch} does not fit group epoch ${view.epoch}`,
      );
    for (const o of this.members())
      if (o.p.id !== id)
        this.ports.send(o.p.id, { v, type: 'app', epoch: msg.epoch, data: msg.data, from: id });
  }

  // ------------------------------------------------------------ decisions

  /** The added leaves must be exactly the announced joiners' key packages. */
  private matchAdds(verified: VerifiedCommit, ask: Ask): [Seat, number][] {
    const out: [Seat, number][] = [];
    if (verified.effect.added.length > 0 && ask.kind !== 'add')
      throw new ProtocolError('not_your_turn', `you were asked for a ${ask.kind} commit, not to add anyone`);
    for (const a of verified.effect.added) {
      // Any admitted joiner still waiting may be in it (also one announced in an earlier,
      // crossed request); nobody else.
      const joiner = [...this.seats.values()].find(
        (j) => j.leaf === undefined && j.keyPackage !== undefined && j.p.signatureKey === a.signatureKey,
      );
      if (!joiner)
        throw new ProtocolError(
          'not_your_turn',
          `the commit adds ${a.identity.displayName}, who is not an admitted participant waiting to be added`,
        );
      out.push([joiner, a.leafIndex]);
    }
    return out;
  }

  private maybeSettle(): void {
    if (this.settling && this.settling.expected.size === 0) this.settle();
  }

  /**
   * Ends a commit's confirmation. At least two existing members could not process it and none
   * could: the committer sent something broken; the group goes back to the previous epoch,
   * where the members still are, and the committer is expelled. Otherwise every member that
   * could not process it is taken out and asked for a fresh key package. (With one other member
   * only, the server cannot tell a broken commit from a member lying about it; that member is
   * resynced, and expelled if it keeps failing.)
   */
  private settle(): void {
    const st = this.settling;
    if (!st) return;
    this.settling = undefined;
    st.timer.cancel();
    this.ports.logger.debug(
      {
        meetingId: this.meetingId,
        epoch: String(st.epoch + 1n),
        ms: Date.now() - st.at,
        ok: st.ok.size,
        failed: st.failed.size,
        unanswered: st.expected.size,
      },
      'commit settled',
    );
    const existingFailed = [...st.failed.keys()].filter((id) => st.existing.has(id));
    const existingOk = [...st.ok].filter((id) => st.existing.has(id));
    if (existingFailed.length >= 2 && existingOk.length === 0) {
      this.ports.logger.warn(
        { meetingId: this.meetingId, committer: st.committer, failed: existingFailed.length },
        'no member could process a commit: back to the previous epoch, committer expelled',
      );
      this.view = st.previous;
      for (const [leaf, d] of st.removed) this.departures.set(leaf, d);
      for (const s of this.seats.values()) {
        if (s.p.id === st.committer) continue;
        if (st.existing.has(s.p.id)) s.confirmed = true;
        else if (s.leaf !== undefined) this.resync(s, false); // joined a state that is gone
      }
      const committer = this.seats.get(st.committer);
      if (committer) {
        committer.confirmed = true; // its leaf is still in the previous epoch's tree
        committer.unresponsiveUntil = Number.POSITIVE_INFINITY; // never asked again
        this.ports.expel(st.committer, 'your commit could not be processed by the other members');
      }
    } else {
      for (const id of st.ok) {
        const s = this.seats.get(id);
        if (!s) continue;
        s.confirmed = true; // joiners among them got their media when they confirmed
      }
      const committer = this.seats.get(st.committer);
      if (committer) committer.confirmed = true;
      for (const [id, reason] of st.failed) {
        const s = this.seats.get(id);
        if (!s) continue;
        this.ports.logger.warn(
          { meetingId: this.meetingId, participantId: id, reason },
          'member could not process a commit: resync',
        );
        this.resync(s, true);
      }
      // Members that did not answer in time are assumed to have processed it; later commits
      // do not wait for them (a silent member must not slow every commit down).
      for (const id of st.expected) {
        const s = this.seats.get(id);
        if (!s) continue;
        s.confirmed = true;
        s.silent = true;
        if (!st.existing.has(id)) this.ports.mediaAccess(id, true);
      }
    }
    this.next();
  }

  /** Takes a member's leaf out (the server proposes its removal) and asks it for a fresh key package. */
  private resync(s: Seat, leafInGroup: boolean): void {
    const now = Date.now();
    s.resyncs = [...s.resyncs.filter((t) => now - t < 60_000), now];
    if (s.resyncs.length > MAX_RESYNCS_PER_MINUTE) {
      s.unresponsiveUntil = Number.POSITIVE_INFINITY;
      this.ports.expel(s.p.id, 'your device keeps failing to follow the encryption group: join again');
      return;
    }
    if (leafInGroup && s.leaf !== undefined)
      this.departures.set(s.leaf, { participantId: s.p.id, deviceId: s.p.deviceId });
    s.leaf = undefined;
    s.confirmed = false;
    s.keyPackage = undefined;
    this.ports.mediaAccess(s.p.id, false);
    // `creator` names someone else: the member drops its group state and sends a key package.
    this.ports.send(s.p.id, { v, type: 'group_reset', creator: NOBODY });
  }

  /** The next thing the group needs, one at a time: removals of departed leaves, then adds, then roles. */
  private next(): void {
    if (this.closed || !this.view || this.settling || this.ask) return;
    if (this.departures.size > 0) return void this.askRemovals();
    if (this.joiners().length > 0 && this.askAdds()) return;
    this.askRoles();
  }

  /** Admitted participants with a key package, not in the group, not declined in this epoch. */
  private joiners(): Seat[] {
    return [...this.seats.values()].filter(
      (s) => s.leaf === undefined && s.keyPackage !== undefined && !this.declined.has(s.p.id),
    );
  }

  private responsive(s: Seat): boolean {
    return s.unresponsiveUntil <= Date.now();
  }

  private members(): Seat[] {
    return [...this.seats.values()].filter((s) => s.leaf !== undefined);
  }

  /**
   * Host first, then co-hosts, then the oldest member; only members that confirmed the current
   * epoch and did not let a request time out. For adds, only the host and co-hosts while one of
   * them is in the group: admission is their decision.
   */
  private chooseCommitter(admission: boolean): Seat | undefined {
    let candidates = this.members()
      .filter((s) => s.confirmed && this.responsive(s))
      .sort((a, b) => rank(a.p.role) - rank(b.p.role) || a.p.joinedAt - b.p.joinedAt);
    if (admission && this.members().some((s) => s.p.role !== 'participant'))
      candidates = candidates.filter((c) => c.p.role !== 'participant');
    return candidates[0];
  }

  /** False when nobody may add now (joiners wait: admission is the key holders' call). */
  private askAdds(): boolean {
    const committer = this.chooseCommitter(true);
    if (!committer) return false;
    const ask: Ask = { committer: committer.p.id, kind: 'add', joiners: new Set() };
    this.setAsk(ask);
    this.sendAdds(committer, ask);
    return true;
  }

  /** Announces every current joiner to the add committer (again, when one more arrived). */
  private sendAdds(committer: Seat, ask: Ask): void {
    const joiners = this.joiners();
    for (const j of joiners) ask.joiners.add(j.p.id);
    ask.first ??= new Set(ask.joiners);
    this.ports.logger.debug(
      { meetingId: this.meetingId, committer: committer.p.id, joiners: joiners.length },
      'add requested',
    );
    this.ports.send(committer.p.id, {
      v,
      type: 'add_request',
      epoch: String(this.view!.epoch),
      joiners: joiners.map((j) => ({
        participantId: j.p.id,
        displayName: j.p.displayName,
        deviceId: j.p.deviceId,
        userId: j.p.userId,
        keyPackage: j.keyPackage!,
      })),
    });
  }

  /** The server's external Remove proposals go to every member; the committer commits them. */
  private askRemovals(): void {
    const view = this.view!;
    const committer = this.chooseCommitter(false);
    if (!committer) return this.recreate('no member of the group answers');
    this.setAsk({ committer: committer.p.id, kind: 'remove', joiners: new Set() });
    const ask = this.ask;
    void (async () => {
      for (const [leaf, d] of this.departures) {
        const proposal = toBase64(await view.proposeRemove(this.externalSender, leaf));
        if (this.ask !== ask || this.view !== view) return; // moved on meanwhile
        for (const o of this.members()) {
          this.ports.send(o.p.id, {
            v,
            type: 'proposal',
            epoch: String(view.epoch),
            proposal,
            participantId: d.participantId,
            deviceId: d.deviceId,
            committer: committer.p.id,
          });
        }
      }
    })().catch((e: unknown) =>
      this.ports.logger.error({ err: e, meetingId: this.meetingId }, 'remove proposal failed'),
    );
  }

  /** The host, in the group and confirmed, whose key the group's roles do not list as host. */
  private askRoles(): void {
    if (!this.view || this.settling || this.ask) return;
    const host = this.members().find((s) => s.p.role === 'host' && s.confirmed && this.responsive(s));
    if (!host) return;
    // Asked when the group does not list the host, or after the host changed a role: the
    // host's client writes what it itself asked for (never the server's view of the roles).
    if (this.view.roles().hosts.includes(host.p.signatureKey) && !this.rolesChanged) return;
    this.rolesChanged = false;
    this.setAsk({ committer: host.p.id, kind: 'roles', joiners: new Set() });
    this.ports.send(host.p.id, { v, type: 'roles_request', epoch: String(this.view.epoch) });
  }

  private setAsk(ask: Ask): void {
    this.clearAsk();
    this.lateAdd = undefined;
    ask.at = Date.now();
    this.ask = ask;
    // Adds may take the key holder longer (a big commit on a slow device); nothing is at risk.
    const ms = ask.kind === 'add' ? this.timings.commitTimeoutMs * 4 : this.timings.commitTimeoutMs;
    this.askTimer = this.ports.timer(ms, () => {
      if (this.ask !== ask) return;
      this.ports.logger.debug(
        { meetingId: this.meetingId, committer: ask.committer, kind: ask.kind, ms },
        'commit request timed out',
      );
      this.clearAsk();
      if (ask.kind === 'add') {
        this.lateAdd = ask;
        for (const j of ask.joiners) this.declined.add(j);
        // Asked again after the next commit, or after a while if nothing else happens (the
        // request may have crossed another commit of the committer's).
        const declined = [...ask.joiners];
        this.ports.timer(DECLINE_RETRY_MS, () => {
          for (const j of declined) this.declined.delete(j);
          this.next();
        });
      } else if (ask.kind !== 'roles') {
        // A removal or rekey must happen: the next member is asked. (Adds and roles the
        // key holders leave undone are their decision.)
        const s = this.seats.get(ask.committer);
        if (s) s.unresponsiveUntil = Date.now() + UNRESPONSIVE_MS;
        this.ports.logger.warn(
          { meetingId: this.meetingId, committer: ask.committer, kind: ask.kind },
          'committer did not answer',
        );
      }
      if (ask.kind !== 'roles') this.next();
    });
  }

  private clearAsk(): void {
    this.askTimer?.cancel();
    this.askTimer = undefined;
    this.ask = undefined;
  }

  /**
   * Forgets the group: the best-ranked participant that did not let a request time out creates
   * a new one, everyone else joins it with a fresh key package. The old group's keys (held by
   * whoever left, or whoever stalled it) open nothing sent in the new one.
   */
  private recreate(why: string): void {
    this.ports.logger.warn({ meetingId: this.meetingId, why }, 'MLS group re-created');
    this.view = undefined;
    this.clearAsk();
    this.settling?.timer.cancel();
    this.settling = undefined;
    this.departures.clear();
    for (const s of this.seats.values()) {
      if (s.leaf !== undefined) this.ports.mediaAccess(s.p.id, false);
      s.leaf = undefined;
      s.confirmed = false;
      s.keyPackage = undefined;
    }
    this.pickCreator();
  }

  private pickCreator(): void {
    const all = [...this.seats.values()].sort(
      (a, b) =>
        Number(!this.responsive(a)) - Number(!this.responsive(b)) ||
        rank(a.p.role) - rank(b.p.role) ||
        a.p.joinedAt - b.p.joinedAt,
    );
    const next = all[0];
    this.creator = next?.p.id;
    if (next) {
      this.ports.broadcast({ v, type: 'group_reset', creator: next.p.id });
      this.armCreation();
    }
  }

  /** A creator that does not create the group in time is passed over. */
  private armCreation(): void {
    const creator = this.creator;
    this.clearAsk();
    this.askTimer = this.ports.timer(this.timings.commitTimeoutMs, () => {
      if (this.view || this.creator !== creator || creator === undefined) return;
      const s = this.seats.get(creator);
      if (s) s.unresponsiveUntil = Date.now() + UNRESPONSIVE_MS;
      this.ports.logger.warn({ meetingId: this.meetingId, creator }, 'group creator did not answer');
      this.pickCreator();
    });
  }

  private scheduleRekey(): void {
    this.rekeyTimer?.cancel();
    if (this.timings.rekeyMs <= 0 || this.closed) return;
    this.rekeyTimer = this.ports.timer(this.timings.rekeyMs, () => {
      if (this.view && !this.settling && !this.ask) {
        const committer = this.chooseCommitter(false);
        if (committer) {
          this.setAsk({ committer: committer.p.id, kind: 'rekey', joiners: new Set() });
          this.ports.send(committer.p.id, { v, type: 'rekey_request', epoch: String(this.view.epoch) });
        }
      }
      this.scheduleRekey();
    });
  }

  private requireView(): PublicGroup {
    if (!this.view) throw new ProtocolError('no_group', 'this meeting has no MLS group yet');
    return this.view;
  }
}
