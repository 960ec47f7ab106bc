import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { MAX_SIGNALING_BYTES } from '@conclave/protocol';
import proxyAddr from 'proxy-addr';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from './logger.js';

export const SIGNALING_PATH = '/ws';

export interface WebSocketEndpointOptions {
  server: Server;
  logger: Logger;
  /** Same meaning as the config's `trustProxy`: whose `x-forwarded-for` to believe. */
  trustProxy: boolean | string[];
  /**
   * The configured public URL (`undefined`: none configured). Browser upgrades must come from
   * its origin; without one, from the origin the request addresses (its Host header).
   */
  publicUrl: string | undefined;
  /** `cookieHeader`: the upgrade request's Cookie header (the session of a signed-in browser). */
  onConnection: (socket: WebSocket, info: { ip: string; cookieHeader: string | undefined }) => void;
}

export interface WebSocketEndpoint {
  /** Refuses new upgrades, closes every open socket (1001 going away) and the ws server. */
  close(): Promise<void>;
}

/**
 * Accepts WebSocket upgrades on `/ws` (frames up to MAX_SIGNALING_BYTES; `ws` closes a socket
 * with 1009 on a larger one) and refuses every other upgrade with 404. Compression stays off:
 * it costs memory per socket and mixes attacker-chosen data with secrets-bearing frames.
 */
export function attachWebSocketEndpoint(options: WebSocketEndpointOptions): WebSocketEndpoint {
  const { server, logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_SIGNALING_BYTES,
    perMessageDeflate: false,
  });
  const trust = trustFunction(options.trustProxy);
  let closing = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err }, 'upgrade socket error'));
    const path = (req.url ?? '').split('?')[0];
    if (closing || path !== SIGNALING_PATH) {
      const status = closing ? '503 Service Unavailable' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const ip = proxyAddr(req, trust);
    const refusal = originRefusal(req.headers.origin, req.headers.host, options.publicUrl);
    if (refusal) {
      logger.info({ ip, origin: req.headers.origin }, 'refused a signaling upgrade from another origin');
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(refusal)}\r\n\r\n${refusal}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A socket error (e.g. a frame above maxPayload) must never become an uncaught
      // exception, whatever listeners the hub adds; ws closes the socket itself.
      ws.on('error', (err) => logger.debug({ err, ip }, 'signaling socket error'));
      try {
        options.onConnection(ws, { ip, cookieHeader: req.headers.cookie });
      } catch (err) {
        logger.error({ err }, 'signaling hub failed to take a connection');
        ws.close(1011, 'internal error');
      }
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    async close() {
      closing = true;
      server.off('upgrade', onUpgrade);
      const open = [...wss.clients];
      for (const ws of open) ws.close(1001, 'server shutting down');
      // Sockets that do not finish the closing handshake within a second are cut.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(
          open.map(
            (ws) =>
              new Promise((resolve) =>
                ws.readyState === ws.CLOSED ? resolve(null) : ws.once('close', resolve),
              ),
          ),
        ),
        new Promise((resolve) => (timer = setTimeout(resolve, 1000))),
      ]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * Why an upgrade's `Origin` is refused, or undefined when it is accepted. Browsers always send
 * `Origin` on WebSocket requests, with the page's cookies: a page of another origin (another
 * port or a sibling host of the same site, where SameSite=Lax cookies still go) must not open a
 * socket signed in as the visitor. Without `Origin` the client is not a browser page (bots, the
 * Node SDK), which carries no ambient cookies of a victim: accepted.
 */
export function originRefusal(
  origin: string | undefined,
  host: string | undefined,
  publicUrl: string | undefined,
): string | undefined {
  if (origin === undefined) return undefined;
  let expected: string | undefined;
  if (publicUrl !== undefined) {
    expected = new URL(publicUrl).origin;
    if (origin === expected) return undefined;
  } else if (host !== undefined) {
    // No public URL configured: the page must come from the address the browser used for us.
    for (const scheme of ['http', 'https']) {
      try {
        if (new URL(`${scheme}://${host}`).origin === origin) return undefined;
      } catch {
        break;
      }
    }
  }
  return `signaling connections are accepted only from ${expected ?? 'this server\u2019s own pages'}`;
}

function trustFunction(trustProxy: boolean | string[]): (addr: string, i: number) => boolean {
  if (trustProxy === true) return () => true;
  if (trustProxy === false || trustProxy.length === 0) return () => false;
  return proxyAddr.compile(trustProxy);
}
