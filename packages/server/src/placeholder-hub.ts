import { PROTOCOL_VERSION, type ServerMessage } from '@conclave/protocol';
import type { WebSocket } from 'ws';
import type { SignalingHub } from './signaling-hub.js';

/**
 * Stands in for the signaling hub until it is wired: answers every message with an
 * `internal_error`, so a client learns at once that signaling is unavailable.
 */
export class PlaceholderHub implements SignalingHub {
  private readonly sockets = new Set<WebSocket>();

  handleConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => this.sockets.delete(socket));
    socket.on('message', () => {
      const reply: ServerMessage = {
        v: PROTOCOL_VERSION,
        type: 'error',
        code: 'internal_error',
        message: 'signaling not available',
      };
      socket.send(JSON.stringify(reply));
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.close(1001, 'server shutting down');
    this.sockets.clear();
  }
}
