import { describe, expect, it } from 'vitest';
import { parseClientMessage, ridSchema } from '@conclave/protocol';
import { SignalingConnection, type WebSocketLike } from '../src/index.js';

/** A socket that opens at once and keeps what is sent on it. */
function fakeSocket(sent: string[]): WebSocketLike {
  const ws: WebSocketLike = {
    readyState: 0,
    send: (data) => sent.push(data),
    close: () => undefined,
    onopen: null,
    onclose: null,
    onerror: null,
    onmessage: null,
  };
  queueMicrotask(() => {
    (ws as { readyState: number }).readyState = 1;
    ws.onopen?.({});
  });
  return ws;
}

const handlers = { message: () => undefined, invalid: () => undefined, closed: () => undefined };

describe('SignalingConnection request ids', () => {
  it('gives every message a fresh, valid rid and returns it', async () => {
    const sent: string[] = [];
    const conn = new SignalingConnection('ws://x/ws', () => fakeSocket(sent), handlers);
    await conn.open();
    const rids = [
      conn.send({ type: 'ping' }),
      conn.send({ type: 'chat', text: 'a' }),
      conn.send({ type: 'leave' }),
    ];
    expect(new Set(rids).size).toBe(3);
    for (const [i, rid] of rids.entries()) {
      expect(ridSchema.safeParse(rid).success).toBe(true);
      const parsed = parseClientMessage(sent[i]!);
      expect(parsed.ok && parsed.value.rid).toBe(rid);
    }
    // another connection's ids do not repeat these
    const other = new SignalingConnection('ws://x/ws', () => fakeSocket([]), handlers);
    await other.open();
    expect(rids).not.toContain(other.send({ type: 'ping' }));
  });

  it('returns undefined and sends nothing when the socket is not open', async () => {
    const sent: string[] = [];
    const conn = new SignalingConnection('ws://x/ws', () => fakeSocket(sent), handlers);
    expect(conn.send({ type: 'ping' })).toBeUndefined();
    await conn.open();
    conn.close();
    expect(conn.send({ type: 'ping' })).toBeUndefined();
    expect(sent).toEqual([]);
  });
});
