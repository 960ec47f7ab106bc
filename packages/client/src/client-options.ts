import type { KeyDirectoryHook, MlsDevice } from '@conclave/crypto';
import type { Joiner } from '@conclave/protocol';
import type { GroupHealth } from './e2ee-member.js';
import type { MediaKeySink } from './key-sink.js';
import type { MediaTransport } from './media-transport.js';
import type { WebSocketFactory } from './signaling.js';

export type ClientState =
  | 'idle'
  | 'connecting'
  | 'waiting'
  | 'joined'
  | 'reconnecting'
  | 'lost'
  | 'denied'
  | 'removed'
  | 'ended'
  | 'left';

export interface E2eeState {
  enabled: boolean;
  /**
   * The encryptor (the key sink: this process's MediaKeys, or the browser's E2EE worker)
   * confirmed it protects media with the group's current epoch key, and this client vouches
   * for the group: false while a departed participant's leaf is still in it or this client is
   * out of sync.
   */
  active: boolean;
  epoch: bigint | undefined;
  securityCode: string | undefined;
  /** Changes only when members are added or removed: compare it aloud to find a ghost. */
  membershipCode: string | undefined;
  health: GroupHealth;
}

export interface ClientOptions {
  /** http(s)://host:port of the Conclave server. */
  serverUrl: string;
  meetingId: string;
  displayName: string;
  deviceId?: string;
  userId?: string;
  passcode?: string;
  hostSecret?: string;
  /** WebSocket constructor; the browser's by default (Node: pass one built on `ws`). */
  webSocket?: WebSocketFactory;
  /** Creates the media transport for each (re)join; without it the client does signaling and MLS only. */
  media?: () => MediaTransport;
  device?: MlsDevice;
  /**
   * Where the epoch keys go: the one component that encrypts and decrypts media. Default: an
   * in-process `LocalKeySink`; browsers pass `BrowserE2ee` from `@conclave/client/browser`
   * (the E2EE worker). Tests that need the raw keys pass a sink of their own.
   */
  keySink?: MediaKeySink;
  directory?: KeyDirectoryHook;
  /** When this client holds the keys: decides per announced joiner whether to commit its Add (default: yes). */
  admitJoiner?: (joiner: Joiner) => boolean;
  /**
   * How long a media connection may take to come up after its answer before the SDK tells the
   * server it is stuck (`media_failed`: a new media session). Default 15 s; 0 turns it off.
   */
  mediaConnectTimeoutMs?: number;
  /** Automatic reconnect (rejoins the meeting and its MLS group). Default: 10 attempts, 500 ms apart. */
  reconnect?: { attempts: number; delayMs: number } | false;
}
