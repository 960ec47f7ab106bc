import { describe, expect, it } from 'vitest';
import { CryptoError, SFrameError, VectorFileError, runSFrameVectors } from '../src/index.js';

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
});
