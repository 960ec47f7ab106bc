export { nodeWebSocket } from './websocket.js';
