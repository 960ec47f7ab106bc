export * from './account-api.js';
export { CookieJar } from './cookie-jar.js';
export * from './key-directory.js';
export { createTokenRequest, importVerificationKey, type TokenRequest } from './verification-token.js';
