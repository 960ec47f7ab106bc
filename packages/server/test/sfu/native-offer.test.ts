import { describe, expect, it } from 'vitest';
import nodeDataChannel from 'node-datachannel';
import { setLocalDescriptionChecked } from '@conclave/rtc';
import type { WorkerConfig } from '../../src/sfu/ipc.js';
import { NativeSubscribeConnection } from '../../src/sfu/worker/native-subscribe.js';
import { subscribeIceConfig } from '../../src/sfu/worker/pc-config.js';

const RANGE: [number, number] = [45600, 45699];
const config: WorkerConfig = {
  worker: 0,
  workers: 1,
  portRange: RANGE,
  tap: false,
  announcedAddress: '127.0.0.1',
  loopbackOnly: true,
};
const noEvents = {
  stateChange: () => undefined,
  keyFrameRequest: () => undefined,
  open: () => undefined,
  report: () => undefined,
};
const mids = (sdp: string): string[] =>
  sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=mid:'))
    .map((l) => l.slice(6));

describe('NativeSubscribeConnection offers', () => {
  it('an offer that was never answered (a failed attempt) is withdrawn, and the retry carries the new m-line', async () => {
    const c = new NativeSubscribeConnection('retry', subscribeIceConfig(config, RANGE), noEvents);
    try {
      c.addTrack('audio');
      const first = await c.createOffer();
      expect(mids(first)).toEqual(['0']);
      // Before the first answer our candidates are held back (trickled once it is applied).
      expect(first).not.toMatch(/a=candidate:/);
      expect(c.heldCandidates.join('\n')).toMatch(/^candidate:.* 127\.0\.0\.1 /);
      // No answer came (the attempt failed after setLocalDescription): libdatachannel would
      // ignore a second setLocalDescription('offer') in have-local-offer.
      c.addTrack('video');
      const second = await c.createOffer();
      expect(mids(second)).toEqual(['0', '1']);
      expect(second).not.toMatch(/a=candidate:/);
      expect(c.heldCandidates.join('\n')).toMatch(/^candidate:.* 127\.0\.0\.1 /);
    } finally {
      c.close();
    }
  });

  it('a closed connection makes no offer', async () => {
    const c = new NativeSubscribeConnection('closed', subscribeIceConfig(config, RANGE), noEvents);
    c.addTrack('audio');
    c.close();
    await expect(c.createOffer()).rejects.toThrow(/closed/);
  });
});

describe('setLocalDescriptionChecked', () => {
  it('refuses with a JavaScript error what libdatachannel would end the process for, and makes what it allows', async () => {
    const offerer = new nodeDataChannel.PeerConnection('checked-offerer', {
      iceServers: [],
      bindAddress: '127.0.0.1',
      portRangeBegin: RANGE[0],
      portRangeEnd: RANGE[1],
      disableAutoNegotiation: true,
    });
    const answerer = new nodeDataChannel.PeerConnection('checked-answerer', {
      iceServers: [],
      bindAddress: '127.0.0.1',
      portRangeBegin: RANGE[0],
      portRangeEnd: RANGE[1],
      disableAutoNegotiation: true,
    });
    try {
      // Called directly, this aborts the process (node-datachannel 0.33 does not catch it).
      expect(() => setLocalDescriptionChecked(answerer, 'answer')).toThrow(
        'cannot make a local answer in signaling state stable',
      );
      offerer.addTrack(new nodeDataChannel.Video('0', 'SendOnly'));
      setLocalDescriptionChecked(offerer, 'offer');
      expect(offerer.signalingState()).toBe('have-local-offer');
      const offer = offerer.localDescription()?.sdp ?? '';
      answerer.setRemoteDescription(offer, 'offer');
      expect(() => setLocalDescriptionChecked(answerer, 'offer')).toThrow(
        'cannot make a local offer in signaling state have-remote-offer',
      );
      setLocalDescriptionChecked(answerer, 'answer');
      expect(answerer.signalingState()).toBe('stable');
    } finally {
      offerer.close();
      answerer.close();
    }
  });
});
