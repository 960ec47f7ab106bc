import { describe, expect, it } from 'vitest';
import {
  candidateAddress,
  conclaveCodecs,
  filterSdpCandidates,
  keepCandidate,
  VP8_PT,
  VP8_RTX_PT,
} from '../src/index.js';

const LOOPBACK = 'candidate:1 1 udp 2130706431 127.0.0.1 40001 typ host';
const LAN = 'a=candidate:2 1 udp 2130706431 10.1.2.3 40001 typ host';

describe('candidate filtering', () => {
  it('reads the address of candidate lines with and without "a="', () => {
    expect(candidateAddress(LOOPBACK)).toBe('127.0.0.1');
    expect(candidateAddress(LAN)).toBe('10.1.2.3');
    expect(candidateAddress('a=mid:0')).toBeUndefined();
  });

  it('keeps only candidates of the given address; no address keeps all', () => {
    expect(keepCandidate(LOOPBACK, '127.0.0.1')).toBe(true);
    expect(keepCandidate(LAN, '127.0.0.1')).toBe(false);
    expect(keepCandidate(LAN, undefined)).toBe(true);
    const sdp = ['v=0', `a=${LOOPBACK}`, LAN, 'a=end-of-candidates', ''].join('\r\n');
    expect(filterSdpCandidates(sdp, '127.0.0.1')).toBe(
      ['v=0', `a=${LOOPBACK}`, 'a=end-of-candidates', ''].join('\r\n'),
    );
    expect(filterSdpCandidates(sdp, undefined)).toBe(sdp);
  });

  it('offers Opus and VP8 with its RTX, nothing else', () => {
    const codecs = conclaveCodecs()!;
    expect(codecs.audio!.map((c) => c.mimeType)).toEqual(['audio/OPUS']);
    expect(codecs.video!.map((c) => [c.mimeType, c.payloadType])).toEqual([
      ['video/VP8', VP8_PT],
      ['video/rtx', VP8_RTX_PT],
    ]);
    expect(codecs.video![1]!.parameters).toBe(`apt=${VP8_PT}`);
  });
});
