import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { join, openPage, signUp, until, type Participant } from './helpers.js';
import type { ConclaveTestView } from '../src/test-hooks.js';

type Frame = Record<string, unknown>;

/** Without ICE candidates (in the SDP or trickled) neither the page nor the SFU can reach the other. */
function withoutCandidates(raw: string | Buffer): string | Buffer | undefined {
  if (typeof raw !== 'string') return raw;
  const frame = JSON.parse(raw) as Frame;
  if (frame.type === 'ice') return undefined;
  if (typeof frame.sdp === 'string')
    frame.sdp = frame.sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate:'))
      .join('\r\n');
  return JSON.stringify(frame);
}

/** The page's signaling goes through the real server, but its media can never connect. */
async function breakMedia(context: BrowserContext): Promise<void> {
  await context.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const out = withoutCandidates(m);
      if (out !== undefined) server.send(out);
    });
    server.onMessage((m) => {
      const out = withoutCandidates(m);
      if (out !== undefined) ws.send(out);
    });
  });
}

const mediaOf = (v: ConclaveTestView, name: string) => v.people.find((p) => p.displayName === name)?.media;

/**
 * What a page says about the media it receives is what happens: a page whose media never
 * connects shows the badge (its worker holds the key) but says, per person, that nothing
 * arrives — never "decrypts correctly" — and the others see that nothing arrives from it.
 */
describe('honest media status per participant', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let alice: Participant;
  let bob: Participant;
  let dana: Participant;

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('a page whose media never connects says so for each person, and the others say so of it', async () => {
    alice = await openPage(browser, 'Alice');
    bob = await openPage(browser, 'Bob');
    dana = await openPage(browser, 'Dana');
    await breakMedia(dana.context);
    const email = 'alice@example.org';
    await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await alice.page.goto(server.url + '/');
    await alice.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await alice.page.getByLabel('Host link').inputValue();
    const joinUrl = await alice.page.getByLabel('Join link').inputValue();
    expect(await join(alice, hostUrl)).toBe('room');
    expect(await join(bob, joinUrl)).toBe('room');
    expect(await join(dana, joinUrl)).toBe('room');
    const inGroup = (v: ConclaveTestView) => v.e2eeActive && v.roster.length === 3;
    await Promise.all([alice, bob, dana].map((p) => until(p, 'all three in one group', inGroup, 30_000)));

    // Alice and Bob receive each other; nothing ever arrives from Dana.
    await until(
      alice,
      'Bob received, Dana not',
      (v) => mediaOf(v, 'Bob') === 'receiving' && mediaOf(v, 'Dana') === 'no_media',
      30_000,
    );
    // Dana's worker holds the key (the badge is right: what she sends would be encrypted), but
    // she receives nothing, and says so per person.
    const d = await until(
      dana,
      'nothing received from anyone',
      (v) => mediaOf(v, 'Alice') === 'no_media' && mediaOf(v, 'Bob') === 'no_media',
      30_000,
    );
    expect(d.indicator).toBe('active');
    expect(d.framesDecrypted).toBe(0);
    await dana.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Security/ })
      .click();
    const summary = dana.page.getByRole('list', { name: 'Media from each participant' });
    await summary.waitFor();
    const text = (await summary.textContent()) ?? '';
    expect(text).toMatch(/No media from (Alice, Bob|Bob, Alice) for 5 s or more/);
    expect(text).not.toContain('decrypts');
    // The tiles and the participants list say it too.
    expect(await dana.page.locator('li.tile[data-media="no_media"]').count()).toBe(2);
    // Bob's page: Alice's media arrives and decrypts; Dana's does not arrive.
    await until(
      bob,
      'Alice received',
      (v) => mediaOf(v, 'Alice') === 'receiving' && mediaOf(v, 'Dana') === 'no_media',
      30_000,
    );
  });
});
