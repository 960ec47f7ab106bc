import { describe, expect, it } from 'vitest';
import { ExternalSender, MlsDevice, decodeMls, fromBase64, toBase64 } from '@conclave/crypto';
import { E2eeMember, LocalKeySink, type SignalingConnection } from '@conclave/client';
import { PROTOCOL_VERSION, ProtocolError, type ClientMessage, type ServerMessage } from '@conclave/protocol';
import { GroupCoordinator, type GroupPorts } from '../src/meeting/group-coordinator.js';
import { oneMeeting } from './hub-server.js';

// The coordinator on its own: real MLS members (the SDK's E2eeMember) wired to it in process,
// a manual clock for its timers, and a record of everything it sends.

const silentLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

class Harness {
  readonly sent: { to: string; msg: ServerMessage }[] = [];
  readonly expelled: string[] = [];
  readonly media = new Map<string, boolean>();
  /** Every media-access change, in order ("id:on" / "id:off"). */
  readonly mediaLog: string[] = [];
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  private now = 0;
  readonly members = new Map<string, E2eeMember>();
  /** What each member does with a server message (default: the SDK's handling). */
  readonly intercept = new Map<string, (msg: ServerMessage) => boolean | Promise<boolean>>();
  private queue: Promise<void> = Promise.resolve();
  coordinator!: GroupCoordinator;
  private joinedAt = 0;

  static async create(): Promise<Harness> {
    const h = new Harness();
    const ports: GroupPorts = {
      send: (to, msg) => h.deliver(to, msg),
      broadcast: (msg, except) => {
        for (const id of h.members.keys()) if (id !== except) h.deliver(id, msg);
      },
      mediaAccess: (id, ok) => {
        h.media.set(id, ok);
        h.mediaLog.push(`${id}:${ok ? 'on' : 'off'}`);
      },
      expel: (id) => {
        h.expelled.push(id);
        h.members.delete(id);
        h.coordinator.departed(id);
      },
      timer: (ms, fn) => {
        const t = { at: h.now + ms, fn, live: true };
        h.timers.push(t);
        return { cancel: () => (t.live = false) };
      },
      logger: silentLogger,
    };
    h.coordinator = new GroupCoordinator(
      ports,
      await ExternalSender.generate(),
      { commitTimeoutMs: 1000, confirmTimeoutMs: 1000, rekeyMs: 0 },
      'meeting-1',
    );
    h.serverKey = toBase64(
      (h.coordinator as unknown as { externalSender: ExternalSender }).externalSender.publicKey,
    );
    return h;
  }
  serverKey = '';

  private deliver(to: string, msg: ServerMessage): void {
    this.sent.push({ to, msg });
    const m = this.members.get(to);
    if (!m) return;
    this.queue = this.queue.then(async () => {
      if (await this.intercept.get(to)?.(msg)) return;
      await m.handle(msg);
    });
  }

