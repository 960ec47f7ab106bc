// Forward only what is shown, end to end: E2EE bots through the whole server (signaling, MLS,
// the SFU worker's forwarding policy), real WebRTC on loopback (the network-namespace suite).
// Bots "speak" through the clear audio-level header extension (NodeMediaPeer.setAudioLevel);
// one bot shows lastN = 2 and pins one participant.
import { describe, expect, it } from 'vitest';
import type { MediaSource } from '@conclave/protocol';
import type { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import type { ForwardingStatus } from '@conclave/client';
import { botSuite, sleep, until } from './harness.js';

const suite = botSuite();

const SPEAKING = -20;
const SILENT = -127;

interface Member {
  bot: Bot;
  peer: NodeMediaPeer;
  id: () => string;
}

/** What the viewer's peer connection receives: frames per (participant id, source), in order. */
class Reception {
  readonly frames: Array<{ from: string; source: MediaSource; key: boolean; at: number }> = [];
  watch(peer: NodeMediaPeer): void {
    peer.onFrame((f) =>
      this.frames.push({
        from: f.participantId,
        source: f.source,
        // the VP8 frame tag stays in clear under SFrame
        key: f.source === 'camera' && ((f.frame[0] ?? 1) & 1) === 0,
        at: Date.now(),
      }),
    );
  }
  count(from: string, source: MediaSource, since: number): number {
    return this.frames.filter((f) => f.from === from && f.source === source && f.at >= since).length;
  }
  first(from: string, source: MediaSource, since: number) {
    return this.frames.find((f) => f.from === from && f.source === source && f.at >= since);
  }
}

describe('last-N and the audio of the top speakers through the SFU', () => {
  it('forwards video of the 2 speakers and the pinned bot, audio of the top 3, and switches on a new speaker at a key frame', async () => {
    const m = await suite.host.createMeeting({});
    const reception = new Reception();
    const member = (name: string, host = false): Member => {
      const peer = new NodeMediaPeer({ loopbackOnly: true });
      peer.setAudioLevel(SILENT); // levels known from the start: everybody silent
      const bot = suite.bot(m.meeting.id, name, {
        ...(host ? { hostSecret: m.hostSecret } : {}),
        transport: () => peer,
      });
      return { bot, peer, id: () => bot.client.participantId! };
    };
    const viewer = member('viewer', true);
    reception.watch(viewer.peer);
    const others = ['a', 'b', 'c', 'd', 'e'].map((n) => member(n));
    const [a, b, c, d, e] = others as [Member, Member, Member, Member, Member];
    await viewer.bot.start();
    for (const o of others) await o.bot.start(); // join order: a, b, c, d, e
    const all = [viewer, ...others];
    await until(
      () => all.every((x) => x.bot.client.e2ee.active && x.bot.client.roster().length === all.length),
      'everyone in one MLS epoch',
      20_000,
    );
    // The SFU's publish answer kept the audio-level extension the bots offered.
    for (const x of all) expect(x.peer.audioLevelExtensionId).toBeGreaterThan(0);

    const statuses: ForwardingStatus[] = [];
    viewer.bot.client.on('mediaStatus', (s) => s && statuses.push(s));
    viewer.bot.setView({ lastN: 2, pinned: [e.id()] });
    a.peer.setAudioLevel(SPEAKING);
    b.peer.setAudioLevel(SPEAKING);

    const video = (s: ForwardingStatus | undefined, who: Member) =>
      s?.video.find((v) => v.participantId === who.id() && v.source === 'camera');
    const shows = (s: ForwardingStatus | undefined, on: Member[], off: Member[]) =>
      on.every((x) => video(s, x)?.forwarded) && off.every((x) => video(s, x)?.forwarded === false);
    // (a and b get the two places at first anyway, as the first in the meeting's order)
    const speakers = (s: ForwardingStatus | undefined, who: Member[]) =>
      who.every((x) => video(s, x)?.reason === 'speaker');
    await until(
      () => shows(viewer.bot.mediaStatus(), [a, b, e], [c, d]) && speakers(viewer.bot.mediaStatus(), [a, b]),
      'media_status: a and b as speakers, e pinned, c and d not forwarded',
    );
    let s = viewer.bot.mediaStatus()!;
    expect(video(s, a)?.reason).toBe('speaker');
    expect(video(s, b)?.reason).toBe('speaker');
    expect(video(s, e)?.reason).toBe('pinned');
    expect(video(s, c)?.reason).toBe('last_n');
    expect(new Set(s.speakers.slice(0, 2))).toEqual(new Set([a.id(), b.id()]));
    // Audio: the two speakers and, for the third place, the first in the meeting's order.
    expect(new Set(s.audio)).toEqual(new Set([a.id(), b.id(), c.id()]));

    // What actually arrives (after what was in flight when the policy changed).
    await sleep(500);
    let since = Date.now();
    await sleep(2_500);
    for (const x of [a, b, e]) expect(reception.count(x.id(), 'camera', since)).toBeGreaterThan(10);
    for (const x of [c, d]) expect(reception.count(x.id(), 'camera', since)).toBe(0);
    for (const x of [a, b, c]) expect(reception.count(x.id(), 'audio', since)).toBeGreaterThan(50);
    for (const x of [d, e]) expect(reception.count(x.id(), 'audio', since)).toBe(0);

    // a falls silent, c starts to speak: c takes a's place; a stays in the top 3 of audio.
    const switchedAt = Date.now();
    a.peer.setAudioLevel(SILENT);
    c.peer.setAudioLevel(SPEAKING);
    await until(() => shows(viewer.bot.mediaStatus(), [b, c, e], [a, d]), 'media_status: c in, a out');
    s = viewer.bot.mediaStatus()!;
    expect(video(s, c)?.reason).toBe('speaker');
    expect(video(s, a)?.reason).toBe('last_n');
    expect(s.speakers.slice(0, 2)).toEqual([b.id(), c.id()]);
    expect(s.speakers[2]).toBe(a.id());
    expect(new Set(s.audio)).toEqual(new Set([a.id(), b.id(), c.id()]));
    // c's video starts again at a key frame.
    await until(() => reception.count(c.id(), 'camera', switchedAt) > 0, 'video from c');
    expect(reception.first(c.id(), 'camera', switchedAt)?.key).toBe(true);
    await sleep(500);
    since = Date.now();
    await sleep(2_500);
    for (const x of [b, c, e]) expect(reception.count(x.id(), 'camera', since)).toBeGreaterThan(10);
    for (const x of [a, d]) expect(reception.count(x.id(), 'camera', since)).toBe(0);
    for (const x of [d, e]) expect(reception.count(x.id(), 'audio', since)).toBe(0);

    // The viewer decrypts what it gets, and media_status never came more than twice a second.
    expect(viewer.bot.decryptFailures).toBe(0);
    expect(viewer.bot.decrypted.get('c')).toBeGreaterThan(0);
    expect(statuses.length).toBeGreaterThan(1);
    // Every other bot (no view sent) still gets every camera.
    await until(() => shows(d.bot.mediaStatus(), [a, b, c, e], []), 'd receives every camera');
  });
});
