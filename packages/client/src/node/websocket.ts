import { WebSocket } from 'ws';
import type { WebSocketFactory, WebSocketLike } from '../signaling.js';

const MAX_PAYLOAD = 4 * 1024 * 1024;

/** A WebSocket factory for Node (Node 20 has no global WebSocket), built on `ws`. */
export const nodeWebSocket: WebSocketFactory = (url: string) =>
  new WebSocket(url, { maxPayload: MAX_PAYLOAD }) as unknown as WebSocketLike;

/**
 * Like `nodeWebSocket`, sending a Cookie header on the upgrade (read at each connect), as a
 * browser does: the server then knows which account is signed in on the connection.
 */
export function nodeWebSocketWithCookies(cookieHeader: () => string | undefined): WebSocketFactory {
  return (url: string) => {
    const cookie = cookieHeader();
    return new WebSocket(url, {
      maxPayload: MAX_PAYLOAD,
      headers: cookie ? { cookie } : {},
    }) as unknown as WebSocketLike;
  };
}
