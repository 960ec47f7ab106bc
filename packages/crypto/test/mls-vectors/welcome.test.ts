// MLS interop vectors: welcome.json. Decrypt the Welcome with init_priv + key_package, check the
// GroupInfo confirmation tag, verify the GroupInfo signature with signer_pub.
import { describe, expect } from 'vitest';
import type { CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js';
import {
  verifyGroupInfoConfirmationTag,
  verifyGroupInfoSignature,
  type GroupInfo,
} from 'ts-mls/groupInfo.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { decodeMlsMessage } from 'ts-mls/message.js';
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js';
import {
  hexToBytes,
  loadSuitesFor,
  loadVectors,
  requireSuite1,
  suiteOf,
  toHex,
  vectorTest,
  type Suite,
} from './helpers.js';

const vectors = loadVectors('welcome.json', {
  cipher_suite: 'number',
  init_priv: 'string',
  signer_pub: 'string',
  key_package: 'string',
  welcome: 'string',
});
const suites = await loadSuitesFor(vectors);

type WelcomeVector = (typeof vectors)[number];

async function openWelcome(v: WelcomeVector, suite: Suite, cs: CiphersuiteImpl): Promise<GroupInfo> {
  const w = decodeMlsMessage(hexToBytes(v.welcome), 0)?.[0];
  if (w?.wireformat !== 'mls_welcome') throw new Error('welcome does not decode as an MLSMessage(Welcome)');
  expect(w.welcome.cipherSuite).toBe(suite.name);

  const kp = decodeMlsMessage(hexToBytes(v.key_package), 0)?.[0];
  if (kp?.wireformat !== 'mls_key_package')
    throw new Error('key_package does not decode as MLSMessage(KeyPackage)');
  expect(kp.keyPackage.cipherSuite).toBe(suite.name);

  const ref = await makeKeyPackageRef(kp.keyPackage, cs.hash);
  expect(
    w.welcome.secrets.some((s) => toHex(s.newMember) === toHex(ref)),
    'no EncryptedGroupSecrets for us',
  ).toBe(true);

  const initPriv = await cs.hpke.importPrivateKey(hexToBytes(v.init_priv));
  const groupSecrets = await decryptGroupSecrets(initPriv, ref, w.welcome, cs.hpke);
  if (groupSecrets === undefined) throw new Error('GroupSecrets do not decode');
  // The vector welcomes carry no PSKs, so psk_secret is the all-zero vector of KDF.Nh bytes.
  expect(groupSecrets.psks).toEqual([]);
  const pskSecret = new Uint8Array(cs.kdf.size);

  const gi = await decryptGroupInfo(w.welcome, groupSecrets.joinerSecret, pskSecret, cs);
  if (gi === undefined) throw new Error('GroupInfo does not decode');
  expect(gi.groupContext.cipherSuite).toBe(suite.name);

  // confirmation_tag == MAC(confirmation_key, confirmed_transcript_hash)
  expect(await verifyGroupInfoConfirmationTag(gi, groupSecrets.joinerSecret, pskSecret, cs)).toBe(true);
  const otherJoiner = Uint8Array.from(groupSecrets.joinerSecret, (b, i) => (i === 0 ? b ^ 1 : b));
  expect(await verifyGroupInfoConfirmationTag(gi, otherJoiner, pskSecret, cs)).toBe(false);
  return gi;
}

describe('MLS test vectors: welcome.json', () => {
  requireSuite1(suites, vectors, ['hpke', 'signature'], 1);

  for (const [i, v] of vectors.entries()) {
    const suite = suiteOf(suites, v.cipher_suite);
    const t = `#${i} suite ${v.cipher_suite} (${suite.name})`;

    vectorTest(`${t}: decrypt welcome, group info confirmation tag`, suite, ['hpke'], async (cs) => {
      await openWelcome(v, suite, cs);
    });

    vectorTest(
      `${t}: group info signature verifies with signer_pub`,
      suite,
      ['hpke', 'signature'],
      async (cs) => {
        const gi = await openWelcome(v, suite, cs);
        expect(await verifyGroupInfoSignature(gi, hexToBytes(v.signer_pub), cs.signature)).toBe(true);
        // A different signer index in the signed GroupInfoTBS must break the signature.
        expect(
          await verifyGroupInfoSignature(
            { ...gi, signer: gi.signer + 1 },
            hexToBytes(v.signer_pub),
            cs.signature,
          ),
        ).toBe(false);
      },
    );
  }
});
