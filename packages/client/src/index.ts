export * from './client.js';
export * from './e2ee-member.js';
export * from './key-sink.js';
export * from './people.js';
export * from './signaling.js';
export { Emitter } from './emitter.js';
export * from './account/index.js';
