import { describe, expect, it } from 'vitest';
import { keepInactiveMlines } from '../../src/sfu/worker/sdp.js';

const offer = (ports: [number, string][]) =>
  [
    'v=0',
    'o=- 1 0 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    ...ports.flatMap(([port, dir], i) => [
      `m=${i === 0 ? 'audio' : 'video'} ${port} UDP/TLS/RTP/SAVPF 96`,
      `a=mid:${i}`,
      `a=${dir}`,
    ]),
    '',
  ].join('\r\n');

describe('keepInactiveMlines (werift writes inactive m-lines with port 0)', () => {
  it('turns port 0 into 9 for inactive m-lines only', () => {
    const out = keepInactiveMlines(
      offer([
        [0, 'inactive'],
        [0, 'sendonly'],
      ]),
    );
    expect(out).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=inactive');
    // A really rejected m-line (port 0 without a=inactive) stays rejected.
    expect(out).toContain('m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly');
  });

  it('leaves other offers byte for byte as they were', () => {
    const sdp = offer([
      [9, 'sendonly'],
      [9, 'inactive'],
    ]);
    expect(keepInactiveMlines(sdp)).toBe(sdp);
  });
});
