export { nodeWebSocket, nodeWebSocketWithCookies } from './websocket.js';
export { accountClientOptions } from './account.js';
export * from './bot.js';
export { RecordingKeySink } from './recording-key-sink.js';
export { ImpersonatingKeySink } from './impersonating-key-sink.js';
