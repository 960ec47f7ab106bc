import { describe, expect, it } from 'vitest';
import {
  PictureLossIndication,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  type RTCDtlsTransport,
  type RtcpPacket,
} from 'werift';
import { dropEmptyReceiverReports } from '../src/index.js';

/** A stand-in for werift's DTLS transport: only `sendRtcp` is used (and replaced). */
function transport() {
  const sent: RtcpPacket[][] = [];
  const t = {
    sendRtcp: async (packets: RtcpPacket[]) => {
      sent.push(packets);
      return packets.length;
    },
  };
  return { t: t as unknown as RTCDtlsTransport, sent };
}

const block = () =>
  new RtcpReceiverInfo({
    ssrc: 7,
    fractionLost: 0,
    packetsLost: 0,
    highestSequence: 1,
    jitter: 0,
    lsr: 0,
    dlsr: 0,
  });
const pli = () =>
  new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 7 }) });

describe('dropEmptyReceiverReports', () => {
  it('drops receiver reports without a block, keeps reports with blocks and every other packet', async () => {
    const { t, sent } = transport();
    dropEmptyReceiverReports(t);
    dropEmptyReceiverReports(t); // idempotent: one filter, not two
    expect(await t.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [] })])).toBeUndefined();
    expect(sent).toEqual([]);
    const full = new RtcpRrPacket({ ssrc: 1, reports: [block()] });
    await t.sendRtcp([full]);
    const feedback = pli();
    await t.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [] }), feedback]);
    expect(sent).toEqual([[full], [feedback]]);
  });
});
