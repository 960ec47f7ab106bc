import { WebSocket } from 'ws';
import type { WebSocketFactory, WebSocketLike } from '../signaling.js';

/** A WebSocket factory for Node (Node 20 has no global WebSocket), built on `ws`. */
export const nodeWebSocket: WebSocketFactory = (url: string) =>
  new WebSocket(url, { maxPayload: 4 * 1024 * 1024 }) as unknown as WebSocketLike;
