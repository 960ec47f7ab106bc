import { describe, expect, it } from 'vitest';
import { ConclaveClient, type WebSocketLike } from '../src/index.js';

// A connection that closes right after it opened, while the SDK still makes the key package of
// its join: connect() rejects with connection_failed, and nothing rejects unhandled (in Node an
// unhandled rejection ends the process: it took down a load-test process with 25 bots).

/** A server whose connection closes at once after opening, or `afterMs` later. */
function closingServer(afterMs?: number): () => WebSocketLike {
  return () => {
    const ws: WebSocketLike = {
      readyState: 0,
      send: () => undefined,
      close: () => undefined,
      onopen: null,
      onclose: null,
      onerror: null,
      onmessage: null,
    };
    const close = () => {
      (ws as { readyState: number }).readyState = 3;
      ws.onclose?.({ code: 1006, reason: '' });
    };
    queueMicrotask(() => {
      (ws as { readyState: number }).readyState = 1;
      ws.onopen?.({});
      if (afterMs === undefined) close();
      else setTimeout(close, afterMs);
    });
    return ws;
  };
}

describe('a connection that closes during the join', () => {
  for (const afterMs of [undefined, 0, 1, 3]) {
    it(`rejects connect() and leaves no unhandled rejection behind (closed ${afterMs === undefined ? 'at once' : `after ${afterMs} ms`})`, async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      try {
        const c = new ConclaveClient({
          serverUrl: 'http://127.0.0.1:1',
          meetingId: 'meeting-close',
          displayName: 'Alice',
          webSocket: closingServer(afterMs),
          reconnect: false,
        });
        await expect(c.connect()).rejects.toMatchObject({ code: 'connection_failed' });
        expect(c.state).toBe('lost');
        await new Promise((r) => setTimeout(r, 50));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  }
});
