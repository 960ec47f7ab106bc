/**
 * The native egress track's RTCP side without a network: a real EgressTrack on a stand-in for
 * node-datachannel's track; RTCP written by werift (an independent implementation).
 */
import { describe, expect, it, vi } from 'vitest';
import type { Track } from 'node-datachannel';
import {
  GenericNack,
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
  RtpPacket,
} from 'werift';
import { EgressTrack } from '../../src/sfu/worker/egress-track.js';

function track(kind: 'audio' | 'video') {
  const sent: Buffer[] = [];
  const events = { keyFrames: 0, opens: 0, reports: [] as { fraction: number; rtt: number | undefined }[] };
  let deliver: (msg: Buffer) => void = () => undefined;
  let open: () => void = () => undefined;
  const egress = new EgressTrack('3', kind, {
    keyFrameRequest: () => events.keyFrames++,
    open: () => events.opens++,
    report: (_t, block, rtt) => events.reports.push({ fraction: block.fractionLost, rtt }),
  });
  const fake = {
    isOpen: () => true,
    onMessage: (cb: (msg: Buffer) => void) => (deliver = cb),
    onOpen: (cb: () => void) => (open = cb),
    sendMessageBinary: (packet: Buffer) => {
      sent.push(Buffer.from(packet));
      return true;
    },
  };
  // Only isOpen, onMessage and sendMessageBinary are used by EgressTrack.
  egress.attach(fake as unknown as Track);
  return { egress, sent, events, rtcp: (b: Buffer) => deliver(b), opened: () => open() };
}

const packet = (seq: number, size = 50) => ({
  marker: true,
  sequenceNumber: seq,
  timestamp: seq * 3000,
  payload: Buffer.alloc(size, seq & 0xff),
});

describe('EgressTrack', () => {
  it('answers a NACK from what it sent, byte for byte, and ignores NACKs for other SSRCs or old packets', () => {
    const { egress, sent, rtcp } = track('video');
    egress.rebase(1000, 0);
    for (let i = 0; i < 600; i++) egress.send(packet(1000 + i));
    const ours = sent.map((p) => RtpPacket.deSerialize(p).header.sequenceNumber);
    const want = [ours[598] ?? 0, ours[599] ?? 0];
    const nack = (ssrc: number, lost: number[]) =>
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: ssrc, lost }),
      }).serialize();
    const before = sent.length;
    rtcp(nack(egress.ssrc, want));
    expect(sent.slice(before)).toEqual([sent[598], sent[599]]);
    rtcp(nack(egress.ssrc + 1, want));
    rtcp(nack(egress.ssrc, [ours[0] ?? 0])); // 600 packets ago: out of the 512-packet history
    expect(sent.length).toBe(before + 2);
    expect(egress.retransmitted).toBe(2);
  });

  it('raises a key-frame request for a PLI of its SSRC, and reports its receiver report blocks', () => {
    const { egress, events, rtcp, opened } = track('video');
    const pli = (ssrc: number) =>
      new RtcpPayloadSpecificFeedback({
        feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: ssrc }),
      }).serialize();
    rtcp(pli(egress.ssrc + 1));
    expect(events.keyFrames).toBe(0);
    rtcp(pli(egress.ssrc));
    expect(events.keyFrames).toBe(1);
    opened();
    expect(events.opens).toBe(1);
    const rr = new RtcpRrPacket({
      ssrc: 1,
      reports: [
        new RtcpReceiverInfo({
          ssrc: 99,
          fractionLost: 128,
          packetsLost: 0,
          highestSequence: 0,
          jitter: 0,
          lsr: 0,
          dlsr: 0,
        }),
        new RtcpReceiverInfo({
          ssrc: egress.ssrc,
          fractionLost: 26,
          packetsLost: 3,
          highestSequence: 9,
          jitter: 1,
          lsr: 0,
          dlsr: 0,
        }),
      ],
    }).serialize();
    rtcp(rr);
    expect(events.reports).toEqual([{ fraction: 26 / 256, rtt: undefined }]);
  });

  it('keeps one sequence line across a rebase, writes the audio level, and sends SRs that count what it sent', () => {
    const { egress, sent } = track('audio');
    egress.rebase(10, 480);
    egress.send({ ...packet(10), audioLevel: 0x9f });
    egress.send(packet(11));
    egress.rebase(40_000, 123_456); // another publisher's stream on this m-line
    egress.send(packet(40_000));
    const rtp = sent.map((p) => RtpPacket.deSerialize(p));
    const seqs = rtp.map((p) => p.header.sequenceNumber);
    expect(seqs).toEqual([seqs[0], ((seqs[0] ?? 0) + 1) & 0xffff, ((seqs[0] ?? 0) + 2) & 0xffff]);
    expect(new Set(rtp.map((p) => p.header.ssrc))).toEqual(new Set([egress.ssrc]));
    expect(rtp[0]?.header.extensions).toEqual([{ id: 1, payload: Buffer.from([0x9f]) }]);
    expect(rtp[1]?.header.extensions).toEqual([]);
    egress.sendSenderReport(Date.now());
    const sr = sent.at(-1);
    expect(sr?.readUInt8(1)).toBe(200);
    expect(sr?.readUInt32BE(4)).toBe(egress.ssrc);
    expect(sr?.readUInt32BE(20)).toBe(3); // packets
    expect(sr?.readUInt32BE(24)).toBe(150); // payload octets
  });

  it('sends no sender reports for a track that has paused (last-N), and again once it forwards', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { egress, sent } = track('video');
      egress.rebase(1, 90_000);
      egress.send(packet(1));
      const srs = () => sent.filter((p) => p.readUInt8(1) === 200).length;
      egress.sendSenderReport(Date.now());
      expect(srs()).toBe(1);
      vi.advanceTimersByTime(2_000);
      egress.sendSenderReport(Date.now());
      expect(srs()).toBe(2); // still a sender
      vi.advanceTimersByTime(1_000); // 3 s without a packet
      egress.sendSenderReport(Date.now());
      egress.sendSenderReport(Date.now());
      expect(srs()).toBe(2);
      egress.send(packet(2));
      egress.sendSenderReport(Date.now());
      expect(srs()).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
