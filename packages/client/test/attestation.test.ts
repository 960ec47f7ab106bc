// Frame attestation through the SDK and the real hub (MLS delivery, application messages), with
// the frames carried by the test instead of an SFU: honest members attest and check each other,
// a modified member (a key sink whose protect uses another member's KID) is caught, clips made
// by a real receiver verify, and a meeting with attestation off attests and flags nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeAttestation,
  fromBase64,
  proofGroup,
  toBase64,
  verifyClip,
  verifyMembershipProof,
  type FrameCodec,
} from '@conclave/crypto';
import { LocalKeySink, type ConclaveClient, type E2eeMember } from '../src/index.js';
import { ImpersonatingKeySink } from '../src/node/index.js';
import { client, startHubServer, until, type HubServer } from './harness.js';

let server: HubServer;
let clients: ConclaveClient[] = [];
let timers: NodeJS.Timeout[] = [];
beforeEach(async () => {
  server = await startHubServer({ commitTimeoutMs: 1_000, rekeyMs: 0 });
});
afterEach(async () => {
  for (const t of timers) clearInterval(t);
  timers = [];
  await Promise.all(clients.map((c) => c.leave().catch(() => undefined)));
  clients = [];
  await server.close();
});

const camera = (n: number) => {
  const f = new Uint8Array(400).fill(n & 0xff);
  f.set([n % 30 === 0 ? 0x10 : 0x11, 2, 0x9d, 1, 0x2a, 0x80, 2, 0xe0, 1, 0]);
  return f;
};
const audio = (n: number) => Uint8Array.of(0x78, n & 0xff, 3, 4, 5, 6);

interface Member {
  c: ConclaveClient;
  sink: LocalKeySink;
}

/** Every member sends 25 fps camera and 50 Hz audio to every other (the test is the SFU). */
function carryMedia(members: Member[]) {
  let n = 0;
  const send = async (from: Member, context: 'camera' | 'audio', codec: FrameCodec, frame: Uint8Array) => {
    if (!from.c.e2ee.active) return;
    const wire = await from.sink.protect(context, codec, frame);
    for (const to of members) if (to !== from) await to.sink.unprotect(codec, wire).catch(() => undefined);
  };
  timers.push(
    setInterval(() => {
      n++;
      for (const m of members) {
        void send(m, 'audio', 'opus', audio(n));
        if (n % 2 === 0) void send(m, 'camera', 'vp8', camera(n));
      }
    }, 20),
  );
}

async function meetingOf(names: string[], sinks: Record<string, LocalKeySink> = {}, attestation = true) {
  const { id, hostSecret } = server.directory.add(`m-${names.join('-')}`);
  if (!attestation) server.directory.meetings.get(id)!.info.settings.attestation = false;
  const members: Member[] = [];
  for (const [i, name] of names.entries()) {
    const sink = sinks[name] ?? new LocalKeySink();
    const c = client(server, id, name, { keySink: sink, ...(i === 0 ? { hostSecret } : {}) });
    clients.push(c);
    await c.connect();
    members.push({ c, sink });
  }
  await until(
    () => members.every((m) => m.c.e2ee.active && m.c.roster().length === names.length),
    'one group',
  );
  return members;
}

const mediaOf = (c: ConclaveClient, name: string) =>
  c.people().members.find((p) => p.displayName === name)?.media;
const leafOf = (c: ConclaveClient, name: string) =>
  c.roster().find((m) => m.identity.displayName === name)!.leafIndex;

