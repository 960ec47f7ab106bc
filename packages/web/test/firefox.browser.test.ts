import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import {
  join,
  mediaFrom,
  openPage,
  shownSecurityCode,
  signUp,
  sleep,
  view,
  type Participant,
} from './helpers.js';
import {
  firefoxChatMessage,
  firefoxControl,
  firefoxJoin,
  firefoxSendChat,
  firefoxShownCodes,
  firefoxView,
  firefoxWaitFor,
  launchFirefox,
  openFirefoxPage,
  type Firefox,
  type FirefoxParticipant,
} from './firefox.js';
import type { ConclaveTestView } from '../src/test-hooks.js';

/** A page of either engine, as far as the test view goes. */
interface Member {
  name: string;
  read(): Promise<ConclaveTestView>;
  errors: string[];
}

const chromiumMember = (p: Participant): Member => ({ name: p.name, read: () => view(p), errors: p.errors });
const firefoxMember = (p: FirefoxParticipant): Member => ({
  name: `${p.name} (Firefox)`,
  read: () => firefoxView(p),
  errors: p.errors,
});

/** Polls `m`'s test view until `pred` holds. */
async function until(
  m: Member,
  what: string,
  pred: (v: ConclaveTestView) => boolean,
  timeoutMs = 20_000,
): Promise<ConclaveTestView> {
  const t0 = Date.now();
  for (;;) {
    const v = await m.read();
    if (pred(v)) return v;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `${m.name}: timed out after ${timeoutMs} ms waiting for ${what}; last view: ${JSON.stringify(v)}; errors: ${m.errors.join(' | ')}`,
      );
    }
    await sleep(250);
  }
}

/**
 * `m` keeps decoding video (getStats framesDecoded) and receiving audio packets from each of
 * `others`, and its E2EE worker keeps decrypting frames. Headless Chromium has no audio
 * output, so audio counts as arriving by its packets and the worker's counters, not samples.
 */
async function expectMediaFlowing(m: Member, others: { name: string; id: string }[]): Promise<void> {
  const before = await m.read();
  await until(
    m,
    `video and audio from ${others.map((o) => o.name).join(', ')}`,
    (v) =>
      v.framesDecrypted > before.framesDecrypted + 100 &&
      others.every((o) => {
        const a = mediaFrom(before, o.id);
        const b = mediaFrom(v, o.id);
        return b.videoFrames > a.videoFrames + 10 && b.audioPackets > a.audioPackets + 20;
      }),
    15_000,
  );
}

/**
 * Both engines in one end-to-end encrypted meeting: two headless Chromium pages (the host,
 * Alice, signed up with the paid plan, and Bob, a guest) and one headless Firefox page
 * (Debian's firefox-esr over WebDriver BiDi; Fiona, a guest). Firefox has
 * RTCRtpScriptTransform but not createEncodedStreams(): every page decrypts and decodes the
 * others' SFrame-protected VP8 and Opus, whichever engine encoded them.
 */
