import type { GroupMember } from '@conclave/crypto';
import type { RemoteTrack, ReceiverSender } from '@conclave/client/browser';
import type { Participant } from '@conclave/protocol';
import type { Person, RemoteStream } from './snapshot.js';

/** A stream counts as flowing while its frames (video) or packets (audio) arrived this recently. */
const FLOWING_MS = 2000;
/** A stream's MLS sender must differ from the server's label this long before the tile says so. */
const MISMATCH_HOLD_MS = 1000;

/**
 * The received streams as tiles show them: what the SFU says each carries (participant,
 * source), whether it flows, and in E2EE meetings who really sends it — the MLS leaf whose key
 * decrypts its frames (reported by the E2EE worker) — with a mismatch when that leaf is not one
 * of the person the server names (people come from the SDK's `people()`).
 */
export function remoteStreams(input: {
  tracks: RemoteTrack[];
  lastFrameAt: (mid: string) => number | undefined;
  senderOf: (transformId: number) => ReceiverSender | undefined;
  people: Person[];
  roster: GroupMember[];
  participants: Participant[];
  now: number;
}): RemoteStream[] {
  const { now } = input;
  const rosterByLeaf = new Map(input.roster.map((m) => [m.leafIndex, m]));
  const serverNames = new Map(input.participants.map((p) => [p.id, p.displayName]));
  // The leaves of the member(s) the server's participant is (a reconnect briefly has two).
  const leavesOf = new Map<string, Set<number>>();
  for (const p of input.people) {
    if (!p.participantId || p.leafIndex === undefined) continue;
    const set = leavesOf.get(p.participantId) ?? new Set<number>();
    set.add(p.leafIndex);
    leavesOf.set(p.participantId, set);
  }
  return input.tracks.flatMap((r) => {
    if (!r.info) return [];
    const last = input.lastFrameAt(r.mid);
    const flowing = last !== undefined && now - last < FLOWING_MS;
    const proven = r.transformId !== undefined ? input.senderOf(r.transformId) : undefined;
    const mismatch =
      proven !== undefined &&
      !(leavesOf.get(r.info.participantId)?.has(proven.leafIndex) ?? false) &&
      now - Math.max(proven.since, r.infoSince) >= MISMATCH_HOLD_MS;
    return [
      {
        mid: r.mid,
        participantId: r.info.participantId,
        source: r.info.source,
        kind: r.kind,
        track: r.track,
        flowing,
        sender: proven && {
          leafIndex: proven.leafIndex,
          displayName: rosterByLeaf.get(proven.leafIndex)?.identity.displayName,
        },
        claimedName: serverNames.get(r.info.participantId),
        mismatch,
      },
    ];
  });
}
