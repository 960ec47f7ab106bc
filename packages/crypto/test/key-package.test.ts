import { defaultCapabilities, defaultLifetime, generateKeyPackage } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  encodeMls,
  ExternalSender,
  MlsDevice,
  MlsMessageError,
  MlsSession,
  mlsSuite,
  readKeyPackage,
  type MemberIdentity,
} from '../src/mls/index.js';

const alice: MemberIdentity = { kind: 'guest', deviceId: 'dev-alice', displayName: 'Alice' };
const bob: MemberIdentity = { kind: 'user', userId: 'user-bob', deviceId: 'dev-bob', displayName: 'Bob' };

/** What readKeyPackage did with `bytes`: its answer, or the error it rejected with. */
async function outcome(bytes: Uint8Array): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    await readKeyPackage(bytes);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Asserts a refusal with one of our errors (never a TypeError/RangeError from deep inside). */
async function expectRefused(bytes: Uint8Array, what: string): Promise<MlsMessageError | CredentialError> {
  const r = await outcome(bytes);
  expect(r.ok, `${what} was accepted`).toBe(false);
  const error = (r as { error: unknown }).error;
  expect(
    error instanceof MlsMessageError || error instanceof CredentialError,
    `${what}: ${String(error)}`,
  ).toBe(true);
  return error as MlsMessageError | CredentialError;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const i = Buffer.from(haystack).indexOf(Buffer.from(needle));
  if (i < 0) throw new Error('needle not found');
  return i;
}

function flipped(bytes: Uint8Array, at: number, mask = 0x01): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= mask;
  return copy;
}

/** A deterministic byte stream (xorshift32), so a failure can be replayed. */
function pseudoRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