  /** Runs what the members send back, in order, until nothing is left. */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const q = this.queue;
      await q;
      await new Promise((r) => setTimeout(r, 5));
      if (q === this.queue) return;
    }
  }

  /** Advances the manual clock: due timers fire. */
  async tick(ms: number): Promise<void> {
    this.now += ms;
    for (const t of this.timers.filter((x) => x.live && x.at <= this.now)) {
      t.live = false;
      t.fn();
    }
    await this.settle();
  }

  async admit(name: string, role: 'host' | 'participant' = 'participant'): Promise<E2eeMember> {
    const device = await MlsDevice.create({ kind: 'guest', deviceId: `dev-${name}`, displayName: name });
    const id = `id-${name}`;
    let rids = 0;
    const send = (msg: Omit<ClientMessage, 'v'>): string => {
      const rid = `${name}-${++rids}`; // as SignalingConnection: every message has its request id
      const full = { v: PROTOCOL_VERSION, ...msg, rid } as ClientMessage;
      this.queue = this.queue.then(async () => {
        try {
          switch (full.type) {
            case 'group_create':
              return await this.coordinator.groupCreate(id, full);
            case 'commit':
              return await this.coordinator.commit(id, full);
            case 'commit_result':
              return this.coordinator.commitResult(id, full);
            case 'key_package':
              return this.coordinator.keyPackage(id, full.keyPackage);
            default:
              return;
          }
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          this.deliver(id, { v: 1, type: 'error', code: e.code, message: e.message, ref: full.type, rid });
        }
      });
      return rid;
    };
    const member = new E2eeMember(
      device,
      new LocalKeySink(),
      () => ({ send }) as unknown as SignalingConnection,
    );
    this.members.set(id, member);
    const keyPackage = await member.freshKeyPackage();
    const create = this.coordinator.admitted(
      {
        id,
        role,
        displayName: name,
        deviceId: device.identity.deviceId,
        userId: undefined,
        signatureKey: toBase64(device.signatureKeys.publicKey),
        joinedAt: ++this.joinedAt,
      },
      keyPackage,
    );
    await member.onJoined({
      v: 1,
      type: 'joined',
      participantId: id,
      resumeToken: 'x'.repeat(43),
      role,
      meeting: oneMeeting('meeting-1').meeting,
      participants: [],
      serverKey: this.serverKey,
      group: this.coordinator.info,
      createGroup: create,
    });
    await this.settle();
    return member;
  }

  /** `id` answers its next commit "could not process it", without touching its state. */
  failNextCommit(id: string): void {
    this.intercept.set(id, (msg) => {
      if (msg.type !== 'commit') return false;
      this.coordinator.commitResult(id, { v: 1, type: 'commit_result', epoch: msg.epoch, ok: false });
      this.intercept.delete(id);
      return true;
    });
  }

  /** A commit of junk bytes from `id` in the current epoch, straight to the coordinator. */
  garbageCommit(id: string): Promise<void> {
    return this.coordinator.commit(id, {
      v: 1,
      type: 'commit',
      epoch: String(this.coordinator.epoch),
      commit: 'AAAA',
    });
  }

  leave(name: string): void {
    this.members.delete(`id-${name}`);
    this.coordinator.departed(`id-${name}`);
  }

  names(m: E2eeMember): string[] {
    return m
      .roster()
      .map((r) => r.identity.displayName)
      .sort();
  }

  last(type: ServerMessage['type'], to?: string): ServerMessage | undefined {
    return [...this.sent].reverse().find((s) => s.msg.type === type && (to === undefined || s.to === to))
      ?.msg;
  }
}

