// Forward only what is shown, and simulcast from browsers, end to end in the web app: one
// `conclave serve`, headless Chromium pages (playwright-core), a headless Firefox page
// (puppeteer-core over WebDriver BiDi) and E2EE bots (NodeMediaPeer) that "speak" through the
// clear audio-level header extension. The pages measure their tiles and tell the SFU what they
// show (`media_view`); what the SFU says back (`media_status`), what the pages decode
// (getStats) and what their tiles show (the DOM) are checked against each other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Bot } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import type { ConclaveTestView } from '../src/test-hooks.js';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { axeSerious, join, openPage, screenshot, signUp, sleep, type Participant } from './helpers.js';
import {
  aria,
  firefoxClick,
  firefoxControl,
  firefoxFill,
  firefoxResize,
  firefoxView,
  launchFirefox,
  openFirefoxPage,
  type Firefox,
  type FirefoxParticipant,
} from './firefox.js';

/** The camera's layers (rids q, h, f) from the app's 960×540 fake camera, lowest first. */
const LAYER_HEIGHTS = [135, 270, 540];
const LAYER_NAMES = ['low', 'medium', 'high'];
const SPEAKING = -20;
const SILENT = -127;

/** What a tile shows, read from the DOM. */
interface TileInfo {
  participant: string;
  name: string;
  main: boolean;
  /** 'shown' (a video element) or 'avatar'. */
  video: string;
  forwarded: string | undefined;
  reason: string | undefined;
  why: string | undefined;
  /** The avatar's hover text. */
  title: string | undefined;
  quality: string | undefined;
  /** The video element's decoded height (0 without video). */
  videoHeight: number;
  pinned: boolean;
}

/** Runs in the page: every tile of someone else. */
function readTiles(): TileInfo[] {
  return [...document.querySelectorAll<HTMLElement>('li.tile[data-participant]')].map((el) => {
    const video = el.querySelector('video');
    return {
      participant: el.dataset.participant ?? '',
      name: el.dataset.tileName ?? '',
      main: el.classList.contains('main'),
      video: el.dataset.video ?? '',
      forwarded: el.dataset.forwarded,
      reason: el.dataset.reason,
      why: el.querySelector('.tile-why')?.textContent ?? undefined,
      title: el.querySelector<HTMLElement>('.avatar-box')?.title || undefined,
      quality: el.querySelector('.tile-quality')?.textContent?.replace('Video quality: ', '') ?? undefined,
      videoHeight: video?.videoHeight ?? 0,
      pinned: el.dataset.pinned === 'true',
    };
  });
}

/** A page of either engine. */
interface Member {
  name: string;
  errors: string[];
  read(): Promise<ConclaveTestView>;
  tiles(): Promise<TileInfo[]>;
  /** Presses a button of the meeting controls (exact name). */
  control(name: string): Promise<void>;
  /** Presses a tile's button ("Pin Bob", "Unpin Bob"). */
  tileButton(name: string): Promise<void>;
  resize(width: number, height: number): Promise<void>;
}

function chromiumMember(p: Participant): Member {
  return {
    name: p.name,
    errors: p.errors,
    read: async () => {
      const v = await p.page.evaluate(() => window.__conclave);
      if (!v) throw new Error(`${p.name}: no test view`);
      return v;
    },
    tiles: () => p.page.evaluate(readTiles),
    control: (name) =>
      p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name, exact: true })
        .click(),
    tileButton: (name) => p.page.getByRole('button', { name, exact: true }).click(),
    resize: (width, height) => p.page.setViewportSize({ width, height }),
  };
}

function firefoxMember(p: FirefoxParticipant): Member {
  return {
    name: `${p.name} (Firefox)`,
    errors: p.errors,
    read: () => firefoxView(p),
    tiles: () => p.page.evaluate(readTiles),
    control: (name) => firefoxControl(p, name),
    tileButton: (name) => firefoxClick(p.page, aria(name, 'button')),
    resize: (width, height) => firefoxResize(p.page, width, height),
  };
}

/** Joins `url` from Firefox with the camera off. */
async function firefoxJoinCameraOff(d: FirefoxParticipant, url: string): Promise<void> {
  await d.page.goto(url);
  await firefoxClick(d.page, aria('Turn camera off', 'button'));
  await firefoxFill(d.page, aria('Your name', 'textbox'), d.name);
  await firefoxClick(d.page, aria('Join meeting', 'button'));
  await d.page.waitForSelector('nav[aria-label="Meeting controls"]', { timeout: 20_000 });
}

