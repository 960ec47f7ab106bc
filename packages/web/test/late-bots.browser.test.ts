// Bots that join an E2EE meeting after two browsers that publish simulcast cameras: every member
// must get every other member's camera and microphone through the SFU, and decrypt them.
// (Reported as a bug: bots joining after the browsers' simulcast publishers often never got
// their media to the SFU — media_status showed no layer for them. The cause: with two browsers
// encoding three layers each, the machine was slow enough for the SFU's werift DTLS client to
// retransmit its first ClientHello; the bot's server answered both, and werift's client failed
// on the second HelloVerifyRequest while the bot's side said connected. Fixed by
// dropRepeatedHelloVerify in @conclave/rtc, tested deterministically in
// packages/rtc/test/werift-dtls.test.ts; this test failed 4 runs of 4 on a loaded machine
// before the fix, and depends on that load.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Bot } from '@conclave/client/node';
import { LocalKeySink } from '@conclave/client';
import { NodeMediaPeer } from '@conclave/client/media';
import type { ConclaveTestView } from '../src/test-hooks.js';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { join, mediaFrom, openPage, signUp, sleep, view, type Participant } from './helpers.js';

/** A bot's key sink that also counts the frames it decrypted, per sender leaf and codec. */
class CountingSink extends LocalKeySink {
  readonly counts = new Map<string, number>();
  override async unprotect(...args: Parameters<LocalKeySink['unprotect']>) {
    const out = await super.unprotect(...args);
    const key = `${out.senderIndex}/${args[0]}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return out;
  }
}

interface BotMember {
  name: string;
  bot: Bot;
  peer: NodeMediaPeer;
  sink: CountingSink;
}

/** Frames `b` decrypted from the member named `name` (by its MLS leaf), per codec. */
function botDecrypted(b: BotMember, name: string): { video: number; audio: number } {
  const leaf = b.bot.client.roster().find((m) => m.identity.displayName === name)?.leafIndex;
  if (leaf === undefined) return { video: 0, audio: 0 };
  return { video: b.sink.counts.get(`${leaf}/vp8`) ?? 0, audio: b.sink.counts.get(`${leaf}/opus`) ?? 0 };
}

/** Polls `read` until `pred` holds; the error shows the last value. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  pred: (v: T) => boolean,
  ms: number,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (pred(v)) return v;
    if (Date.now() - t0 > ms)
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(v)}`);
    await sleep(250);
  }
}

