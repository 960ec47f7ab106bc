// Real E2EE meetings of Node bot participants through the server, its MLS delivery service and
// the werift SFU (worker processes). WebRTC over loopback: runs in the network-namespace suite.
import { describe, expect, it } from 'vitest';
import {
  MediaKeys,
  clearPrefixLength,
  decodeHeader,
  parseMediaKid,
  type MediaContext,
} from '@conclave/crypto';
import { Bot, type BotOptions } from '@conclave/client/node';
import type { CreateMeetingInput } from '@conclave/client';
import { botSuite, sleep, until } from './harness.js';

const suite = botSuite({ tap: true });
const { taps } = suite;
const bot = (meetingId: string, name: string, extra?: Partial<BotOptions>): Bot =>
  suite.bot(meetingId, name, extra);

async function createMeeting(body: CreateMeetingInput = {}) {
  return suite.host.createMeeting(body);
}

const received = (b: Bot, from: string) => b.decrypted.get(from) ?? 0;

async function meetingOf(names: string[], prepare: (b: Bot) => void = () => undefined) {
  const m = await createMeeting();
  const [first, ...rest] = names;
  const host = bot(m.meeting.id, first!, { hostSecret: m.hostSecret });
  prepare(host);
  await host.start();
  const others = rest.map((n) => bot(m.meeting.id, n));
  for (const o of others) {
    prepare(o);
    await o.start();
  }
  const all = [host, ...others];
  await until(
    () => all.every((b) => b.client.e2ee.active && b.client.roster().length === all.length),
    'everyone in one MLS epoch',
  );
  return { m, host, others, all };
}