describe('E2EE meeting with Chromium and Firefox pages', () => {
  let server: SpawnedServer | undefined;
  let chromium: Browser | undefined;
  let ff: Firefox | undefined;
  let alice: Participant;
  let bob: Participant;
  let fiona: FirefoxParticipant;
  let members: Member[] = [];
  /** Participant ids by member name. */
  const ids: Record<string, string> = {};
  const othersOf = (m: Member) =>
    members.filter((o) => o !== m).map((o) => ({ name: o.name, id: ids[o.name] ?? '' }));

  beforeAll(async () => {
    const [sb, f] = await Promise.allSettled([startServerAndBrowser(), launchFirefox()]);
    if (sb.status === 'fulfilled') ({ server, browser: chromium } = sb.value);
    if (f.status === 'fulfilled') ff = f.value;
    if (sb.status === 'rejected') throw sb.reason;
    if (f.status === 'rejected') throw f.reason;
    console.info(`firefox-esr launched in ${f.value.launchMs} ms`);
  });

  afterAll(async () => {
    await Promise.all([ff?.close(), chromium?.close().catch(() => undefined)]);
    await server?.stop();
  });

  it('three pages, one of them Firefox, join: each decodes the others both ways, one security code', async () => {
    if (!server || !chromium || !ff) throw new Error('not started');
    alice = await openPage(chromium, 'Alice');
    bob = await openPage(chromium, 'Bob');
    fiona = await openFirefoxPage(ff, 'Fiona');
    const email = 'alice@example.org';
    await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await alice.page.goto(server.url + '/');
    await alice.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await alice.page.getByLabel('Host link').inputValue();
    const joinUrl = await alice.page.getByLabel('Join link').inputValue();

    expect(await join(alice, hostUrl)).toBe('room');
    expect(await join(bob, joinUrl)).toBe('room');
    await firefoxJoin(fiona, joinUrl);
    // The Firefox page runs the app's RTCRtpScriptTransform path (it has no createEncodedStreams).
    await expect(
      fiona.page.evaluate(() => [
        /Firefox\//.test(navigator.userAgent),
        typeof RTCRtpScriptTransform,
        typeof (RTCRtpSender.prototype as unknown as Record<string, unknown>).createEncodedStreams,
      ]),
    ).resolves.toEqual([true, 'function', 'undefined']);

    members = [chromiumMember(alice), chromiumMember(bob), firefoxMember(fiona)];
    for (const m of members) {
      const v = await until(
        m,
        'three members in the MLS roster',
        (x) => x.roster.length === 3 && x.e2eeActive,
      );
      expect(v.mode).toBe('e2ee');
      ids[m.name] = v.participantId ?? '';
    }

    // Every page decodes the others' video and receives their audio: Chromium → Firefox,
    // Firefox → Chromium, and Chromium → Chromium. No frame fails to decrypt, not even during
    // the joins: the few sent under the new epoch before a page processed its commit are
    // dropped as frames without a key, not counted as failures (the workers report once a second).
    await sleep(1500);
    const atJoin = await Promise.all(members.map((m) => m.read()));
    for (const [i, m] of members.entries())
      expect(atJoin[i]?.decryptFailures, `${m.name}: decrypt failures during the joins`).toBe(0);
    await Promise.all(members.map((m) => expectMediaFlowing(m, othersOf(m))));
    for (const [i, m] of members.entries()) {
      const v = await m.read();
      expect(v.framesEncrypted, `${m.name}: frames encrypted`).toBeGreaterThan(
        atJoin[i]?.framesEncrypted ?? 0,
      );
      expect(v.decryptFailures, `${m.name}: decrypt failures since the join`).toBe(
        atJoin[i]?.decryptFailures,
      );
      // VP8 and Opus only, from both engines: the SFrame clear-prefix layouts are defined for them.
      expect(new Set(v.inbound.map((s) => s.codec?.toLowerCase())), `${m.name}: codecs`).toEqual(
        new Set(['video/vp8', 'audio/opus']),
      );
    }

    // One security code and one membership code on all three, in the test view and on screen.
    const views = await Promise.all(members.map((m) => m.read()));
    expect(new Set(views.map((v) => v.epoch)).size).toBe(1);
    const code = views[0]?.securityCode;
    const membership = views[0]?.membershipCode;
    expect(code).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(membership).toBeTruthy();
    for (const v of views) expect([v.securityCode, v.membershipCode]).toEqual([code, membership]);
    expect(await shownSecurityCode(alice)).toBe(code);
    expect(await shownSecurityCode(bob)).toBe(code);
    await firefoxControl(fiona, 'Security');
    expect(await firefoxShownCodes(fiona)).toEqual({ securityCode: code, membershipCode: membership });
    // Nothing in the app threw in Firefox.
    expect(fiona.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('chat arrives both ways between Firefox and Chromium', async () => {
    const chat = (p: Participant) =>
      p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name: 'Chat' })
        .click();
    await Promise.all([chat(alice), chat(bob), firefoxControl(fiona, 'Chat')]);

    const input = alice.page.getByRole('textbox', { name: 'Message' });
    await input.fill('Hello from Chromium');
    await input.press('Enter');
    expect(await firefoxChatMessage(fiona, 'Hello from Chromium')).toBe('Alice');

    await firefoxSendChat(fiona, 'Hello from Firefox');
    for (const p of [alice, bob]) {
      const log = p.page.getByRole('log', { name: 'Messages' });
      const msg = log.getByRole('listitem').filter({ hasText: 'Hello from Firefox' });
      await msg.waitFor({ timeout: 10_000 });
      await expect(msg.locator('.chat-author').textContent()).resolves.toBe('Fiona');
    }
  });

  it('the Firefox page leaves: the others’ rosters drop it, their media goes on', async () => {
    const [a, b] = members;
    if (!a || !b) throw new Error('no members');
    const before = await a.read();
    await firefoxControl(fiona, 'Leave');
    await firefoxWaitFor(
      fiona.page,
      'the page saying "You left the meeting."',
      () => [...document.querySelectorAll('h1, h2')].some((h) => h.textContent === 'You left the meeting.'),
      [],
      10_000,
    );
    const after = await Promise.all(
      [a, b].map((m) =>
        until(
          m,
          'a new epoch without Fiona',
          (v) => v.roster.length === 2 && v.epoch !== before.epoch && v.e2eeActive,
        ),
      ),
    );
    for (const v of after) expect(v.roster.map((r) => r.displayName).sort()).toEqual(['Alice', 'Bob']);
    expect(after[0]?.securityCode).toBe(after[1]?.securityCode);
    expect(after[0]?.membershipCode).toBe(after[1]?.membershipCode);
    expect(after[0]?.membershipCode).not.toBe(before.membershipCode);
    members = [a, b];
    await Promise.all(members.map((m) => expectMediaFlowing(m, othersOf(m))));
  });
});