describe('frame attestation through the SDK', () => {
  it('a member sending under another member\u2019s KID flags that member; honest senders stay clean; clips verify', async () => {
    const mallorySink = new ImpersonatingKeySink();
    const [alice, bob, mallory] = await meetingOf(['alice', 'bob', 'mallory'], { mallory: mallorySink });
    const warnings: string[] = [];
    bob!.c.on('warning', (w) => warnings.push(w));
    carryMedia([alice!, bob!, mallory!]);
    // Everyone attests and everyone checks: after the start-up grace, media arrives, nobody flagged.
    await until(() => (bob!.sink.senderStats().get(leafOf(bob!.c, 'alice'))?.decrypted ?? 0) > 200, 'media');
    await new Promise((r) => setTimeout(r, 4_000));
    for (const name of ['alice', 'mallory']) expect(mediaOf(bob!.c, name), name).toBe('receiving');
    expect(mediaOf(alice!.c, 'bob')).toBe('receiving');

    // Mallory's camera now goes out as Alice's screen.
    mallorySink.victim = leafOf(mallory!.c, 'alice');
    await until(() => mediaOf(bob!.c, 'alice') === 'unattested', 'Bob flags Alice', 10_000);
    await until(() => bob!.sink.senderStats().get(leafOf(bob!.c, 'alice'))!.unattested! > 10, 'more frames');
    const stats = bob!.sink.senderStats();
    expect(stats.get(leafOf(bob!.c, 'mallory'))!.unattested).toBe(0); // her own audio is attested
    expect(mediaOf(bob!.c, 'mallory')).toBe('receiving');
    for (const name of ['bob', 'mallory']) expect(mediaOf(alice!.c, name), name).toBe('receiving');

    // Bob's clip of Alice: only what Alice signed goes in, and it verifies as Alice's.
    const made = await bob!.c.clipEvidence(leafOf(bob!.c, 'alice'), 5);
    expect(made).toBeDefined();
    const { clip, proofs } = made!;
    const groups = await Promise.all(
      proofs.map((p) =>
        verifyMembershipProof({
          groupContext: fromBase64(p.groupContext),
          ratchetTree: fromBase64(p.ratchetTree),
        }),
      ),
    );
    const v = await verifyClip(clip, groups);
    expect(v.detail).toMatch(/verified/);
    expect(v).toMatchObject({ ok: true, leafIndex: leafOf(bob!.c, 'alice') });
    expect(v.frames).toBeGreaterThan(100); // 375 at full speed: 5 s of 50 Hz audio and 25 fps video
    expect(v.sender?.identity.displayName).toBe('alice');
    expect(v.durationMs).toBeGreaterThan(4_000);
    expect(new Set(clip.frames.map((f) => f.codec))).toEqual(new Set(['vp8', 'opus']));
    // One flipped byte and it does not.
    const tampered = structuredClone(clip);
    const data = fromBase64(tampered.frames[7]!.data);
    data[data.length - 2]! ^= 0x40;
    tampered.frames[7]!.data = toBase64(data);
    expect((await verifyClip(tampered, groups)).ok).toBe(false);
    expect(warnings.filter((w) => w.includes('attestation'))).toEqual([]);
  });

  it('an attestation naming another leaf, or with a bad signature, is refused by every receiver', async () => {
    const [alice, bob, mallory] = await meetingOf(['alice', 'bob', 'mallory']);
    const warnings: string[] = [];
    bob!.c.on('warning', (w) => warnings.push(w));
    let hashes: Uint8Array | undefined;
    alice!.sink.onFrameBatch((b) => {
      if (b.context === 'camera') hashes ??= b.hashes;
    });
    carryMedia([alice!, bob!]);
    await until(() => hashes !== undefined, 'a batch of Alice');
    // Mallory, a modified client: the SDK's own MLS membership, sending what a patched SDK could.
    const member = (mallory!.c as unknown as { e2eeMember: E2eeMember }).e2eeMember;
    const group = proofGroup(member.membershipProof()!);
    const claim = {
      groupId: group.groupId,
      epoch: group.epoch,
      leafIndex: leafOf(mallory!.c, 'alice'),
      context: 'camera' as const,
      seq: 0,
      prev: new Uint8Array(32),
      startedAt: Date.now(),
      endedAt: Date.now(),
      hashes: hashes!,
    };
    // Alice's leaf in the body, signed with Mallory's key (the only one she has).
    const asAlice = encodeAttestation(claim);
    const sig = (await member.signAttestation(asAlice))!;
    await member.sendPayload({ kind: 'attestation', body: toBase64(asAlice), signature: toBase64(sig) });
    // Her own leaf, with a signature over another body.
    const asMallory = encodeAttestation({ ...claim, leafIndex: leafOf(mallory!.c, 'mallory') });
    await member.sendPayload({ kind: 'attestation', body: toBase64(asMallory), signature: toBase64(sig) });
    await until(
      () => warnings.filter((w) => w.includes('frame attestation from mallory')).length === 2,
      'both refused',
    );
    expect(warnings.join('\n')).toMatch(/names leaf \d+, not the sender's/);
    expect(warnings.join('\n')).toMatch(/signature does not verify/);
  });

  it('with attestation off: nothing attested, nothing buffered, no clip, no flag', async () => {
    const mallorySink = new ImpersonatingKeySink();
    const [alice, bob, mallory] = await meetingOf(
      ['alice', 'bob', 'mallory'],
      { mallory: mallorySink },
      false,
    );
    let batches = 0;
    alice!.sink.onFrameBatch(() => batches++);
    carryMedia([alice!, bob!, mallory!]);
    mallorySink.victim = leafOf(mallory!.c, 'alice');
    await new Promise((r) => setTimeout(r, 5_000));
    expect(batches).toBe(0);
    expect(mediaOf(bob!.c, 'alice')).toBe('receiving'); // SFrame alone cannot tell
    expect(bob!.sink.senderStats().get(leafOf(bob!.c, 'alice'))!.unattested).toBeUndefined();
    expect(await bob!.c.clipEvidence(leafOf(bob!.c, 'alice'), 5)).toBeUndefined();
    expect(await bob!.sink.clip(leafOf(bob!.c, 'alice'), 5)).toBeUndefined();
  });
});
