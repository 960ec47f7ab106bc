// ts-mls's state is immutable and every operation on it awaits (hashing, AEAD, signatures), so
// MlsSession replaces its state after each await. Sending while receiving (frame attestations go
// out every second while the others' arrive) must not lose either update: a lost sender-ratchet
// step reuses a generation (its key and nonce), a lost receiver step breaks later decryption.
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../src/util/bytes.js';
import { MlsDevice, MlsSession, type MemberIdentity } from '../src/mls/index.js';

const guest = (name: string): MemberIdentity => ({
  kind: 'guest',
  deviceId: `dev-${name}`,
  displayName: name,
});
const enc = new TextEncoder();

describe('MLS session under concurrent use', () => {
  it('encrypting and decrypting at once: every message decrypts once, no generation is reused', async () => {
    const devices = await Promise.all(['a', 'b', 'c'].map((n) => MlsDevice.create(guest(n))));
    const a = await MlsSession.create(devices[0]!, {
      groupId: enc.encode('concurrency'),
      roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
    });
    const p = await a.prepareCommit({
      add: await Promise.all(devices.slice(1).map((d) => d.createKeyPackage())),
    });
    a.applyCommit(p);
    const [b, c] = await Promise.all(devices.slice(1).map((d) => MlsSession.join(d, p.welcome!)));
    // c's messages to a, made in order beforehand
    const fromC: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) fromC.push(await c!.encryptApplication(enc.encode(`c${i}`)));
    // a sends 20 messages while it decrypts c's 20, all started at once
    const sent = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => a.encryptApplication(enc.encode(`a${i}`))),
      ...fromC.map((m) => a.decryptApplication(m).then(() => undefined)),
    ]);
    const mine = sent.filter((x): x is Uint8Array => x instanceof Uint8Array);
    expect(mine).toHaveLength(20);
    const texts = [];
    for (const m of mine) texts.push(new TextDecoder().decode((await b!.decryptApplication(m)).data));
    expect(new Set(texts).size).toBe(20);
    // a's receiver state kept every step: c's next message still decrypts
    const next = await c!.encryptApplication(enc.encode('c-next'));
    expect(new TextDecoder().decode((await a.decryptApplication(next)).data)).toBe('c-next');
  });

  it('a commit applied while a message is being encrypted is not undone', async () => {
    const devices = await Promise.all(['a', 'b'].map((n) => MlsDevice.create(guest(n))));
    const a = await MlsSession.create(devices[0]!, {
      groupId: enc.encode('concurrency-2'),
      roles: { hosts: [toBase64(devices[0]!.signatureKeys.publicKey)], cohosts: [] },
    });
    const p = await a.prepareCommit({ add: [await devices[1]!.createKeyPackage()] });
    a.applyCommit(p);
    const b = await MlsSession.join(devices[1]!, p.welcome!);
    const rekey = await a.prepareCommit();
    const sending = a.encryptApplication(enc.encode('in flight'));
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the encryption is under way
    a.applyCommit(rekey); // the server accepted our commit while the message was being made
    const message = await sending;
    expect(a.epoch).toBe(rekey.epoch);
    await b.processHandshake(rekey.commit);
    expect(new TextDecoder().decode((await b.decryptApplication(message)).data)).toBe('in flight');
    const after = await a.encryptApplication(enc.encode('new epoch'));
    expect((await b.decryptApplication(after)).epoch).toBe(rekey.epoch);
  });
});