/** Polls `read` until `pred` holds on what it returns; the error shows the last value. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  pred: (v: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (pred(v)) return v;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(v)}`);
    await sleep(250);
  }
}

const cameraOf = (v: ConclaveTestView, id: string) =>
  v.mediaStatus?.video.find((x) => x.participantId === id && x.source === 'camera');
const inboundCamera = (v: ConclaveTestView, id: string) =>
  v.inbound.find((i) => i.participantId === id && i.source === 'camera' && i.kind === 'video');
/** The camera layers `v`'s page sends, by rid. */
const sentLayers = (v: ConclaveTestView) =>
  new Map(v.outbound.filter((o) => o.kind === 'video' && o.rid).map((o) => [o.rid, o]));

/** Waits until `m` sends all three camera layers at their sizes, their bytes growing; returns when. */
async function allLayersFlow(m: Member, timeoutMs: number): Promise<number> {
  const first = sentLayers(await m.read());
  await until(
    `${m.name}: camera layers q, h, f at ${LAYER_HEIGHTS.join('/')} rows, each growing`,
    () => m.read(),
    (v) => {
      const now = sentLayers(v);
      return ['q', 'h', 'f'].every((rid, i) => {
        const o = now.get(rid);
        return (
          o !== undefined &&
          o.frameHeight === LAYER_HEIGHTS[i] &&
          o.bytesSent > (first.get(rid)?.bytesSent ?? 0) + 10_000
        );
      });
    },
    timeoutMs,
  );
  return Date.now();
}

const RIDS = ['q', 'h', 'f'];

/**
 * `viewer` resized so that `publisher`'s tile asks for `layer`: the SFU says it forwards that
 * layer, and the viewer decodes frames of the height the publisher encodes that layer at now
 * (540, 270 and 135 rows, unless the publisher's encoder scales down for lack of CPU), more and
 * more of them. Returns how long the switch took.
 */
async function expectLayer(viewer: Member, publisher: Member, id: string, layer: number): Promise<number> {
  const t0 = Date.now();
  const before = await viewer.read();
  const decodedBefore = inboundCamera(before, id)?.framesDecoded ?? 0;
  let switchedAt = 0;
  const read = async () => {
    const [v, p] = await Promise.all([viewer.read(), publisher.read()]);
    return { status: cameraOf(v, id), inbound: inboundCamera(v, id), sent: sentLayers(p), v };
  };
  const got = await until(
    `${viewer.name}: layer ${layer} (rid ${RIDS[layer]}) of ${publisher.name}`,
    read,
    ({ status, inbound, sent }) => {
      const on =
        status?.forwarded === true &&
        status.layer === layer &&
        status.layers === 3 &&
        inbound?.frameHeight !== undefined &&
        inbound.frameHeight === sent.get(RIDS[layer])?.frameHeight;
      if (on && switchedAt === 0) switchedAt = Date.now();
      return on && (inbound?.framesDecoded ?? 0) > decodedBefore + 20;
    },
    30_000,
  );
  expect(got.status?.limit).toBe(layer === 2 ? null : 'tile');
  const height = got.inbound?.frameHeight;
  // The tile's indicator says it, and shows a video of that height.
  const tile = await until(
    `${viewer.name}: ${publisher.name}'s tile at layer ${layer}`,
    () => viewer.tiles(),
    (ts) => {
      const t = ts.find((x) => x.participant === id);
      return t?.video === 'shown' && t.videoHeight === height;
    },
    10_000,
  );
  expect(tile.find((x) => x.participant === id)?.quality).toBe(
    layer === 2 ? 'high' : `${LAYER_NAMES[layer]} · tile size`,
  );
  return switchedAt - t0;
}

