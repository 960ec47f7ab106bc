/**
 * What the app shows to automated tests on `window`, and the few switches tests may set
 * before the app starts (Playwright's `page.addInitScript`).
 *
 * `window.__conclave` holds counters and public values only (never a key): the same things
 * the Security panel shows. The switches only change what this page itself does — a page's
 * own script could do as much — so they are safe to keep in production builds.
 */
import type { MemberVerification } from '@conclave/client';
import type { E2eeApi } from '@conclave/client/browser';

export interface ConclaveTestView {
  state: string;
  mode: 'e2ee' | 'standard' | undefined;
  participantId: string | undefined;
  /** Frames the E2EE worker decrypted / dropped, summed over every sender. */
  framesDecrypted: number;
  decryptFailures: number;
  /** Frames the E2EE worker encrypted and sent. */
  framesEncrypted: number;
  securityCode: string | undefined;
  /** Changes only when someone is added to or removed from the MLS group (E2EE). */
  membershipCode: string | undefined;
  /** Decimal string. */
  epoch: string | undefined;
  e2eeActive: boolean;
  /** The SDK's group health: 'ok', 'departed_member_present' or 'out_of_sync' ('ok' in standard meetings). */
  health: string;
  /** What the E2EE indicator in the header says: 'active', 'pending', 'alert' or 'standard'. */
  indicator: string;
  /** Every add/remove notice this page showed ("Alice added Gabi (guest)"), oldest first. */
  groupNotices: { text: string; epoch: string }[];
  /**
   * The MLS roster (display names by leaf), as the participants panel shows it, with the key
   * directory's verdict on each member's account claim (E2EE meetings; empty in standard ones).
   */
  roster: {
    leafIndex: number;
    displayName: string;
    kind: string;
    verification: MemberVerification;
    isSelf: boolean;
  }[];
  /**
   * Everyone this page lists (the SDK's `people()`): in E2EE meetings, for others, what this page
   * receives from them (`media`: off, connecting, receiving, no_media, cannot_decrypt, unattested).
   */
  people: { displayName: string; isSelf: boolean; inGroup: boolean; media: string | undefined }[];
  /** Received streams from getStats (twice a second). */
  inbound: InboundView[];
  /** What this page sends, per encoding (the camera's simulcast layers `q`, `h`, `f`), from getStats. */
  outbound: OutboundView[];
  /** The browser's estimate of what it may send (bits per second), when it reports one. */
  availableOutgoingBitrate: number | undefined;
  /** The room's layout and the view this page last gave the SDK (what it asks the SFU to forward). */
  layout: 'grid' | 'speaker';
  view:
    | { lastN: number; pinned: string[]; tiles: { participantId: string; source: string; height: number }[] }
    | undefined;
  /** The participant the speaker view shows large (undefined in the grid, or for a screen share). */
  mainSpeaker: string | undefined;
  /** The SFU's last `media_status` for this page, as the SDK received it. */
  mediaStatus:
    | {
        speakers: string[];
        audio: string[];
        video: {
          participantId: string;
          source: string;
          forwarded: boolean;
          reason: string;
          layer: number | null;
          layers: number;
          limit: string | null;
        }[];
        downlinkBps: number | null;
        lossFraction: number | null;
        rttMs: number | null;
      }
    | undefined;
  /**
   * Every received stream the SFU described, with the server's claim (participant and its
   * name) and, in E2EE meetings, the MLS sender whose key decrypts its frames: the name its
   * tile shows, and whether the tile marks a mismatch.
   */
  streams: StreamView[];
}

export interface StreamView {
  participantId: string;
  source: string;
  kind: 'audio' | 'video';
  flowing: boolean;
  claimedName: string | undefined;
  senderLeaf: number | undefined;
  senderName: string | undefined;
  mismatch: boolean;
}

export interface InboundView {
  participantId: string | undefined;
  source: string | undefined;
  kind: 'audio' | 'video';
  framesDecoded: number;
  packetsReceived: number;
  bytesReceived: number;
  codec: string | undefined;
  /** Video: the height of the last decoded frame (which simulcast layer arrives). */
  frameHeight: number | undefined;
}

export interface OutboundView {
  kind: 'audio' | 'video';
  rid: string | undefined;
  bytesSent: number;
  framesEncoded: number;
  frameHeight: number | undefined;
  qualityLimitationReason: string | undefined;
}

/** Actions tests may trigger (installed by the meeting session while it runs). */
export interface ConclaveTestActions {
  /** Drops the signaling connection as a network failure would (the client reconnects). */
  dropConnection(): void;
}

export interface ConclaveTestSwitches {
  /** This page, when it holds the group's keys, never adds joiners with these display names. */
  refuseJoiners?: string[];
  /** Use createEncodedStreams() even where RTCRtpScriptTransform exists (both paths get tested). */
  e2eeApi?: E2eeApi;
  /**
   * Signed in, join as the account with a fresh key that is never registered on it (what an
   * impostor's key looks like to the others: "Unverified account claim").
   */
  unregisteredDevice?: boolean;
  /** The wait between a right phone code and the token's redeem, instead of 1–15 minutes. */
  unlockDelaySeconds?: number;
}

declare global {
  interface Window {
    __conclave?: ConclaveTestView;
    __conclaveTest?: ConclaveTestSwitches;
    __conclaveTestActions?: ConclaveTestActions;
  }
}

export function testSwitches(): ConclaveTestSwitches {
  return window.__conclaveTest ?? {};
}

export function publishTestView(view: ConclaveTestView): void {
  window.__conclave = view;
}