describe('readKeyPackage', () => {
  it('reads a real key package: its identity and its signature key', async () => {
    const device = await MlsDevice.create(alice);
    const info = await readKeyPackage(await device.createKeyPackage());
    expect(info.identity).toEqual({ v: 1, ...alice });
    expect(Buffer.from(info.signaturePublicKey)).toEqual(Buffer.from(device.signatureKeys.publicKey));

    const account = await MlsDevice.create(bob);
    const bobs = await readKeyPackage(await account.createKeyPackage());
    expect(bobs.identity).toEqual({ v: 1, ...bob });
    // Every key package of one device names the same long-term signature key.
    const again = await readKeyPackage(await account.createKeyPackage());
    expect(Buffer.from(again.signaturePublicKey)).toEqual(Buffer.from(bobs.signaturePublicKey));
    expect(Buffer.from(again.signaturePublicKey)).not.toEqual(Buffer.from(info.signaturePublicKey));
  });

  it('refuses a key package whose signature has a flipped byte', async () => {
    const kp = await (await MlsDevice.create(alice)).createKeyPackage();
    // The key package's signature is the last field of the message (64 bytes of Ed25519).
    for (const back of [1, 2, 32, 64]) {
      const error = await expectRefused(flipped(kp, kp.length - back), `signature byte -${back}`);
      expect(error).toMatchObject({ code: 'unexpected_mls_message' });
      expect(error.message).toMatch(/signature does not verify/);
    }
  });

  it('refuses a key package whose credential was changed (name, device, account)', async () => {
    const kp = await (await MlsDevice.create(bob)).createKeyPackage();
    const text = new TextEncoder();
    for (const [from, to] of [
      ['"displayName":"Bob"', '"displayName":"Bib"'],
      ['"deviceId":"dev-bob"', '"deviceId":"dev-bop"'],
      ['"userId":"user-bob"', '"userId":"user-rob"'],
    ] as const) {
      const at = indexOf(kp, text.encode(from));
      const edited = Uint8Array.from(kp);
      edited.set(text.encode(to), at);
      // Still a well-formed Conclave credential: only the signature catches it.
      const error = await expectRefused(edited, `${from} → ${to}`);
      expect(error).toMatchObject({ code: 'unexpected_mls_message' });
      expect(error.message).toMatch(/signature does not verify/);
    }
  });

  it('refuses a key package that names another device’s signature key', async () => {
    const mallory = await MlsDevice.create({ kind: 'guest', deviceId: 'dev-m', displayName: 'Mallory' });
    const victim = await MlsDevice.create(alice);
    const kp = await mallory.createKeyPackage();
    const at = indexOf(kp, mallory.signatureKeys.publicKey);
    const forged = Uint8Array.from(kp);
    forged.set(victim.signatureKeys.publicKey, at);
    const error = await expectRefused(forged, 'a borrowed signature key');
    expect(error.message).toMatch(/signature does not verify/);
  });

  it('refuses every single flipped bit of a key package, with our errors only', async () => {
    const kp = await (await MlsDevice.create(bob)).createKeyPackage();
    for (let at = 0; at < kp.length; at++) await expectRefused(flipped(kp, at), `bit 0 of byte ${at}`);
    for (let at = 0; at < kp.length; at += 7)
      await expectRefused(flipped(kp, at, 0x80), `bit 7 of byte ${at}`);
  });

  it('refuses a credential that is not a Conclave one (signed, but not ours)', async () => {
    const cs = await mlsSuite();
    const foreign = await generateKeyPackage(
      { credentialType: 'basic', identity: new TextEncoder().encode('alice@example.org') },
      defaultCapabilities(),
      defaultLifetime,
      [],
      cs,
    );
    const bytes = encodeMls({
      version: 'mls10',
      wireformat: 'mls_key_package',
      keyPackage: foreign.publicPackage,
    });
    const error = await expectRefused(bytes, 'a foreign credential');
    expect(error).toBeInstanceOf(CredentialError);
  });

  it('refuses a Welcome, a commit, an application message and an external proposal', async () => {
    const host = await MlsDevice.create(alice);
    const joiner = await MlsDevice.create(bob);
    const server = await ExternalSender.generate();
    const groupId = new TextEncoder().encode('meeting-kp');
    const session = await MlsSession.create(host, {
      groupId,
      externalSender: { signaturePublicKey: server.publicKey },
    });
    const pending = await session.prepareCommit({ add: [await joiner.createKeyPackage()] });
    session.applyCommit(pending);
    const chat = await session.encryptApplication(new TextEncoder().encode('hello'));
    const proposal = await server.proposeRemove(groupId, session.epoch, 1);
    for (const [what, bytes, wireformat] of [
      ['a Welcome', pending.welcome!, 'mls_welcome'],
      ['a commit', pending.commit, 'mls_public_message'],
      ['an application message', chat, 'mls_private_message'],
      ['an external Remove proposal', proposal, 'mls_public_message'],
    ] as const) {
      const error = await expectRefused(bytes, what);
      expect(error).toMatchObject({ code: 'unexpected_mls_message' });
      expect(error.message).toContain(`expected a key package, got ${wireformat}`);
    }
  });

  it('refuses garbage, truncations and trailing bytes with errors, never exceptions', async () => {
    const kp = await (await MlsDevice.create(alice)).createKeyPackage();
    await expectRefused(new Uint8Array(0), 'empty');
    await expectRefused(new Uint8Array(1000), 'zeros');
    await expectRefused(new Uint8Array(1000).fill(0xff), 'ones');
    await expectRefused(new TextEncoder().encode('{"v":1,"kind":"guest"}'), 'JSON');
    const tail = await expectRefused(Uint8Array.from([...kp, 0]), 'a trailing byte');
    expect(tail).toMatchObject({ code: 'malformed_mls_message' });
    for (let n = 0; n < kp.length; n++) await expectRefused(kp.subarray(0, n), `the first ${n} bytes`);
    // The MLSMessage header of a key package, then noise.
    const random = pseudoRandom(0xc0ffee);
    for (let i = 0; i < 300; i++) {
      const body = random(1 + (i % 97) * 5);
      await expectRefused(Uint8Array.from([...kp.subarray(0, 4), ...body]), `header + noise #${i}`);
      await expectRefused(body, `noise #${i}`);
    }
  });
});