describe('bots that join after two browser publishers', () => {
  let server: SpawnedServer | undefined;
  let chromium: Browser | undefined;
  const bots: BotMember[] = [];

  beforeAll(async () => {
    ({ server, browser: chromium } = await startServerAndBrowser());
  });

  afterAll(async () => {
    await Promise.all(bots.map((b) => b.bot.stop().catch(() => undefined)));
    await chromium?.close().catch(() => undefined);
    await server?.stop();
  });

  it('every member decrypts every other member’s camera and audio', async () => {
    if (!server || !chromium) throw new Error('not started');
    const alice = await openPage(chromium, 'Alice');
    const bob = await openPage(chromium, 'Bob');
    const email = 'alice@example.org';
    await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await alice.page.goto(server.url + '/');
    await alice.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await alice.page.getByLabel('Host link').inputValue();
    const joinUrl = await alice.page.getByLabel('Join link').inputValue();
    const meetingId = new URL(joinUrl).pathname.split('/').pop() ?? '';
    // Both browsers publish their camera (three simulcast layers) and microphone.
    expect(await join(alice, hostUrl)).toBe('room');
    expect(await join(bob, joinUrl)).toBe('room');
    const browsers: Participant[] = [alice, bob];
    for (const p of browsers)
      await until(
        `${p.name} in the group, sending three layers`,
        () => view(p),
        (v) =>
          v.e2eeActive &&
          v.roster.length === 2 &&
          v.outbound.filter((o) => o.kind === 'video' && o.rid && o.bytesSent > 0).length === 3,
        30_000,
      );

    // Then three bots, one after the other.
    for (const name of ['bot-1', 'bot-2', 'bot-3']) {
      const peer = new NodeMediaPeer({ loopbackOnly: true });
      const sink = new CountingSink();
      const bot = new Bot({ serverUrl: server.url, meetingId, name, keySink: sink, transport: () => peer });
      bots.push({ name, bot, peer, sink });
      await bot.start();
    }
    const ids: Record<string, string> = {};
    for (const p of browsers) {
      const v = await until(
        `${p.name}: five in the group`,
        () => view(p),
        (x) => x.e2eeActive && x.roster.length === 5,
        30_000,
      );
      ids[p.name] = v.participantId ?? '';
    }
    for (const b of bots) ids[b.name] = b.bot.client.participantId ?? '';
    const names = [...browsers.map((p) => p.name), ...bots.map((b) => b.name)];

    // The browsers: from the other browser, frames decoded (so decrypted) and audio packets;
    // from the bots (their synthetic VP8 does not decode), video and audio packets whose frames
    // the bot's MLS key decrypts (the page's stream says which sender's key does).
    const botNames = new Set(bots.map((b) => b.name));
    const fromMember = (start: ConclaveTestView, v: ConclaveTestView, name: string): boolean => {
      const id = ids[name]!;
      const a = mediaFrom(start, id);
      const b = mediaFrom(v, id);
      if (!botNames.has(name))
        return b.videoFrames > a.videoFrames + 10 && b.audioPackets > a.audioPackets + 20;
      const videoPackets = (x: ConclaveTestView) =>
        x.inbound.find((i) => i.participantId === id && i.source === 'camera')?.packetsReceived ?? 0;
      const decrypts = (source: string) =>
        v.streams.some((s) => s.participantId === id && s.source === source && s.senderName === name);
      return (
        videoPackets(v) > videoPackets(start) + 20 &&
        b.audioPackets > a.audioPackets + 20 &&
        decrypts('camera') &&
        decrypts('audio')
      );
    };
    const server_ = server;
    const diagnostics = async () => ({
      botPublish: bots.map((b) => ({
        name: b.name,
        state: b.peer.connectionState('publish'),
        sent: b.bot.framesSent,
      })),
      aliceStatus: (await view(alice)).mediaStatus?.video.map((x) => ({
        from: Object.entries(ids).find(([, id]) => id === x.participantId)?.[0],
        layers: x.layers,
        forwarded: x.forwarded,
      })),
      server: server_.output().slice(-2000),
    });
    const start = new Map<string, ConclaveTestView>();
    for (const p of browsers) start.set(p.name, await view(p));
    const botStart = bots.map((b) => new Map(names.map((n) => [n, botDecrypted(b, n)])));
    try {
      for (const p of browsers)
        await until(
          `${p.name}: video and audio from every other member`,
          () => view(p),
          (v) => names.filter((n) => n !== p.name).every((n) => fromMember(start.get(p.name)!, v, n)),
          30_000,
        );
      // The bots: frames decrypted from each other member, camera and microphone.
      await until(
        'every bot decrypts video and audio of every other member',
        async () =>
          bots.map((b, i) =>
            Object.fromEntries(
              names
                .filter((n) => n !== b.name)
                .map((n) => {
                  const now = botDecrypted(b, n);
                  const was = botStart[i]!.get(n)!;
                  return [n, { video: now.video - was.video, audio: now.audio - was.audio }];
                }),
            ),
          ),
        (all) => all.every((got) => Object.values(got).every((c) => c.video > 10 && c.audio > 20)),
        30_000,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${JSON.stringify(await diagnostics(), null, 1)}`, {
        cause: e,
      });
    }
    // Nothing failed to decrypt in the browsers.
    for (const p of browsers) expect((await view(p)).decryptFailures, p.name).toBe(0);
  });
});
