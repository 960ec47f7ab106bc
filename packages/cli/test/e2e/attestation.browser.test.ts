// Frame attestation through the whole server (signaling, the MLS delivery service, the werift
// SFU in a worker process) with bots built from the SDK: a modified bot whose key sink sends its
// camera under ANOTHER member's KID is caught by an honest bot's people() while honest senders
// stay clean, and a clip a real receiver makes verifies with verifyClip (a flipped byte does
// not). WebRTC over loopback: runs in the network-namespace suite.
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, verifyClip, verifyMembershipProof } from '@conclave/crypto';
import { LocalKeySink, type ConclaveClient } from '@conclave/client';
import { Bot, ImpersonatingKeySink } from '@conclave/client/node';
import { botSuite, until } from './harness.js';

const suite = botSuite();

async function meetingOf(names: string[], sinks: Record<string, LocalKeySink>, attestation = true) {
  const m = await suite.host.createMeeting({ attestation });
  const all: Bot[] = [];
  for (const [i, name] of names.entries()) {
    const b = suite.bot(m.meeting.id, name, {
      hostSecret: i === 0 ? m.hostSecret : undefined,
      keySink: sinks[name],
    });
    all.push(b);
    await b.start();
  }
  await until(
    () => all.every((b) => b.client.e2ee.active && b.client.roster().length === names.length),
    'one group',
  );
  return all;
}

const mediaOf = (c: ConclaveClient, name: string) =>
  c.people().members.find((p) => p.displayName === name)?.media;
const leafOf = (c: ConclaveClient, name: string) =>
  c.roster().find((m) => m.identity.displayName === name)!.leafIndex;

describe('frame attestation through the server and the SFU', () => {
  it('a bot sending under another member\u2019s KID: the victim is flagged, honest senders are not; clips verify', async () => {
    const mallorySink = new ImpersonatingKeySink();
    const [alice, bob, mallory] = await meetingOf(['alice', 'bob', 'mallory'], { mallory: mallorySink });
    await until(
      () => (bob!.decrypted.get('alice') ?? 0) > 100 && (bob!.decrypted.get('mallory') ?? 0) > 100,
      'media',
    );
    await new Promise((r) => setTimeout(r, 4_000)); // past the checkers' start-up grace
    for (const name of ['alice', 'mallory']) expect(mediaOf(bob!.client, name), name).toBe('receiving');
    for (const name of ['bob', 'mallory']) expect(mediaOf(alice!.client, name), name).toBe('receiving');

    // Mallory's camera now goes out through the SFU as Alice's screen.
    mallorySink.victim = leafOf(mallory!.client, 'alice');
    await until(() => mediaOf(bob!.client, 'alice') === 'unattested', 'Bob flags Alice', 15_000);
    await until(
      () => (bob!.keySink.senderStats().get(leafOf(bob!.client, 'alice'))!.unattested ?? 0) > 20,
      'more',
    );
    expect(mediaOf(bob!.client, 'mallory')).toBe('receiving'); // her own audio is hers, and attested
    expect(bob!.keySink.senderStats().get(leafOf(bob!.client, 'mallory'))!.unattested).toBe(0);
    for (const name of ['bob', 'mallory']) expect(mediaOf(alice!.client, name), name).toBe('receiving');

    // A clip Bob makes of Alice holds what Alice signed, and verifies as hers.
    const made = (await bob!.client.clipEvidence(leafOf(bob!.client, 'alice'), 10))!;
    expect(made).toBeDefined();
    const groups = await Promise.all(
      made.proofs.map((p) =>
        verifyMembershipProof({
          groupContext: fromBase64(p.groupContext),
          ratchetTree: fromBase64(p.ratchetTree),
        }),
      ),
    );
    const v = await verifyClip(made.clip, groups);
    console.log(`clip of alice: ${v.detail}, ${v.frames} frames over ${v.durationMs} ms`);
    expect(v).toMatchObject({ ok: true, leafIndex: leafOf(bob!.client, 'alice') });
    expect(v.sender?.identity.displayName).toBe('alice');
    expect(v.frames).toBeGreaterThan(300);
    expect(v.durationMs).toBeGreaterThan(8_000);
    // the decrypted frames are Alice's own synthetic frames
    expect(
      new TextDecoder().decode(v.decrypted.find((f) => f.codec === 'opus')!.frame.subarray(1, 20)),
    ).toContain('CONCLAVE-BOT|alice|');
    const tampered = structuredClone(made.clip);
    const data = fromBase64(tampered.frames[3]!.data);
    data[data.length - 5]! ^= 0x01;
    tampered.frames[3]!.data = toBase64(data);
    const w = await verifyClip(tampered, groups);
    expect(w.ok).toBe(false);
    expect(w.detail).toMatch(/does not decrypt/);
  });

  it('with the meeting setting off: no attestation, no clip, no flag', async () => {
    const mallorySink = new ImpersonatingKeySink();
    const [, bob, mallory] = await meetingOf(['alice', 'bob', 'mallory'], { mallory: mallorySink }, false);
    expect(bob!.client.meeting?.settings.attestation).toBe(false);
    mallorySink.victim = leafOf(mallory!.client, 'alice');
    await until(() => (bob!.decrypted.get('alice') ?? 0) > 100, 'media');
    await new Promise((r) => setTimeout(r, 6_000));
    expect(mediaOf(bob!.client, 'alice')).toBe('receiving');
    expect(await bob!.client.clipEvidence(leafOf(bob!.client, 'alice'), 10)).toBeUndefined();
  });
});
