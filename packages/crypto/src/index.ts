export { CryptoError } from './errors.js';
export * from './sframe/index.js';
export * from './mls/index.js';
export * from './util/bytes.js';
export * from './media/index.js';
export * from './evidence/index.js';
