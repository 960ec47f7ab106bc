/**
 * `@conclave/client/browser`: the SDK's media side in a browser — the E2EE worker and its key
 * sink (`BrowserE2ee`) and the two peer connections with the SFU (`BrowserMediaTransport`).
 * Pass a `BrowserE2ee` as the client's `keySink` and a factory of `BrowserMediaTransport`s as
 * its `media` option. Needs the DOM (and a bundler that builds `new URL('./e2ee-worker.ts',
 * import.meta.url)` as a module worker, as Vite does).
 */
export { BrowserE2ee, detectE2eeApi, e2eeUnsupportedReason } from './browser-e2ee.js';
export type { E2eeApi, ReceiverSender } from './browser-e2ee.js';
export { BrowserMediaTransport, withStartBitrate } from './browser-transport.js';
export type { BrowserMediaTransportOptions, LocalTracks, RemoteTrack } from './browser-transport.js';
export type { WorkerStats } from './worker-protocol.js';
