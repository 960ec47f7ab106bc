import { verifyKeyPackage } from './ts-mls.js';
import { decodeIdentity, type CredentialIdentity } from './credential.js';
import { decodeMls, MlsMessageError } from './messages.js';
import { mlsSuite } from './suite.js';

/** What a key package says about its holder, after its signature was checked. */
export interface KeyPackageInfo {
  identity: CredentialIdentity;
  /** The holder's long-term MLS signature key (the same in every key package of one device). */
  signaturePublicKey: Uint8Array;
}

/**
 * Reads an encoded key package (an MLSMessage of wire format `mls_key_package`) and checks its
 * signature with the signature key it names, so the credential and the signature key are bound:
 * nobody can present another device's signature key without its private key. Throws
 * `MlsMessageError` for anything that does not decode, is not a key package or does not verify,
 * and `CredentialError` for a credential that is not a Conclave one. Public data only: the
 * delivery service runs this on joins.
 */
export async function readKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const msg = decodeMls(bytes);
  if (msg.wireformat !== 'mls_key_package')
    throw new MlsMessageError('unexpected_mls_message', `expected a key package, got ${msg.wireformat}`);
  const kp = msg.keyPackage;
  let suite;
  try {
    suite = await mlsSuite(kp.cipherSuite);
  } catch {
    throw new MlsMessageError('unexpected_mls_message', `unsupported cipher suite ${String(kp.cipherSuite)}`);
  }
  const valid = await verifyKeyPackage(kp, suite.signature).catch(() => false);
  if (!valid)
    throw new MlsMessageError('unexpected_mls_message', 'the key package signature does not verify');
  return {
    identity: decodeIdentity(kp.leafNode.credential),
    signaturePublicKey: kp.leafNode.signaturePublicKey,
  };
}
