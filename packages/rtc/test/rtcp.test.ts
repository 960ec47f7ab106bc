import { describe, expect, it } from 'vitest';
import {
  RtcpRrPacket,
  RtcpReceiverInfo,
  RtcpPayloadSpecificFeedback,
  PictureLossIndication,
  RtcpTransportLayerFeedback,
  GenericNack,
  RtpPacket,
} from 'werift';
import { ntpMiddle32, parseRtcp, roundTripMs, senderReport, writeRtp } from '../src/index.js';

// werift's RTCP and RTP serializers are an independent implementation to check ours against.
describe('parseRtcp', () => {
  it('reads report blocks, PLI and NACK from a compound packet as werift writes it', () => {
    const rr = new RtcpRrPacket({
      ssrc: 0x1111,
      reports: [
        new RtcpReceiverInfo({
          ssrc: 0xabcdef01,
          fractionLost: 64,
          packetsLost: 12,
          highestSequence: 70_000,
          jitter: 33,
          lsr: 0x12345678,
          dlsr: 0x00010000,
        }),
      ],
    });
    const pli = new RtcpPayloadSpecificFeedback({
      feedback: new PictureLossIndication({ senderSsrc: 0x1111, mediaSsrc: 0xabcdef01 }),
    });
    const nack = new RtcpTransportLayerFeedback({
      feedback: new GenericNack({
        senderSsrc: 0x1111,
        mediaSourceSsrc: 0xabcdef01,
        lost: [100, 101, 105, 116, 300],
      }),
    });
    const items = parseRtcp(Buffer.concat([rr.serialize(), pli.serialize(), nack.serialize()]));
    expect(items[0]).toEqual({
      type: 'reports',
      sender: 0x1111,
      blocks: [
        {
          ssrc: 0xabcdef01,
          fractionLost: 0.25,
          cumulativeLost: 12,
          highestSequence: 70_000,
          jitter: 33,
          lastSr: 0x12345678,
          delaySinceLastSr: 0x00010000,
        },
      ],
    });
    expect(items[1]).toEqual({ type: 'pli', mediaSsrc: 0xabcdef01 });
    expect(items[2]?.type).toBe('nack');
    expect(items[2]?.type === 'nack' && [...items[2].sequences].sort((a, b) => a - b)).toEqual([
      100, 101, 105, 116, 300,
    ]);
  });

  it('stops at a length that runs past the buffer, and skips what it does not know', () => {
    const rr = new RtcpRrPacket({ ssrc: 1, reports: [] }).serialize();
    const truncated = Buffer.concat([rr, Buffer.from([0x81, 201, 0x00, 0x20, 0, 0, 0, 1])]);
    expect(parseRtcp(truncated)).toEqual([{ type: 'reports', sender: 1, blocks: [] }]);
    expect(parseRtcp(Buffer.from([0x80, 204, 0, 2, 0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44]))).toEqual([]);
    expect(parseRtcp(new Uint8Array(3))).toEqual([]);
  });
});

describe('sender reports and round trips', () => {
  it('a report block echoing our SR gives the RTT (arrival − LSR − DLSR)', () => {
    const sentAt = 1_700_000_000_000;
    const sr = senderReport({ ssrc: 7, unixMs: sentAt, rtpTimestamp: 1234, packets: 10, octets: 5000 });
    expect(sr.length).toBe(28);
    expect(sr.readUInt8(1)).toBe(200);
    expect(sr.readUInt32BE(16)).toBe(1234);
    const lastSr = ((sr.readUInt32BE(8) & 0xffff) << 16) | (sr.readUInt32BE(12) >>> 16);
    expect(lastSr >>> 0).toBe(ntpMiddle32(sentAt));
    // The peer held it 30 ms; it arrives back 80 ms after we sent it: RTT 50 ms.
    const block = {
      ssrc: 7,
      fractionLost: 0,
      cumulativeLost: 0,
      highestSequence: 0,
      jitter: 0,
      lastSr: lastSr >>> 0,
      delaySinceLastSr: Math.round(0.03 * 65536),
    };
    expect(roundTripMs(block, sentAt + 80)).toBeCloseTo(50, 0);
    expect(roundTripMs({ ...block, lastSr: 0 }, sentAt + 80)).toBeUndefined();
  });
});

describe('writeRtp', () => {
  it('writes a packet werift parses back, with the audio level as a one-byte extension', () => {
    const payload = Buffer.from([1, 2, 3, 4, 5]);
    const p = RtpPacket.deSerialize(
      writeRtp(
        {
          payloadType: 111,
          marker: true,
          sequenceNumber: 65535,
          timestamp: 0xfffffff0,
          ssrc: 0xdeadbeef,
          audioLevel: { id: 1, value: 0x85 },
        },
        payload,
      ),
    );
    expect(p.header.payloadType).toBe(111);
    expect(p.header.marker).toBe(true);
    expect(p.header.sequenceNumber).toBe(65535);
    expect(p.header.timestamp).toBe(0xfffffff0);
    expect(p.header.ssrc).toBe(0xdeadbeef);
    expect(p.header.extensions).toEqual([{ id: 1, payload: Buffer.from([0x85]) }]);
    expect(Buffer.from(p.payload)).toEqual(payload);
    const plain = RtpPacket.deSerialize(
      writeRtp({ payloadType: 96, marker: false, sequenceNumber: 1, timestamp: 2, ssrc: 3 }, payload),
    );
    expect(plain.header.extension).toBe(false);
    expect(Buffer.from(plain.payload)).toEqual(payload);
  });
});