describe('E2EE meeting of bots through the SFU', () => {
  it('three bots decrypt and check each other\u2019s audio and video, with one security code', async () => {
    const { all } = await meetingOf(['alice', 'bob', 'carol']);
    await until(
      () => all.every((b) => all.every((o) => o === b || received(b, o.id) > 20)),
      'frames from every other bot',
      15_000,
    );
    const codes = new Set(all.map((b) => b.client.e2ee.securityCode));
    expect(codes.size).toBe(1);
    for (const b of all) expect(b.decryptFailures).toBe(0);
  });

  it('the SFU forwards only SFrame ciphertext: clear codec bytes, a valid header, no plaintext', async () => {
    const { all, m } = await meetingOf(['p1', 'p2', 'p3']);
    const mine = () => taps.filter((t) => t.meetingId === m.meeting.id);
    await until(() => mine().length > 200, 'forwarded packets in the tap', 15_000);
    const leafOf = new Map(all.map((b) => [b.client.participantId!, b.client.ownLeafIndex!]));
    let video = 0;
    let audio = 0;
    for (const t of mine()) {
      const text = Buffer.from(t.payload).toString('latin1');
      expect(text).not.toContain('CONCLAVE-BOT');
      if (t.kind === 'audio') {
        // Opus payload = the whole protected frame: TOC byte, SFrame header, ciphertext
        const { kid } = decodeHeader(t.payload, clearPrefixLength('opus', t.payload));
        expect(parseMediaKid(kid)).toMatchObject({
          context: 'audio' satisfies MediaContext,
          senderIndex: leafOf.get(t.from),
        });
        audio++;
      } else {
        // VP8: 1-byte payload descriptor; the first packet of a frame (S bit) starts with the clear prefix + header
        if ((t.payload[0]! & 0x10) === 0) continue;
        const frame = t.payload.subarray(1);
        const { kid } = decodeHeader(frame, clearPrefixLength('vp8', frame));
        expect(parseMediaKid(kid)).toMatchObject({ context: 'camera', senderIndex: leafOf.get(t.from) });
        video++;
      }
    }
    expect(audio).toBeGreaterThan(10);
    expect(video).toBeGreaterThan(5);
  });

  for (const how of ['leaves', 'is cut off'] as const) {
    it(`a bot that ${how}: the others are in a new epoch within a second, and its keys open nothing sent after`, async () => {
      // Every epoch key the departing bot ever holds is copied into `shadow` (kept an hour).
      const shadow = new MediaKeys({ graceMs: 3_600_000 });
      const { all, host, others } = await meetingOf(['h', 'x', 'y', 'gone'], (b) => {
        if (b.id !== 'gone') return;
        // The key sink is the test hook for raw keys (no SDK event carries them).
        const orig = b.keySink.setEpoch.bind(b.keySink);
        b.keySink.setEpoch = (e, k, l) => {
          shadow.setEpoch(e, k, l);
          orig(e, k, l);
        };
      });
      const departing = others[2]!;
      await until(() => received(host, 'gone') > 5, 'media from the departing bot');
      expect(shadow.epoch).toBe(departing.client.e2ee.epoch);
      const epochBefore = host.client.e2ee.epoch!;
      const remaining = all.filter((b) => b !== departing);
      const departedAt = Date.now();
      if (how === 'leaves') {
        await departing.stop();
      } else {
        departing.client.simulateConnectionLoss({ reconnect: false });
      }
      // In the new epoch means its key sink holds the new key (`e2ee.active`: the sink's confirmed
      // epoch is the group's); from then on no frame of theirs leaves under an older key.
      await until(
        () =>
          remaining.every(
            (b) =>
              b.client.e2ee.epoch! > epochBefore && b.client.e2ee.active && b.client.roster().length === 3,
          ),
        'the remaining bots in a new epoch',
        1_000,
      );
      const took = Date.now() - departedAt;
      console.log(`bot ${how}: remaining members in the new epoch after ${took} ms`);
      expect(took).toBeLessThan(1_000);
      // record what the departed bot would have received from now on
      const recorded: Array<{ codec: 'vp8' | 'opus'; wire: Uint8Array }> = [];
      for (const b of remaining) {
        b.opts.onSent = (source, wire) => recorded.push({ codec: source === 'audio' ? 'opus' : 'vp8', wire });
      }
      await sleep(500);
      expect(recorded.length).toBeGreaterThan(20);
      for (const r of recorded) {
        await expect(shadow.unprotect(r.codec, r.wire)).rejects.toMatchObject({ name: 'SFrameError' });
      }
      // while the remaining bots go on decrypting each other
      const before = received(host, others[0]!.id);
      await until(() => received(host, others[0]!.id) > before + 10, 'media goes on');
      expect(new Set(remaining.map((b) => b.client.e2ee.securityCode)).size).toBe(1);
    });
  }

  it('a joiner the key holders refuse never gets a Welcome, and the SFU forwards it nothing (not even ciphertext)', async () => {
    const m = await createMeeting();
    let refuse = true;
    const host = bot(m.meeting.id, 'host', {
      hostSecret: m.hostSecret,
      clientOptions: { admitJoiner: (j) => !(refuse && j.displayName === 'mallory') },
    });
    await host.start();
    const friend = bot(m.meeting.id, 'friend');
    const mallory = bot(m.meeting.id, 'mallory');
    await friend.start();
    await mallory.start();
    await until(
      () => received(friend, 'host') > 10 && received(host, 'friend') > 10,
      'host and friend exchange media',
    );
    await sleep(2000);
    // The SFU forwards media only to members of the MLS group: she gets no frame at all.
    expect(mallory.framesWithoutKey).toBe(0);
    expect(mallory.client.e2ee.epoch).toBeUndefined();
    expect([...mallory.decrypted.values()].reduce((a, b) => a + b, 0)).toBe(0);
    expect(mallory.decryptFailures).toBe(0); // nothing forged: it simply has no key
    expect(
      host.client
        .roster()
        .map((r) => r.identity.displayName)
        .sort(),
    ).toEqual(['friend', 'host']);
    // Control: once the host changes its mind (asked again after the next commit, here a new
    // joiner's), she is added and the same media path brings her the others' frames.
    refuse = false;
    const late = bot(m.meeting.id, 'late');
    await late.start();
    await until(
      () => received(mallory, 'host') > 10 && received(mallory, 'friend') > 10,
      'mallory decrypts',
      25_000,
    );
  });

  it('a host mute stops forwarding at the SFU; the participant can unmute itself', async () => {
    const { host, others } = await meetingOf(['host', 'bob', 'carol']);
    const bob = others[0]!;
    await until(() => received(host, 'bob') > 10, 'media from bob');
    host.client.mute(bob.client.participantId!, 'audio');
    host.client.mute(bob.client.participantId!, 'video');
    await until(
      () => bob.client.participants().find((p) => p.id === bob.client.participantId)?.audio === false,
      'mute flag',
    );
    await sleep(300); // frames in flight
    const frozen = received(host, 'bob');
    await sleep(700);
    expect(received(host, 'bob')).toBe(frozen);
    expect(received(host, 'carol')).toBeGreaterThan(0);
    bob.client.setMediaState(true, true);
    await until(() => received(host, 'bob') > frozen + 10, 'bob heard again after unmuting', 10_000);
  });

  it('a participant denied in the waiting room never gets a Welcome nor media', async () => {
    const m = await createMeeting({ waitingRoom: true });
    const host = bot(m.meeting.id, 'host', { hostSecret: m.hostSecret });
    await host.start();
    const denied = bot(m.meeting.id, 'denied');
    expect(await denied.start()).toBe('waiting');
    await until(() => host.client.participants().length >= 1, 'host sees itself');
    let waitingId: string | undefined;
    host.client.on('waitingRoom', (w) => (waitingId = w[0]?.id));
    await until(
      () => waitingId !== undefined || denied.client.participantId !== undefined,
      'waiting-room entry',
    );
    host.client.deny(denied.client.participantId!);
    await until(() => denied.client.state === 'denied', 'denied');
    await sleep(300);
    expect(denied.client.e2ee.epoch).toBeUndefined();
    expect(denied.decryptFailures + denied.framesWithoutKey + [...denied.decrypted.values()].length).toBe(0);
  });

  it('server restart with a meeting running: the bots reconnect into a new MLS group', async () => {
    const m = await createMeeting();
    const hostBot = bot(m.meeting.id, 'r1', { hostSecret: m.hostSecret });
    await hostBot.start();
    const rest = [bot(m.meeting.id, 'r2'), bot(m.meeting.id, 'r3')];
    for (const b of rest) await b.start();
    const all = [hostBot, ...rest];
    await until(
      () => all.every((b) => b.client.e2ee.active && b.client.roster().length === 3),
      'group of three',
    );
    const oldCode = hostBot.client.e2ee.securityCode;
    const t0 = Date.now();
    await suite.restart();
    await until(
      () =>
        all.every(
          (b) => b.client.state === 'joined' && b.client.e2ee.active && b.client.roster().length === 3,
        ),
      'everyone back in one group',
      20_000,
    );
    const base = all.map((b) => b.decrypted.get(b === hostBot ? 'r2' : 'r1') ?? 0);
    await until(
      () => all.every((b, i) => (b.decrypted.get(b === hostBot ? 'r2' : 'r1') ?? 0) > base[i]! + 5),
      'media after restart',
      15_000,
    );
    const took = Date.now() - t0;
    console.log(`server restart: meeting continued after ${took} ms (new MLS group, media decrypted again)`);
    expect(new Set(all.map((b) => b.client.e2ee.securityCode)).size).toBe(1);
    expect(hostBot.client.e2ee.securityCode).not.toBe(oldCode);
    expect(hostBot.client.role).toBe('host');
  });
});
