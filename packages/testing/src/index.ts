export * from './chromium.js';
export * from './static-server.js';
export * from './bundle.js';
export * from './wait.js';
export * from './self-signed.js';
export * from './forged-sdp.js';