describe('forward only what is shown, and simulcast from browsers', () => {
  let server: SpawnedServer | undefined;
  let chromium: Browser | undefined;
  let ff: Firefox | undefined;
  let hostUrl = '';
  let joinUrl = '';
  let alicePage: Participant;
  let bobPage: Participant;
  let danaPage: FirefoxParticipant;
  let alice: Member;
  let bob: Member;
  let dana: Member;
  const ids: Record<string, string> = {};
  const bots: { bot: Bot; peer: NodeMediaPeer; name: string }[] = [];

  beforeAll(async () => {
    const [sb, f] = await Promise.allSettled([startServerAndBrowser(), launchFirefox()]);
    if (sb.status === 'fulfilled') ({ server, browser: chromium } = sb.value);
    if (f.status === 'fulfilled') ff = f.value;
    if (sb.status === 'rejected') throw sb.reason;
    if (f.status === 'rejected') throw f.reason;
  });

  afterAll(async () => {
    await Promise.all(bots.map((b) => b.bot.stop().catch(() => undefined)));
    await Promise.all([ff?.close(), chromium?.close().catch(() => undefined)]);
    await server?.stop();
  });

  it('a Chromium camera sends three layers that each decrypt and decode; the tile’s size picks the layer (Chromium viewer)', async () => {
    if (!server || !chromium) throw new Error('not started');
    const a = await openPage(chromium, 'Alice');
    const b = await openPage(chromium, 'Bob');
    const email = 'alice@example.org';
    await signUp(a, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await a.page.goto(server.url + '/');
    await a.page.getByRole('button', { name: 'Create meeting' }).click();
    hostUrl = await a.page.getByLabel('Host link').inputValue();
    joinUrl = await a.page.getByLabel('Join link').inputValue();
    // Alice only watches: no camera of her own to encode.
    expect(await join(a, hostUrl, { cameraOff: true })).toBe('room');
    const bobJoined = Date.now();
    expect(await join(b, joinUrl)).toBe('room');
    alicePage = a;
    bobPage = b;
    alice = chromiumMember(a);
    bob = chromiumMember(b);
    for (const m of [alice, bob]) {
      const v = await until(
        `${m.name} in the group`,
        () => m.read(),
        (x) => x.e2eeActive && x.roster.length === 2,
      );
      ids[m.name] = v.participantId ?? '';
    }

    // All three layers flow from the start (x-google-start-bitrate: without it the full layer
    // started after about 17 s, as Chromium's estimate grew from 300 kbit/s).
    const flowing = await allLayersFlow(bob, 20_000);
    console.info(`Chromium: all three camera layers flowing ${flowing - bobJoined} ms after Join`);

    // Alice's tile of Bob: big, small, middling, big again.
    const sizes: [number, number, number][] = [
      [1280, 720, 2],
      [480, 400, 0],
      [900, 640, 1],
      [1280, 720, 2],
    ];
    const startFailures = (await alice.read()).decryptFailures;
    for (const [w, h, layer] of sizes) {
      await alice.resize(w, h);
      const ms = await expectLayer(alice, bob, ids.Bob!, layer);
      const tile = (await alice.read()).view?.tiles.find((t) => t.participantId === ids.Bob);
      console.info(`Chromium viewer ${w}×${h}: tile ${tile?.height} px → layer ${layer} in ${ms} ms`);
    }
    // Every layer decrypted: nothing failed along the way.
    expect((await alice.read()).decryptFailures).toBe(startFailures);
    expect(a.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('the same in a Firefox viewer; a Firefox camera sends three layers too, decoded by Chromium', async () => {
    if (!ff) throw new Error('not started');
    const d = await openFirefoxPage(ff, 'Dana');
    // First only a viewer (two browsers encoding 960×540 in three layers is much for 2 cores).
    await firefoxJoinCameraOff(d, joinUrl);
    danaPage = d;
    dana = firefoxMember(d);
    const v = await until(
      'Dana in the group',
      () => dana.read(),
      (x) => x.e2eeActive && x.roster.length === 3,
    );
    ids.Dana = v.participantId ?? '';

    // Dana's tile of Bob (three tiles in her grid: hers, Alice's avatar, Bob's).
    const sizes: [number, number, number][] = [
      [1800, 1000, 2],
      [560, 420, 0],
      [1000, 700, 1],
      [1800, 1000, 2],
    ];
    for (const [w, h, layer] of sizes) {
      await dana.resize(w, h);
      const ms = await expectLayer(dana, bob, ids.Bob!, layer);
      const tile = (await dana.read()).view?.tiles.find((t) => t.participantId === ids.Bob);
      console.info(`Firefox viewer ${w}×${h}: tile ${tile?.height} px → layer ${layer} in ${ms} ms`);
    }
    expect((await dana.read()).decryptFailures).toBe(0);

    // Firefox's own camera: three layers (its estimate grows from 300 kbit/s: the SFU sends
    // no congestion feedback, and Firefox reads no start bitrate from the answer). Bob's camera
    // goes off meanwhile.
    await bob.control('Stop camera');
    const cameraOn = Date.now();
    await dana.control('Start camera');
    const flowing = await allLayersFlow(dana, 60_000);
    console.info(`Firefox: all three camera layers flowing ${flowing - cameraOn} ms after Start camera`);
    // Alice (Chromium) decodes each of them: small, then big.
    await alice.resize(480, 400);
    await expectLayer(alice, dana, ids.Dana!, 0);
    await alice.resize(1800, 1000);
    await expectLayer(alice, dana, ids.Dana!, 2);
    expect(d.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('last-N: a speaker view shows video of the recent speakers, avatars saying why for the others, and follows a new speaker (Chromium and Firefox)', async () => {
    if (!server) throw new Error('not started');
    // A new meeting: the browsers join, then three bots (late-bots.browser.test.ts has why that
    // order once failed).
    for (const m of [alice, bob, dana]) await m.control('Leave');
    await alicePage.page.goto(server.url + '/');
    await alicePage.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl2 = await alicePage.page.getByLabel('Host link').inputValue();
    const joinUrl2 = await alicePage.page.getByLabel('Join link').inputValue();
    const meeting2 = new URL(joinUrl2).pathname.split('/').pop() ?? '';
    expect(await join(alicePage, hostUrl2, { cameraOff: true })).toBe('room');
    // Bob with his camera, Dana (Firefox) without: one camera of a browser to encode.
    expect(await join(bobPage, joinUrl2)).toBe('room');
    await firefoxJoinCameraOff(danaPage, joinUrl2);
    for (const name of ['bot-1', 'bot-2', 'bot-3']) {
      const peer = new NodeMediaPeer({ loopbackOnly: true });
      peer.setAudioLevel(SILENT);
      const bot = new Bot({ serverUrl: server.url, meetingId: meeting2, name, transport: () => peer });
      bots.push({ bot, peer, name });
      await bot.start();
    }
    for (const m of [alice, bob, dana])
      await until(
        `${m.name}: six in the group`,
        () => m.read(),
        (x) => x.e2eeActive && x.roster.length === 6,
      );
    for (const b of bots) ids[b.name] = b.bot.client.participantId ?? '';
    for (const m of [alice, bob, dana])
      ids[m.name.replace(' (Firefox)', '')] = (await m.read()).participantId ?? '';
    // The SFU gets every camera that is on: Bob's and the bots'.
    const server_ = server;
    await until(
      'the SFU receives every camera',
      async () => ({
        status: (await alice.read()).mediaStatus,
        bots: bots.map((b) => ({ sent: b.bot.framesSent, publish: b.peer.connectionState('publish') })),
      }),
      ({ status }) =>
        [...bots.map((b) => ids[b.name]!), ids.Bob!].every(
          (id) =>
            (status?.video.find((x) => x.participantId === id && x.source === 'camera')?.layers ?? 0) >= 1,
        ),
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nserver: ${server_.output().slice(-3000)}`);
    });
    // Bob and Dana stop talking (their fake microphones make sound).
    await bob.control('Mute');
    await dana.control('Mute');

    // Alice and Dana: the speaker view, in a window where the filmstrip fits three tiles (their
    // own and two others): video for the large tile and two more, of four cameras (Bob's and
    // the bots'; Alice's and Dana's are off).
    for (const m of [alice, dana]) {
      await m.control('Speaker view');
      await m.resize(700, 600);
    }
    const watchers = [alice, dana];
    for (const m of watchers) {
      const v = await until(
        `${m.name}: speaker view, lastN 3`,
        () => m.read(),
        (x) => x.layout === 'speaker' && x.view?.lastN === 3,
      );
      expect(v.view?.pinned).toEqual([]);
    }
    const botPeer = (name: string) => bots.find((b) => b.name === name)!.peer;
    const nameOf = (id: string) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id;
    /** The others' cameras `m` gets and the ones it does not (of those with a camera on). */
    const split = (v: ConclaveTestView) => {
      const cams = (v.mediaStatus?.video ?? []).filter((x) => x.source === 'camera' && x.reason !== 'muted');
      return {
        on: cams.filter((x) => x.forwarded).map((x) => x.participantId),
        off: cams.filter((x) => !x.forwarded).map((x) => x.participantId),
      };
    };

    /** `speaker` speaks: on each watcher it is forwarded, large, and the avatars say why. */
    const speaks = async (speaker: string) => {
      for (const m of watchers) {
        const v = await until(
          `${m.name}: ${speaker} the active speaker, in the large tile`,
          () => m.read(),
          (x) => x.mainSpeaker === ids[speaker] && cameraOf(x, ids[speaker]!)?.reason === 'speaker',
        );
        const { on, off } = split(v);
        expect(on.length, `${m.name}: cameras forwarded`).toBe(3);
        expect(off.length, `${m.name}: cameras not forwarded`).toBe(1);
        // The first forwarded one of the meeting's speakers (a page whose camera is off, as Alice's
        // own fake microphone, may rank above it without video).
        expect(v.mediaStatus?.speakers.find((id) => on.includes(id))).toBe(ids[speaker]);
        // The tiles: the large one is the speaker; the others not forwarded show their initials
        // and why (hover text and screen-reader text).
        const tiles = await until(
          `${m.name}: tiles follow media_status`,
          () => m.tiles(),
          (ts) =>
            ts.find((t) => t.main)?.participant === ids[speaker] &&
            off.every((id) => ts.find((t) => t.participant === id)?.forwarded === 'false'),
          10_000,
        );
        for (const id of off) {
          const t = tiles.find((x) => x.participant === id)!;
          expect(t, `${m.name}: ${nameOf(id)}'s tile`).toMatchObject({
            video: 'avatar',
            reason: 'last_n',
            why: 'Not a recent speaker',
            title: 'Not a recent speaker',
          });
        }
      }
    };

    botPeer('bot-1').setAudioLevel(SPEAKING);
    await speaks('bot-1');
    // The speaker view with avatars, badges and pin buttons stays accessible.
    expect(await axeSerious(alicePage.page)).toEqual([]);
    await screenshot(alicePage.page, 'speaker-view-last-n');
    // Someone not forwarded now starts to speak (bot-1 stops): the view follows.
    const offNow = split(await alice.read()).off.map(nameOf);
    const next = offNow.find((n) => n.startsWith('bot-'));
    expect(next, `a bot among those Alice does not get: ${offNow.join(', ')}`).toBeDefined();
    botPeer('bot-1').setAudioLevel(SILENT);
    botPeer(next!).setAudioLevel(SPEAKING);
    await speaks(next!);
    // bot-1 spoke before: still a recent speaker, still forwarded.
    for (const m of watchers) expect(cameraOf(await m.read(), ids['bot-1']!)?.forwarded).toBe(true);

    // Pinning someone not forwarded: the SFU forwards them ('pinned'), and they take the large tile.
    const stillOff = split(await alice.read()).off.map(nameOf);
    const pin = stillOff[0]!;
    await alice.tileButton(`Pin ${pin}`);
    await until(
      `Alice: ${pin} pinned, large`,
      () => alice.read(),
      (x) =>
        x.view?.pinned.includes(ids[pin]!) === true &&
        cameraOf(x, ids[pin]!)?.reason === 'pinned' &&
        x.mainSpeaker === ids[pin],
    );
    await alice.tileButton(`Unpin ${pin}`);
    await until(
      `Alice: ${next} large again`,
      () => alice.read(),
      (x) => x.view?.pinned.length === 0 && x.mainSpeaker === ids[next!],
    );
  });

  it('speaker view: the participant who speaks is shown large (Chromium and Firefox)', async () => {
    // A bot speaks (its audio-level extension says so): deterministic, where a browser's fake
    // microphone (a short beep a second) made the ranking depend on the machine's timing. The
    // large tile's decoded browser video is covered by the layer parts above.
    for (const b of bots) b.peer.setAudioLevel(SILENT);
    const speaker = bots[bots.length - 1]!;
    speaker.peer.setAudioLevel(SPEAKING);
    const id = ids[speaker.name]!;
    for (const m of [alice, dana]) {
      await until(
        `${m.name}: ${speaker.name} the active speaker, in the large tile`,
        () => m.read(),
        (x) => x.mainSpeaker === id && x.mediaStatus?.speakers[0] === id,
        40_000,
      );
      const tiles = await until(
        `${m.name}: ${speaker.name}'s tile is the large one`,
        () => m.tiles(),
        (ts) => ts.find((x) => x.main)?.participant === id,
        15_000,
      );
      expect(tiles.find((t) => t.main)?.name).toBe(speaker.name);
      expect(cameraOf(await m.read(), id)).toMatchObject({ forwarded: true, reason: 'speaker' });
    }
    speaker.peer.setAudioLevel(SILENT);
  });
});
