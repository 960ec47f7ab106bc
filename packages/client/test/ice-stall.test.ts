import { describe, expect, it } from 'vitest';
import { ICE_NOMINATION_WAIT_MS, IceStallWatch, type IceAgentView } from '../src/media/ice-stall.js';

describe('IceStallWatch (a werift agent waiting in vain for the nomination)', () => {
  it('stalls only once a pair succeeded and nothing was nominated for the wait; never a controlling or nominated agent', () => {
    const agent: IceAgentView = { iceControlling: false, nominated: undefined, checkList: [{ state: 2 }] };
    const w = new IceStallWatch(() => agent);
    expect(w.stalled(0)).toBe(false); // checking, nothing succeeded yet: a slow start
    expect(w.stalled(60_000)).toBe(false);
    (agent.checkList as { state: number }[])[0]!.state = 3; // succeeded at t = 60 s
    expect(w.stalled(60_000)).toBe(false);
    expect(w.stalled(60_000 + ICE_NOMINATION_WAIT_MS - 1)).toBe(false);
    expect(w.stalled(60_000 + ICE_NOMINATION_WAIT_MS)).toBe(true);
    agent.nominated = {}; // the nomination came after all
    expect(w.stalled(70_000)).toBe(false);
    agent.nominated = undefined;
    expect(w.stalled(70_000)).toBe(false); // the wait starts again
    expect(new IceStallWatch(() => ({ ...agent, iceControlling: true })).stalled(1e9)).toBe(false);
    expect(new IceStallWatch(() => undefined).stalled(1e9)).toBe(false);
  });
});
