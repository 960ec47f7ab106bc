import {
  PROTOCOL_VERSION,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
} from '@conclave/protocol';

/** The subset of the WebSocket API we use: the browser's WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

/** A client message as the caller writes it: the connection adds the version and the request id. */
type Outgoing = ClientMessage extends infer M
  ? M extends { v: number }
    ? Omit<M, 'v' | 'rid'>
    : never
  : never;

/**
 * One signaling connection: validates what the server sends, adds the version and a fresh
 * request id (`rid`) to what we send. The server echoes a message's rid in every `error` it
 * causes and in its direct reply, so `send`'s return value identifies the answer.
 */
export class SignalingConnection {
  private ws: WebSocketLike | undefined;
  /** Request ids are `<random prefix>-<counter>`: unique on this connection, and across connections. */
  private readonly ridPrefix = randomRidPrefix();
  private ridCounter = 0;

  constructor(
    private readonly url: string,
    private readonly factory: WebSocketFactory,
    private readonly handlers: {
      message: (msg: ServerMessage) => void;
      invalid: (reason: string) => void;
      closed: (code: number, reason: string) => void;
    },
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = this.factory(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onerror = () => {
        if (!opened) reject(new Error(`cannot connect to ${this.url}`));
      };
      ws.onclose = (ev) => {
        if (!opened) reject(new Error(`connection to ${this.url} closed (${ev.code})`));
        else this.handlers.closed(ev.code, ev.reason);
      };
      ws.onmessage = (ev) => {
        const raw =
          typeof ev.data === 'string'
            ? ev.data
            : ev.data instanceof ArrayBuffer
              ? new Uint8Array(ev.data)
              : String(ev.data);
        const parsed = parseServerMessage(raw);
        if (parsed.ok) this.handlers.message(parsed.value);
        else this.handlers.invalid(parsed.message);
      };
    });
  }

  /**
   * Sends one message with a fresh request id and returns that id; returns undefined (and
   * sends nothing) when the socket is not open.
   */
  send(msg: Outgoing): string | undefined {
    if (!this.ws || this.ws.readyState !== 1) return undefined;
    const rid = `${this.ridPrefix}-${(++this.ridCounter).toString(36)}`;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, rid, ...msg }));
    return rid;
  }

  close(code = 1000, reason = ''): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close(code, reason);
    }
  }
}

const RID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** Eight random characters of the 64 a request id may hold (48 bits): two connections' ids do not meet. */
function randomRidPrefix(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => RID_ALPHABET[b & 63]).join('');
}
