import { RTCDtlsTransport, type DtlsSocket } from 'werift';

/** DTLS handshake type of a HelloVerifyRequest (RFC 6347 §4.2.1). */
const HELLO_VERIFY_REQUEST = 3;

/**
 * Makes one werift DTLS client take a repeated HelloVerifyRequest as the duplicate it is.
 *
 * The client retransmits its first ClientHello after 500 ms without an answer; a server
 * answers each ClientHello without a cookie with a HelloVerifyRequest (werift's server always
 * with the same cookie). werift 0.24's client sends its second ClientHello (with the cookie)
 * on the first one and throws on the second (flight 3 twice), which fails the DTLS transport
 * for good — while the server finishes the handshake and says connected. On a loaded machine
 * (a worker busy with simulcast ingress, a bot process busy with MLS) those 500 ms go by.
 * A repeated HelloVerifyRequest with the cookie already in use is dropped here; one with
 * another cookie still reaches werift (and fails as before: werift cannot start over).
 */
export function dropRepeatedHelloVerify(socket: DtlsSocket): void {
  const isRepeat = (fragment: Buffer): boolean => {
    const ctx = socket.dtls;
    if (ctx.flight < 3 || !ctx.cookie) return false;
    // HelloVerifyRequest: server_version (2 bytes), cookie length (1), cookie.
    const length = fragment[2];
    if (length === undefined || fragment.length < 3 + length) return false;
    return ctx.cookie.equals(fragment.subarray(3, 3 + length));
  };
  const handle = socket.onHandleHandshakes;
  socket.onHandleHandshakes = (assembled) =>
    handle(assembled.filter((h) => !(h.msg_type === HELLO_VERIFY_REQUEST && isRepeat(h.fragment))));
}

let installed = false;

/**
 * `dropRepeatedHelloVerify` for every DTLS client werift starts in this process: patches
 * `RTCDtlsTransport.prototype.start` once (idempotent). start() makes its DTLS socket
 * synchronously, before any handshake message can arrive.
 */
export function tolerateRepeatedHelloVerifyRequest(): void {
  if (installed) return;
  installed = true;
  const start = RTCDtlsTransport.prototype.start;
  RTCDtlsTransport.prototype.start = function (this: RTCDtlsTransport): Promise<void> {
    const started = start.call(this);
    if (this.role === 'client' && this.dtls) dropRepeatedHelloVerify(this.dtls);
    return started;
  };
}
