// MLS interop vectors: secret-tree.json. Sender-data key/nonce, and for every leaf the handshake and
// application ratchet keys/nonces at the listed generations.
//
// Needs the suite's AEAD key/nonce sizes, which ts-mls takes from its HPKE/AEAD object, hence 'hpke'.
import { describe, expect } from 'vitest';
import { defaultKeyRetentionConfig } from 'ts-mls/keyRetentionConfig.js';
import {
  createSecretTree,
  deriveKey,
  deriveNonce,
  ratchetUntil,
  type GenerationSecret,
} from 'ts-mls/secretTree.js';
import { expandSenderDataKey, expandSenderDataNonce } from 'ts-mls/sender.js';
import { leafToNodeIndex, toLeafIndex } from 'ts-mls/treemath.js';
import {
  hexToBytes,
  loadSuitesFor,
  loadVectors,
  requireSuite1,
  suiteOf,
  toHex,
  vectorTest,
} from './helpers.js';

const vectors = loadVectors('secret-tree.json', {
  cipher_suite: 'number',
  sender_data: { sender_data_secret: 'string', ciphertext: 'string', key: 'string', nonce: 'string' },
  encryption_secret: 'string',
  leaves: [
    [
      {
        generation: 'number',
        handshake_key: 'string',
        handshake_nonce: 'string',
        application_key: 'string',
        application_nonce: 'string',
      },
    ],
  ],
});
const suites = await loadSuitesFor(vectors);

describe('MLS test vectors: secret-tree.json', () => {
  requireSuite1(suites, vectors, ['hpke'], 1);

  for (const [i, v] of vectors.entries()) {
    const suite = suiteOf(suites, v.cipher_suite);
    const t = `#${i} suite ${v.cipher_suite} (${suite.name}), ${v.leaves.length} leaves`;

    vectorTest(`${t}: sender_data key/nonce`, suite, ['hpke'], async (cs) => {
      const { sender_data_secret, ciphertext, key, nonce } = v.sender_data;
      const secret = hexToBytes(sender_data_secret);
      expect(toHex(await expandSenderDataKey(cs, secret, hexToBytes(ciphertext)))).toBe(key);
      expect(toHex(await expandSenderDataNonce(cs, secret, hexToBytes(ciphertext)))).toBe(nonce);
    });

    vectorTest(`${t}: handshake/application ratchets`, suite, ['hpke'], async (cs) => {
      const tree = await createSecretTree(v.leaves.length, hexToBytes(v.encryption_secret), cs.kdf);
      let checked = 0;
      for (const [leaf, generations] of v.leaves.entries()) {
        const node = tree[leafToNodeIndex(toLeafIndex(leaf))];
        if (node === undefined) throw new Error(`secret tree has no node for leaf ${leaf}`);
        const ratchets: [string, GenerationSecret][] = [
          ['handshake', node.handshake],
          ['application', node.application],
        ];
        for (const [kind, start] of ratchets) {
          // Every generation is ratcheted forward from the leaf's initial (generation 0) secret.
          expect(start.generation).toBe(0);
          for (const g of generations) {
            const at = `leaf ${leaf} ${kind} generation ${g.generation}`;
            const [ratcheted] = await ratchetUntil(start, g.generation, defaultKeyRetentionConfig, cs.kdf);
            expect(ratcheted.generation, at).toBe(g.generation);
            const key = await deriveKey(ratcheted.secret, ratcheted.generation, cs);
            const nonce = await deriveNonce(ratcheted.secret, ratcheted.generation, cs);
            expect(toHex(key), `${at} key`).toBe(kind === 'handshake' ? g.handshake_key : g.application_key);
            expect(toHex(nonce), `${at} nonce`).toBe(
              kind === 'handshake' ? g.handshake_nonce : g.application_nonce,
            );
            checked++;
          }
        }
      }
      expect(checked, 'no generations in vector').toBeGreaterThan(0);
    });
  }
});
