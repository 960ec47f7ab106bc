import type { WebSocket } from 'ws';
import type { ConnectionInfo } from './meeting/deps.js';

/**
 * Takes every signaling WebSocket (`/ws`). The server owns the socket's transport (size limit,
 * shutdown); the hub owns everything said on it. `info.ip` is the client address (after
 * `trustProxy`); limits reduce it to its network themselves (`networkKeyForIp`).
 */
export interface SignalingHub {
  handleConnection(socket: WebSocket, info: ConnectionInfo): void;
  /** Stops timers and says goodbye to participants; the server closes the sockets after it. */
  close(): Promise<void>;
}
