// Live frame attestation in the app, in Chromium and Firefox: a modified bot (an SDK key sink
// that protects its camera under another member's KID) sends media as Bob; the pages receiving
// it flag Bob — on his tile, in the participants list and in the security panel — while the
// honest senders stay clean. Bots and pages meet through the real server and its SFU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Bot, ImpersonatingKeySink } from '@conclave/client/node';
import { NodeMediaPeer } from '@conclave/client/media';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { join, openPage, signUp, until, view, type Participant } from './helpers.js';
import {
  firefoxControl,
  firefoxJoin,
  firefoxWaitFor,
  firefoxView,
  launchFirefox,
  openFirefoxPage,
  type Firefox,
  type FirefoxParticipant,
} from './firefox.js';
import type { ConclaveTestView } from '../src/test-hooks.js';

/** The modified client's sink: camera frames go out under `victim`'s screen KID. */

const mediaOf = (v: ConclaveTestView, name: string) => v.people.find((p) => p.displayName === name)?.media;

async function firefoxUntil(
  p: FirefoxParticipant,
  what: string,
  pred: (v: ConclaveTestView) => boolean,
  ms = 30_000,
) {
  const t0 = Date.now();
  for (;;) {
    const v = await firefoxView(p);
    if (pred(v)) return v;
    if (Date.now() - t0 > ms)
      throw new Error(
        `${p.name}: timed out waiting for ${what}; last: ${JSON.stringify(v.people)}; ${p.errors.join(' | ')}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('live frame attestation in the app', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let firefox: Firefox | undefined;
  const bots: Bot[] = [];

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser());
    firefox = await launchFirefox();
  });

  afterAll(async () => {
    await Promise.all(bots.map((b) => b.stop().catch(() => undefined)));
    await firefox?.close();
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('pages receiving media sent under Bob\u2019s key that Bob did not sign flag Bob, and nobody else', async () => {
    const alice: Participant = await openPage(browser, 'Alice');
    const email = 'alice@example.org';
    await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await alice.page.goto(server.url + '/');
    await alice.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await alice.page.getByLabel('Host link').inputValue();
    const joinUrl = await alice.page.getByLabel('Join link').inputValue();
    const meetingId = new URL(joinUrl).pathname.split('/').at(-1)!;
    expect(await join(alice, hostUrl, { cameraOff: true })).toBe('room');

    const mallorySink = new ImpersonatingKeySink();
    for (const [name, keySink] of [
      ['bob', undefined],
      ['mallory', mallorySink],
    ] as const) {
      const b = new Bot({
        serverUrl: server.url,
        meetingId,
        name,
        videoFps: 10,
        transport: () => new NodeMediaPeer({ loopbackOnly: true }),
        keySink,
      });
      bots.push(b);
      await b.start();
    }
    const dana = await openFirefoxPage(firefox!, 'Dana');
    await firefoxJoin(dana, joinUrl);
    const all = (v: ConclaveTestView) => v.e2eeActive && v.roster.length === 4;
    await until(alice, 'four in one group', all, 30_000);
    await firefoxUntil(dana, 'four in one group', all);

    // Everyone attests: after the start-up grace, both bots' and both browsers' media arrives and
    // nobody is flagged (Alice's camera is off: her microphone is what Dana checks of her).
    const receiving =
      (...names: string[]) =>
      (v: ConclaveTestView) =>
        names.every((n) => mediaOf(v, n) === 'receiving');
    const honestAtAlice = receiving('bob', 'mallory', 'Dana');
    const honestAtDana = receiving('bob', 'mallory', 'Alice');
    await until(alice, 'media from the bots and Firefox', honestAtAlice, 30_000);
    await firefoxUntil(dana, 'media from the bots and Chromium', honestAtDana);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(honestAtAlice(await view(alice))).toBe(true);
    expect(honestAtDana(await firefoxView(dana))).toBe(true);

    // Mallory's camera now goes out as Bob's screen.
    mallorySink.victim = bots[0]!.client.ownLeafIndex;
    const flagged = (others: (v: ConclaveTestView) => boolean) => (v: ConclaveTestView) =>
      mediaOf(v, 'bob') === 'unattested' && others(v);
    await until(alice, 'Bob flagged', flagged(receiving('mallory', 'Dana')), 20_000);
    await firefoxUntil(dana, 'Bob flagged', flagged(receiving('mallory', 'Alice')), 20_000);

    // Chromium: Bob's tile and the security panel say it.
    const tile = alice.page.locator('li.tile[data-media="unattested"]');
    await tile.waitFor({ timeout: 10_000 });
    expect(await tile.count()).toBe(1);
    expect(await tile.getAttribute('data-tile-name')).toBe('bob');
    expect(await tile.textContent()).toContain('media sent as them that they did not sign');
    await alice.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Security/ })
      .click();
    const summary = alice.page.getByRole('list', { name: 'Media from each participant' });
    await summary.waitFor();
    expect(await summary.textContent()).toMatch(/sending media as bob that this person did not sign/);
    // Firefox: the tile too.
    await dana.page.waitForSelector('li.tile[data-media="unattested"][data-tile-name="bob"]', {
      timeout: 10_000,
    });
    await firefoxControl(dana, 'Security');
    await firefoxWaitFor(
      dana.page,
      "the Security panel's line on bob's unsigned media",
      () =>
        document.querySelector('[aria-label="Media from each participant"]')?.textContent?.includes('as bob'),
      [],
      10_000,
    );
  });
});
