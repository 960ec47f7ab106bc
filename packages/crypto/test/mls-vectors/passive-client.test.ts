// MLS interop vectors: passive-client-handling-commit.json. A passive member joins from the Welcome
// (with the out-of-band ratchet_tree when given, otherwise from the GroupInfo's ratchet_tree extension),
// then processes each epoch's proposals and commit; the epoch_authenticator must match after the join
// and after every commit. External PSKs from the vector are made available through ts-mls's PSK index.
//
// Entries are only skipped when their cipher suite lacks an installed optional dependency (see
// helpers.ts); there is no other exclusion. An entry that ts-mls cannot process fails.
import { describe, expect } from 'vitest';
import {
  bytesToBase64,
  decodeMlsMessage,
  joinGroup,
  makePskIndex,
  processPrivateMessage,
  processPublicMessage,
  type ClientState,
  type PrivateKeyPackage,
} from 'ts-mls';
import type { CiphersuiteImpl } from 'ts-mls/crypto/ciphersuite.js';
import { decodeRatchetTree, type RatchetTree } from 'ts-mls/ratchetTree.js';
import {
  hexToBytes,
  loadSuitesFor,
  loadVectors,
  requireSuite1,
  suiteOf,
  toHex,
  vectorTest,
} from './helpers.js';

const vectors = loadVectors('passive-client-handling-commit.json', {
  cipher_suite: 'number',
  external_psks: [{ psk_id: 'string', psk: 'string' }],
  key_package: 'string',
  signature_priv: 'string',
  encryption_priv: 'string',
  init_priv: 'string',
  welcome: 'string',
  ratchet_tree: 'string|null',
  initial_epoch_authenticator: 'string',
  epochs: [{ proposals: ['string'], commit: 'string', epoch_authenticator: 'string' }],
});
const suites = await loadSuitesFor(vectors);

type PassiveVector = (typeof vectors)[number];

/** Decodes an MLSMessage carrying a PublicMessage or PrivateMessage and hands it to the passive client. */
async function processHandshake(
  state: ClientState,
  hex: string,
  psks: Record<string, Uint8Array>,
  cs: CiphersuiteImpl,
  what: string,
): Promise<ClientState> {
  const msg = decodeMlsMessage(hexToBytes(hex), 0)?.[0];
  if (msg?.wireformat === 'mls_public_message') {
    const res = await processPublicMessage(state, msg.publicMessage, makePskIndex(state, psks), cs);
    expect(res.actionTaken, `${what} accepted`).toBe('accept');
    return res.newState;
  }
  if (msg?.wireformat === 'mls_private_message') {
    const res = await processPrivateMessage(state, msg.privateMessage, makePskIndex(state, psks), cs);
    if (res.kind !== 'newState') throw new Error(`${what}: decrypted to an application message`);
    expect(res.actionTaken, `${what} accepted`).toBe('accept');
    return res.newState;
  }
  throw new Error(`${what}: not an MLSMessage with a PublicMessage/PrivateMessage (got ${msg?.wireformat})`);
}

async function runPassiveClient(v: PassiveVector, cs: CiphersuiteImpl): Promise<void> {
  const kp = decodeMlsMessage(hexToBytes(v.key_package), 0)?.[0];
  if (kp?.wireformat !== 'mls_key_package')
    throw new Error('key_package does not decode as MLSMessage(KeyPackage)');
  const welcome = decodeMlsMessage(hexToBytes(v.welcome), 0)?.[0];
  if (welcome?.wireformat !== 'mls_welcome')
    throw new Error('welcome does not decode as MLSMessage(Welcome)');

  let tree: RatchetTree | undefined;
  if (v.ratchet_tree !== null) {
    tree = decodeRatchetTree(hexToBytes(v.ratchet_tree), 0)?.[0];
    if (tree === undefined) throw new Error('ratchet_tree does not decode');
  }

  // PSK index keys external PSKs by base64(psk_id) (ts-mls makePskIndex).
  const psks: Record<string, Uint8Array> = {};
  for (const { psk_id, psk } of v.external_psks) psks[bytesToBase64(hexToBytes(psk_id))] = hexToBytes(psk);

  const privateKeys: PrivateKeyPackage = {
    initPrivateKey: hexToBytes(v.init_priv),
    hpkePrivateKey: hexToBytes(v.encryption_priv),
    signaturePrivateKey: hexToBytes(v.signature_priv),
  };
  let state = await joinGroup(
    welcome.welcome,
    kp.keyPackage,
    privateKeys,
    makePskIndex(undefined, psks),
    cs,
    tree,
  );
  expect(toHex(state.keySchedule.epochAuthenticator), 'initial_epoch_authenticator').toBe(
    v.initial_epoch_authenticator,
  );

  for (const [n, epoch] of v.epochs.entries()) {
    const startEpoch = state.groupContext.epoch;
    for (const [p, proposal] of epoch.proposals.entries()) {
      state = await processHandshake(state, proposal, psks, cs, `epochs[${n}].proposals[${p}]`);
      expect(state.groupContext.epoch, 'a proposal must not change the epoch').toBe(startEpoch);
    }
    state = await processHandshake(state, epoch.commit, psks, cs, `epochs[${n}].commit`);
    expect(state.groupContext.epoch).toBe(startEpoch + 1n);
    expect(toHex(state.keySchedule.epochAuthenticator), `epochs[${n}].epoch_authenticator`).toBe(
      epoch.epoch_authenticator,
    );
  }
}

describe('MLS test vectors: passive-client-handling-commit.json', () => {
  requireSuite1(suites, vectors, ['hpke', 'signature'], 1);

  for (const [i, v] of vectors.entries()) {
    const suite = suiteOf(suites, v.cipher_suite);
    const features = [
      v.ratchet_tree === null ? 'tree from GroupInfo' : 'tree out of band',
      `${v.external_psks.length} external PSKs`,
      `${v.epochs.length} epochs`,
      `${v.epochs.reduce((k, e) => k + e.proposals.length, 0)} proposals`,
    ].join(', ');
    vectorTest(
      `#${i} suite ${v.cipher_suite} (${suite.name}): ${features}`,
      suite,
      ['hpke', 'signature'],
      (cs) => runPassiveClient(v, cs),
    );
  }
});
