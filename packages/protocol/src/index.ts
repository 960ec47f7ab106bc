export * from './errors.js';
export * from './signaling.js';
export * from './http.js';
export * from './accounts.js';
export * from './parse.js';
export * from './reports.js';
