import type { Server } from 'node:http';
import type { Accounts } from './accounts/accounts.js';
import type { Logger } from './logger.js';
import { MeetingHub, type MeetingHubDeps } from './meeting/hub.js';
import type { MeetingStore } from './meeting-store/meeting-store.js';
import { attachWebSocketEndpoint } from './ws-endpoint.js';

export interface SignalingOptions {
  /** The HTTP server whose upgrades to `/ws` become signaling connections. */
  server: Server;
  hub: MeetingHubDeps;
  /** Changes made over HTTP (PATCH, end) reach the live meeting from here. */
  meetings: MeetingStore;
  /** Who is signed in on a socket (the upgrade's session cookie). */
  accounts: Accounts;
  trustProxy: boolean | string[];
  publicUrl: string | undefined;
  logger: Logger;
}

/** The signaling part: the meeting hub and the WebSocket endpoint that hands it its sockets. */
export interface Signaling {
  hub: MeetingHub;
  /**
   * The hub first (its rooms stop, so sockets closing now are not participants dropping out),
   * then the sockets (1001) and the endpoint.
   */
  close(): Promise<void>;
}

/**
 * Makes the meeting hub and takes the HTTP server's `/ws` upgrades for it. It comes after the
 * HTTP part: its sockets are upgrades of that server's connections, which the server waits for
 * when it closes, and the hub must close before its sockets do.
 */
export function openSignaling(options: SignalingOptions): Signaling {
  const { accounts } = options;
  const hub = new MeetingHub(options.hub);
  const unsubscribe = options.meetings.onChange((change) => {
    if (change.type === 'ended') void hub.endMeeting(change.meeting.id);
    else hub.meetingUpdated(change.meeting);
  });
  const endpoint = attachWebSocketEndpoint({
    server: options.server,
    logger: options.logger,
    trustProxy: options.trustProxy,
    publicUrl: options.publicUrl,
    onConnection: (socket, info) =>
      hub.handleConnection(socket, {
        ip: info.ip,
        sessionUserId: () => accounts.userIdForCookieHeader(info.cookieHeader),
      }),
  });
  return {
    hub,
    async close() {
      unsubscribe();
      try {
        await hub.close();
      } finally {
        await endpoint.close();
      }
    },
  };
}
