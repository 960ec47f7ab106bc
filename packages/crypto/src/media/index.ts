export * from './kid.js';
export * from './media-keys.js';
