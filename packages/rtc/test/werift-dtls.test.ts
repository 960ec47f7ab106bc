// werift's DTLS client and server over an in-memory datagram pipe, where the client's first
// ClientHello reaches the server twice (a retransmission that crossed the server's answer, as
// on a loaded machine): the server answers both with a HelloVerifyRequest.
import { describe, expect, it } from 'vitest';
import { DtlsClient, DtlsServer, RTCDtlsTransport, type DtlsSocket, type Transport } from 'werift';
import { dropRepeatedHelloVerify } from '../src/werift-dtls.js';

interface End extends Transport {
  peer?: End;
  sent: number;
}

/** Two transports delivering to each other on the next turn; `duplicateFirst` sends the first datagram twice. */
function pipe(duplicateFirst: boolean): [End, End] {
  const end = (): End => {
    const e: End = {
      type: 'udp',
      address: { address: '127.0.0.1', family: 'IPv4', port: 0 },
      closed: false,
      sent: 0,
      onData: () => undefined,
      send: async (data) => {
        const copies = e.sent++ === 0 && duplicateFirst ? 2 : 1;
        for (let i = 0; i < copies; i++)
          setImmediate(() => {
            if (!e.closed && e.peer && !e.peer.closed) e.peer.onData(Buffer.from(data), ['127.0.0.1', 0]);
          });
      },
      close: async () => {
        e.closed = true;
      },
    };
    return e;
  };
  const a = end();
  const b = end();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Runs a handshake; resolves with how each side ended (connected or the error). */
async function handshake(harden: boolean): Promise<{ client: string; server: string }> {
  const cert = await RTCDtlsTransport.SetupCertificate();
  const [toServer, toClient] = pipe(true);
  const common = { cert: cert.certPem, key: cert.privateKey, signatureHash: cert.signatureHash };
  const client = new DtlsClient({ ...common, transport: toServer, extendedMasterSecret: true });
  const server = new DtlsServer({
    ...common,
    transport: toClient,
    extendedMasterSecret: true,
    certificateRequest: true,
  });
  if (harden) dropRepeatedHelloVerify(client);
  const outcome = (s: DtlsSocket) =>
    new Promise<string>((resolve) => {
      s.onConnect.once(() => resolve('connected'));
      s.onError.once((e) => resolve(`error: ${String(e)}`));
      setTimeout(() => resolve('timeout'), 5000).unref();
    });
  const result = Promise.all([outcome(client), outcome(server)]);
  client.connect().catch(() => undefined);
  const [c, s] = await result;
  client.close();
  server.close();
  await Promise.all([toServer.close(), toClient.close()]);
  return { client: c, server: s };
}

describe('dropRepeatedHelloVerify', () => {
  it('werift alone: the client fails on the second HelloVerifyRequest while the server connects', async () => {
    const r = await handshake(false);
    expect(r.client).toMatch(/^error/);
    expect(r.server).toBe('connected');
  });

  it('with it, both ends connect', async () => {
    expect(await handshake(true)).toEqual({ client: 'connected', server: 'connected' });
  });
});
