import type { MediaViewFields } from '@conclave/client';
import type { ConclaveTestView } from '../test-hooks.js';
import { e2eeStatus, type SessionSnapshot } from './snapshot.js';
import type { InboundSample, StatsSample } from './stats.js';

/** What `window.__conclave` shows of a snapshot (public values and counters only, never a key). */
export function testViewOf(
  s: SessionSnapshot,
  inbound: InboundSample[],
  sent: Pick<StatsSample, 'outbound' | 'availableOutgoingBitrate'>,
  view: MediaViewFields | undefined,
): ConclaveTestView {
  const e2ee = s.meeting.mode === 'e2ee';
  return {
    state: s.state,
    mode: s.meeting.mode,
    participantId: s.selfId,
    framesDecrypted: s.framesDecrypted,
    decryptFailures: s.decryptFailures,
    framesEncrypted: s.framesEncrypted,
    securityCode: s.e2ee.securityCode,
    membershipCode: s.e2ee.membershipCode,
    epoch: s.e2ee.epoch === undefined ? undefined : String(s.e2ee.epoch),
    e2eeActive: s.e2ee.active,
    health: s.e2ee.health,
    indicator: e2eeStatus(s),
    groupNotices: s.groupNotices.map((n) => ({ text: n.text, epoch: n.epoch })),
    // The MLS roster: in E2EE meetings the people listed are the group's members.
    roster: e2ee
      ? s.people.flatMap((p) =>
          p.leafIndex === undefined || p.verification === undefined
            ? []
            : [
                {
                  leafIndex: p.leafIndex,
                  displayName: p.displayName,
                  kind: p.kind,
                  verification: p.verification,
                  isSelf: p.isSelf,
                },
              ],
        )
      : [],
    people: [...s.people, ...s.outsiders].map((p) => ({
      displayName: p.displayName,
      isSelf: p.isSelf,
      inGroup: p.inGroup,
      media: p.media,
    })),
    inbound: inbound.map((i) => ({
      participantId: i.participantId,
      source: i.source,
      kind: i.kind,
      framesDecoded: i.framesDecoded,
      packetsReceived: i.packetsReceived,
      bytesReceived: i.bytesReceived,
      codec: i.codec,
      frameHeight: i.frameHeight,
    })),
    outbound: sent.outbound.map((o) => ({
      kind: o.kind,
      rid: o.rid,
      bytesSent: o.bytesSent,
      framesEncoded: o.framesEncoded,
      frameHeight: o.frameHeight,
      qualityLimitationReason: o.qualityLimitationReason,
    })),
    availableOutgoingBitrate: sent.availableOutgoingBitrate,
    layout: s.stage.layout,
    view,
    mainSpeaker: s.stage.main?.kind === 'person' ? s.stage.main.tile.participantId : undefined,
    mediaStatus: s.forwarding,
    streams: s.remote.map((r) => ({
      participantId: r.participantId,
      source: r.source,
      kind: r.kind,
      flowing: r.flowing,
      claimedName: r.claimedName,
      senderLeaf: r.sender?.leafIndex,
      senderName: r.sender?.displayName,
      mismatch: r.mismatch,
    })),
  };
}
