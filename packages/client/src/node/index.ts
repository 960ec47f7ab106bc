export { nodeWebSocket } from './websocket.js';
export * from './bot.js';
