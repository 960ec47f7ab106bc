import { describe, expect, it } from 'vitest';
import {
  encodeModerationKeyFile,
  generateModerationKeyPair,
  moderationKeyId,
  openEvidence,
  parseModerationKeyFile,
  sealEvidence,
} from '../src/evidence/index.js';

const text = new TextEncoder();
const aad = text.encode('report-1');

describe('the evidence box (HPKE to the moderators’ key)', () => {
  it('seals to the public key and opens only with its private key and the same aad', async () => {
    const keys = await generateModerationKeyPair();
    expect(keys.publicKey).toHaveLength(32);
    expect(keys.privateKey).toHaveLength(32);
    const plaintext = text.encode(JSON.stringify({ chat: ['you will regret this'] }));
    const box = await sealEvidence(keys.publicKey, plaintext, aad);
    expect(box[0]).toBe(1);
    // version + enc + ciphertext + 16-byte tag
    expect(box).toHaveLength(1 + 32 + plaintext.length + 16);
    expect(Buffer.from(box).includes(Buffer.from('regret'))).toBe(false);
    expect(await openEvidence(keys.privateKey, box, aad)).toEqual(plaintext);

    // two seals of the same evidence differ (a fresh ephemeral key each time)
    const again = await sealEvidence(keys.publicKey, plaintext, aad);
    expect(Buffer.from(again).equals(Buffer.from(box))).toBe(false);

    const other = await generateModerationKeyPair();
    await expect(openEvidence(other.privateKey, box, aad)).rejects.toMatchObject({ code: 'wrong_key' });
    await expect(openEvidence(keys.privateKey, box, text.encode('report-2'))).rejects.toMatchObject({
      code: 'wrong_key',
    });
    const altered = box.slice();
    altered[40]! ^= 1;
    await expect(openEvidence(keys.privateKey, altered, aad)).rejects.toMatchObject({ code: 'wrong_key' });
    await expect(openEvidence(keys.privateKey, box.subarray(0, 20), aad)).rejects.toMatchObject({
      code: 'bad_box',
    });
    const version2 = box.slice();
    version2[0] = 2;
    await expect(openEvidence(keys.privateKey, version2, aad)).rejects.toMatchObject({ code: 'bad_box' });
    await expect(sealEvidence(new Uint8Array(31), plaintext, aad)).rejects.toMatchObject({ code: 'bad_key' });
  });

  it('the key file round-trips, names its key by fingerprint, and refuses what is not one', async () => {
    const keys = await generateModerationKeyPair();
    const file = encodeModerationKeyFile(keys, '2026-12-01T00:00:00.000Z');
    const parsed = parseModerationKeyFile(file);
    expect(parsed.keyId).toBe(moderationKeyId(keys.publicKey));
    expect(parsed.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(parsed.publicKey).toEqual(keys.publicKey);
    expect(parsed.privateKey).toEqual(keys.privateKey);
    expect(parsed.createdAt).toBe('2026-12-01T00:00:00.000Z');
    const box = await sealEvidence(keys.publicKey, text.encode('x'), aad);
    expect(await openEvidence(parsed.privateKey, box, aad)).toEqual(text.encode('x'));

    const json = JSON.parse(file) as Record<string, unknown>;
    const bad = (o: Record<string, unknown>) => () => parseModerationKeyFile(JSON.stringify(o));
    expect(() => parseModerationKeyFile('not json')).toThrow(/not JSON/);
    expect(bad({ ...json, kind: 'other' })).toThrow(/kind/);
    expect(bad({ ...json, privateKey: 'AAAA' })).toThrow(/32 bytes/);
    const other = await generateModerationKeyPair();
    expect(bad({ ...json, publicKey: Buffer.from(other.publicKey).toString('base64') })).toThrow(/keyId/);
  });
});
