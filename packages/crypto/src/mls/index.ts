export * from './credential.js';
export * from './auth-service.js';
export * from './device.js';
export * from './session.js';
export * from './security-code.js';
export * from './external-sender.js';
export * from './messages.js';
export { DEFAULT_MLS_SUITE, mlsSuite } from './suite.js';
export * from './key-package.js';
