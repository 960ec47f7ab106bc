import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { isRtcp, readRtp, senderReport, writeRtp } from '../src/index.js';

// werift's RTP serializer is an independent writer to read back.
describe('readRtp', () => {
  it('reads what werift writes: CSRCs, a two-extension header and padding', () => {
    const payload = Buffer.from('frame bytes, not the padding');
    const header = new RtpHeader({
      payloadType: 96,
      marker: true,
      sequenceNumber: 65_535,
      timestamp: 0xfedcba98,
      ssrc: 0x01020304,
      csrc: [7, 8],
      extensions: [
        { id: 1, payload: Buffer.from([0x85]) },
        { id: 4, payload: Buffer.from('mid1') },
      ],
      padding: true,
      paddingSize: 3,
    });
    const wire = new RtpPacket(header, payload).serialize();
    expect(wire[0]! & 0x30).toBe(0x30);
    const read = readRtp(wire);
    expect(read).toMatchObject({
      payloadType: 96,
      marker: true,
      sequenceNumber: 65_535,
      timestamp: 0xfedcba98,
      ssrc: 0x01020304,
    });
    expect(read?.payload.toString()).toBe(payload.toString());
  });

  it('reads what writeRtp writes, with and without the audio level', () => {
    for (const audioLevel of [undefined, { id: 3, value: 0x9f }]) {
      const fields = {
        payloadType: 111,
        marker: false,
        sequenceNumber: 9,
        timestamp: 1234,
        ssrc: 42,
        audioLevel,
      };
      const read = readRtp(writeRtp(fields, Buffer.from([1, 2, 3])));
      expect(read?.ssrc).toBe(42);
      expect([...(read?.payload ?? [])]).toEqual([1, 2, 3]);
    }
  });

  it('refuses RTCP, a wrong version and lengths that run past the packet', () => {
    const sr = senderReport({ ssrc: 1, unixMs: Date.now(), rtpTimestamp: 0, packets: 0, octets: 0 });
    expect(isRtcp(sr)).toBe(true);
    expect(readRtp(sr)).toBeUndefined();
    const good = writeRtp(
      { payloadType: 96, marker: false, sequenceNumber: 1, timestamp: 1, ssrc: 1 },
      Buffer.alloc(4),
    );
    expect(readRtp(good)).toBeDefined();
    expect(readRtp(Buffer.from(good).fill(0x40, 0, 1))).toBeUndefined(); // version 1
    const csrcs = Buffer.from(good);
    csrcs[0] = 0x8f; // 15 CSRCs claimed, 4 payload bytes present
    expect(readRtp(csrcs)).toBeUndefined();
    const ext = Buffer.concat([good.subarray(0, 12), Buffer.from([0xbe, 0xde, 0x00, 0x09])]);
    ext[0] = 0x90;
    expect(readRtp(ext)).toBeUndefined();
    const pad = Buffer.from(good);
    pad[0] = 0xa0;
    pad[pad.length - 1] = 200;
    expect(readRtp(pad)).toBeUndefined();
    expect(readRtp(good.subarray(0, 11))).toBeUndefined();
  });
});
