/**
 * The parts of werift's ICE agent (`RTCIceTransport.connection`, not in its typings) that show
 * one stall: as the controlled agent it waits for the controlling side (the SFU's libjuice) to
 * nominate a pair, and under load that nomination can never come — the pair's own check
 * succeeded, the SFU's checks keep arriving, none carries USE-CANDIDATE, and neither side ever
 * fails (seen in 1–5 of 50 load bots). Nothing in werift's states tells this apart from a slow
 * start, so the bot's peer looks at the check list.
 */
export interface IceAgentView {
  iceControlling: boolean;
  nominated?: unknown;
  checkList: ReadonlyArray<{ state: number }>;
}

/** werift's CandidatePairState.SUCCEEDED. */
const SUCCEEDED = 3;

/** How long a succeeded pair may wait for the controlling side's nomination. */
export const ICE_NOMINATION_WAIT_MS = 2_500;

/**
 * Tracks one agent: `stalled(now)` is true once a pair has succeeded and no pair was nominated
 * for ICE_NOMINATION_WAIT_MS. A controlling agent nominates itself, so it never stalls here.
 */
export class IceStallWatch {
  private succeededSince: number | undefined;

  constructor(private readonly agent: () => IceAgentView | undefined) {}

  stalled(now: number): boolean {
    const a = this.agent();
    if (!a || a.iceControlling || a.nominated) {
      this.succeededSince = undefined;
      return false;
    }
    if (!a.checkList.some((p) => p.state === SUCCEEDED)) return false;
    this.succeededSince ??= now;
    return now - this.succeededSince >= ICE_NOMINATION_WAIT_MS;
  }
}
