import {
  defaultCapabilities,
  defaultLifetime,
  generateKeyPackageWithKey,
  makeKeyPackageRef,
  type CiphersuiteName,
  type KeyPackage,
  type PrivateKeyPackage,
} from './ts-mls.js';
import { ROLES_EXTENSION_TYPE } from './roles.js';
import { encodeIdentity, type MemberIdentity } from './credential.js';
import { encodeMls } from './messages.js';
import { DEFAULT_MLS_SUITE, mlsSuite } from './suite.js';
import { toHex } from '../util/bytes.js';

export interface SignatureKeyPair {
  /** Ed25519 private key as ts-mls takes it (PKCS#8 or raw 32 bytes). Never leaves the device. */
  signKey: Uint8Array;
  publicKey: Uint8Array;
}

interface StoredKeyPackage {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
}

/**
 * One participant device: its long-term signature key pair, its identity and the key packages
 * it handed out and still holds private keys for.
 *
 * Browser note: ts-mls signs with raw key bytes, so the signature key cannot be a
 * non-extractable WebCrypto key; the web app keeps it in IndexedDB and never sends it anywhere.
 */
export class MlsDevice {
  private readonly keyPackages = new Map<string, StoredKeyPackage>();

  private constructor(
    readonly identity: MemberIdentity,
    readonly signatureKeys: SignatureKeyPair,
    readonly suiteName: CiphersuiteName,
  ) {}

  static async create(
    identity: MemberIdentity,
    opts: { suite?: CiphersuiteName; signatureKeys?: SignatureKeyPair } = {},
  ): Promise<MlsDevice> {
    const suiteName = opts.suite ?? DEFAULT_MLS_SUITE;
    const cs = await mlsSuite(suiteName);
    const keys = opts.signatureKeys ?? (await cs.signature.keygen());
    return new MlsDevice(identity, { signKey: keys.signKey, publicKey: keys.publicKey }, suiteName);
  }

  /** A fresh single-use key package, encoded as an MLSMessage for the wire. */
  async createKeyPackage(): Promise<Uint8Array> {
    const cs = await mlsSuite(this.suiteName);
    const kp = await generateKeyPackageWithKey(
      encodeIdentity(this.identity),
      // The group context carries Conclave's roles extension: every leaf must list it.
      { ...defaultCapabilities(), extensions: [ROLES_EXTENSION_TYPE] },
      defaultLifetime,
      [],
      this.signatureKeys,
      cs,
    );
    const ref = await makeKeyPackageRef(kp.publicPackage, cs.hash);
    this.keyPackages.set(toHex(ref), kp);
    return encodeMls({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
  }

  /** The stored key package a Welcome refers to, removed from the store (key packages are single-use). */
  takeKeyPackage(refHex: string): StoredKeyPackage | undefined {
    const kp = this.keyPackages.get(refHex);
    if (kp) this.keyPackages.delete(refHex);
    return kp;
  }

  hasKeyPackage(refHex: string): boolean {
    return this.keyPackages.has(refHex);
  }
}
