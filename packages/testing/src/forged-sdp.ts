/**
 * SDP forgeries for adversarial tests: what a modified client could put in its answers.
 */

/**
 * The SDP with its first sha-256 DTLS fingerprint changed (its first byte inverted): the
 * certificate the peer then presents does not match, so the DTLS handshake must fail.
 */
export function forgeDtlsFingerprint(sdp: string): string {
  let forged = false;
  const out = sdp.replace(/(a=fingerprint:sha-256 )([0-9A-F]{2})/i, (_, head: string, byte: string) => {
    forged = true;
    return head + (parseInt(byte, 16) ^ 0xff).toString(16).toUpperCase().padStart(2, '0');
  });
  if (!forged) throw new Error('forgeDtlsFingerprint: the SDP has no sha-256 fingerprint');
  return out;
}
