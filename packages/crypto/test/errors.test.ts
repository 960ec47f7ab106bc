import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  CryptoError,
  MlsMessageError,
  RolesError,
  SFrameError,
  VectorFileError,
  decodeIdentity,
  decodeMls,
  readRoles,
  runSFrameVectors,
  ROLES_EXTENSION_TYPE,
} from '../src/index.js';

describe('CryptoError', () => {
  it('is the one base of the SFrame and vector-file errors, each with its code', async () => {
    const sframe = new SFrameError('replay', 'counter seen');
    expect(sframe).toBeInstanceOf(CryptoError);
    expect(sframe).toMatchObject({ name: 'SFrameError', code: 'replay', message: 'counter seen' });
    await expect(runSFrameVectors('not json')).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof VectorFileError && e instanceof CryptoError && e.code === 'bad_vector_file',
    );
  });

  it('is the base of the MLS layer’s errors too, as they are thrown', () => {
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const credential = thrown(() =>
      decodeIdentity({ credentialType: 'basic', identity: new TextEncoder().encode('{"v":2}') }),
    );
    expect(credential).toBeInstanceOf(CredentialError);
    expect(credential).toBeInstanceOf(CryptoError);
    expect(credential).toMatchObject({ code: 'bad_credential', name: 'CredentialError' });
    const roles = thrown(() =>
      readRoles([{ extensionType: ROLES_EXTENSION_TYPE, extensionData: new Uint8Array([0xff]) }]),
    );
    expect(roles).toBeInstanceOf(RolesError);
    expect(roles).toBeInstanceOf(CryptoError);
    expect(roles).toMatchObject({ code: 'bad_roles' });
    const mls = thrown(() => decodeMls(new Uint8Array([1, 2, 3])));
    expect(mls).toBeInstanceOf(MlsMessageError);
    expect(mls).toBeInstanceOf(CryptoError);
    expect(mls).toMatchObject({ code: 'malformed_mls_message' });
  });
});