describe('GroupCoordinator', () => {
  it('reads every leaf from the tree the commits build, and proposes the departed member’s own leaf', async () => {
    const h = await Harness.create();
    const host = await h.admit('host', 'host');
    const bob = await h.admit('bob');
    const carol = await h.admit('carol');
    expect(h.names(host)).toEqual(['bob', 'carol', 'host']);
    expect([
      h.coordinator.leafOf('id-host'),
      h.coordinator.leafOf('id-bob'),
      h.coordinator.leafOf('id-carol'),
    ]).toEqual([0, 1, 2]);
    expect(host.epoch).toBe(bob.epoch);
    h.leave('bob');
    await h.settle();
    const proposal = h.last('proposal', 'id-host');
    expect(proposal?.type === 'proposal' && proposal.deviceId).toBe('dev-bob');
    const pm = decodeMls(fromBase64(proposal?.type === 'proposal' ? proposal.proposal : ''));
    expect(
      pm.wireformat === 'mls_public_message' &&
        pm.publicMessage.content.contentType === 'proposal' &&
        pm.publicMessage.content.proposal.proposalType === 'remove' &&
        pm.publicMessage.content.proposal.remove.removed,
    ).toBe(1);
    await h.settle();
    expect(h.names(host)).toEqual(['carol', 'host']);
    expect(h.names(carol)).toEqual(['carol', 'host']);
    expect(h.coordinator.leafOf('id-carol')).toBe(2);
  });

  it('the SDK matches answers by request id: an error about another request does not drop the commit in flight', async () => {
    const h = await Harness.create();
    const host = await h.admit('host', 'host');
    let injected = false;
    h.intercept.set('id-host', async (msg) => {
      if (msg.type !== 'commit_accepted' || injected) return false;
      injected = true;
      // Just before the acceptance: an error naming a commit, but another request's (an earlier
      // commit's refusal arriving late). Matched by type, it would drop the commit in flight.
      await host.handle({
        v: 1,
        type: 'error',
        code: 'not_your_turn',
        message: 'about an earlier commit',
        ref: 'commit',
        rid: 'host-earlier',
      });
      return false;
    });
    const bob = await h.admit('bob');
    await h.settle();
    expect(injected).toBe(true);
    // The host applied its own commit: it is in bob's epoch, with bob in its roster.
    expect(host.epoch).toBe(bob.epoch);
    expect(h.names(host)).toEqual(['bob', 'host']);
  });

  it("sends a joiner's Welcome before the commit reaches the existing members", async () => {
    const h = await Harness.create();
    await h.admit('host', 'host');
    await h.admit('bob');
    await h.settle();
    const before = h.sent.length;
    await h.admit('carol');
    await h.settle();
    const order = h.sent
      .slice(before)
      .filter((s) => s.msg.type === 'welcome' || (s.msg.type === 'commit' && s.to === 'id-bob'))
      .map((s) => `${s.msg.type} ${s.to}`);
    expect(order).toEqual(['welcome id-carol', 'commit id-bob']);
  });

  it('opens media to a joiner only once it confirmed its Welcome, and closes it when the joiner is resynced', async () => {
    const h = await Harness.create();
    await h.admit('host', 'host');
    expect(h.media.get('id-host')).toBe(true);
    h.intercept.set('id-bob', (msg) => msg.type === 'welcome'); // bob sits on his Welcome
    await h.admit('bob');
    expect(h.coordinator.inGroup('id-bob')).toBe(true);
    expect(h.media.get('id-bob')).toBeUndefined();
    await h.tick(1000); // confirmation times out: assumed processed, media opens
    expect(h.media.get('id-bob')).toBe(true);
    // Carol joins; bob says he could not process that commit: he is taken out and re-added.
    h.intercept.delete('id-bob');
    h.failNextCommit('id-bob');
    await h.admit('carol');
    expect(h.last('group_reset', 'id-bob')).toBeDefined();
    // off while he is out of the group, on again once his new Welcome is confirmed
    expect(h.mediaLog.filter((e) => e.startsWith('id-bob'))).toEqual([
      'id-bob:on',
      'id-bob:off',
      'id-bob:on',
    ]);
    expect(h.names(h.members.get('id-host')!)).toEqual(['bob', 'carol', 'host']);
    expect(h.media.get('id-bob')).toBe(true);
  });

  it('the host commits a departure asked for while its own add commit was in flight, without being passed over', async () => {
    const h = await Harness.create();
    const host = await h.admit('host', 'host');
    await h.admit('bob');
    await h.admit('carol');
    // bob leaves just as the host is asked to add dave: the server now wants the removal first,
    // refuses the host's add (not_your_turn), and its Remove proposal reaches the host while that
    // add is still in flight.
    let heldError: ServerMessage | undefined;
    let proposalSeen = false;
    const errors: string[] = [];
    h.intercept.set('id-host', async (msg) => {
      if (msg.type === 'add_request' && h.members.has('id-bob')) {
        h.leave('bob');
        return false;
      }
      if (msg.type === 'error') errors.push(msg.code);
      if (msg.type === 'error' && !proposalSeen) {
        heldError = msg;
        return true;
      }
      if (msg.type === 'proposal') {
        proposalSeen = true;
        await host.handle(msg);
        if (heldError) await host.handle(heldError);
        return true;
      }
      return false;
    });
    await h.admit('dave');
    await h.settle();
    expect(errors).toEqual(['not_your_turn']);
    // no clock moved: nobody was passed over, the host itself removed bob, then added dave
    expect(h.names(host)).toEqual(['carol', 'dave', 'host']);
    expect(h.names(h.members.get('id-carol')!)).toEqual(['carol', 'dave', 'host']);
    expect(host.health).toBe('ok');
  });

  it('opens media to a joiner when it confirms its Welcome, while existing members still confirm the commit', async () => {
    const h = await Harness.create();
    await h.admit('host', 'host');
    await h.admit('bob');
    h.intercept.set('id-bob', (msg) => msg.type === 'commit'); // bob sits on carol's add
    await h.admit('carol');
    expect(h.coordinator.inGroup('id-carol')).toBe(true);
    expect(h.media.get('id-carol')).toBe(true);
    // the commit is still being confirmed (bob): no other commit is taken yet
    await expect(h.garbageCommit('id-host')).rejects.toMatchObject({ code: 'commit_pending' });
    await h.tick(1000);
    expect(h.mediaLog.filter((e) => e.startsWith('id-carol'))).toEqual(['id-carol:on']);
  });

  it('refuses a commit from a member it did not ask, and one while the last commit is being confirmed', async () => {
    const h = await Harness.create();
    await h.admit('host', 'host');
    await h.admit('bob');
    const errors = () =>
      h.sent.filter((s) => s.msg.type === 'error').map((s) => s.msg.type === 'error' && s.msg.code);
    // bob rekeys unasked
    await h.members
      .get('id-bob')!
      .handle({ v: 1, type: 'rekey_request', epoch: String(h.coordinator.epoch) });
    await h.settle();
    expect(errors()).toEqual(['not_your_turn']);
    // bob stays silent on the next commit: until it is settled, no other commit is taken
    h.intercept.set('id-bob', (msg) => msg.type === 'commit');
    await h.admit('carol');
    await expect(h.garbageCommit('id-host')).rejects.toMatchObject({ code: 'commit_pending' });
    await h.tick(1000);
    await expect(h.garbageCommit('id-host')).rejects.toMatchObject({ code: 'not_your_turn' });
  });

  it('passes over a committer that leaves a removal undone, but not one that leaves an add undone', async () => {
    const h = await Harness.create();
    const host = await h.admit('host', 'host');
    await h.admit('bob');
    await h.admit('carol');
    // The host ignores add requests: it refuses that joiner (its decision), nobody else adds him.
    // It stores the server's proposals but never commits them.
    h.intercept.set('id-host', async (msg) => {
      if (msg.type === 'add_request') return true;
      if (msg.type !== 'proposal') return false;
      await host.handle({ ...msg, committer: 'id-someone-else' });
      return true;
    });
    await h.admit('dave');
    await h.tick(4000); // adds get four commit timeouts
    expect(h.names(host)).toEqual(['bob', 'carol', 'host']);
    expect(h.sent.filter((s) => s.msg.type === 'add_request').every((s) => s.to === 'id-host')).toBe(true);
    // It ignores a removal too: after the timeout the next member commits it.
    h.leave('carol');
    await h.tick(1000);
    const bob = h.members.get('id-bob')!;
    expect(h.names(bob)).toEqual(['bob', 'host']);
    expect(h.names(host)).toEqual(['bob', 'host']);
    expect(h.coordinator.inGroup('id-dave')).toBe(false);
  });

  it('undoes a commit that two members could not process and expels its committer', async () => {
    const h = await Harness.create();
    await h.admit('host', 'host');
    const bob = await h.admit('bob');
    const carol = await h.admit('carol');
    // The host's next commit (adding dave) is answered "failed" by both others, as if broken.
    h.failNextCommit('id-bob');
    h.failNextCommit('id-carol');
    await h.admit('dave');
    await h.settle();
    expect(h.expelled).toEqual(['id-host']);
    expect(bob.epoch).toBe(carol.epoch);
    expect(h.names(bob)).toEqual(['bob', 'carol', 'dave']);
    expect(h.names(carol)).toEqual(['bob', 'carol', 'dave']);
  });

  it('a host who joins a group a participant created writes itself into the group’s roles', async () => {
    const h = await Harness.create();
    const alice = await h.admit('alice');
    expect(alice.roles()?.hosts).toEqual([]);
    const host = await h.admit('host', 'host');
    await h.settle();
    expect(h.sent.some((x) => x.to === 'id-host' && x.msg.type === 'roles_request')).toBe(true);
    const hostKey = toBase64(host.device.signatureKeys.publicKey);
    expect(alice.roles()?.hosts).toEqual([hostKey]);
    expect(host.roles()?.hosts).toEqual([hostKey]);
  });

  it('re-creates the group when everyone with its keys left, with the best-ranked participant', async () => {
    const h = await Harness.create();
    await h.admit('alice');
    h.intercept.set('id-alice', (msg) => msg.type === 'add_request'); // never adds
    await h.admit('bob');
    h.leave('alice');
    const reset = h.last('group_reset', 'id-bob');
    expect(reset?.type === 'group_reset' && reset.creator).toBe('id-bob');
    await h.settle();
    const bob = h.members.get('id-bob')!;
    expect(h.names(bob)).toEqual(['bob']);
    expect(h.coordinator.leafOf('id-bob')).toBe(0);
  });
});
