import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import {
  axeSerious,
  expectMediaFlowing,
  join,
  mediaFrom,
  openPage,
  screenshot,
  shownSecurityCode,
  signUp,
  sleep,
  until,
  view,
  type Participant,
} from './helpers.js';

/**
 * The browser app end to end: `conclave serve` (HTTP API, signaling, SFU, the built web app)
 * and headless Chromium pages with fake cameras and microphones, in one browser process
 * (one context per participant). Tests share the meeting built up by the earlier ones.
 * The host (Alice) signs up and gets a paid plan (hosting E2EE meetings needs one, or the
 * phone check of account.browser.test.ts); everyone else joins as a guest.
 */
describe('web app in Chromium against conclave serve', () => {
  let server: SpawnedServer;
  let browser: Browser;
  const pages: Participant[] = [];
  let hostUrl = '';
  let joinUrl = '';
  let alice: Participant;
  let bob: Participant;
  let carol: Participant;
  const ids: Record<string, string> = {};

  const open = async (...args: Parameters<typeof openPage> extends [Browser, ...infer R] ? R : never) => {
    const p = await openPage(browser, ...args);
    pages.push(p);
    return p;
  };

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('home page creates an end-to-end encrypted meeting by default and shows the host and join links', async () => {
    // Every page refuses to add "Mallory" to the MLS group (test hook; see the refused-joiner test).
    alice = await open('Alice', { refuseJoiners: ['Mallory'] });
    const { page } = alice;
    const email = 'alice@example.org';
    await signUp(alice, server.url, { email, password: 'correct horse battery', displayName: 'Alice' });
    await adminPlan(server, email, 'paid');
    await page.goto(server.url + '/');
    await expect(page.getByRole('radio', { name: /End-to-end encrypted/ }).isChecked()).resolves.toBe(true);
    expect(await page.getByText('the server can see and hear the meeting').count()).toBe(1);
    expect(await axeSerious(page)).toEqual([]);
    await page.getByLabel('Meeting name (optional)').fill('Design review');
    await page.getByRole('button', { name: 'Create meeting' }).click();
    await page.getByRole('heading', { name: 'Your meeting is ready' }).waitFor();
    hostUrl = await page.getByLabel('Host link').inputValue();
    joinUrl = await page.getByLabel('Join link').inputValue();
    expect(hostUrl).toMatch(/\/m\/[A-Za-z0-9_-]+#host=.+/);
    expect(joinUrl).toMatch(/\/m\/[A-Za-z0-9_-]+$/);
    expect(await axeSerious(page)).toEqual([]);
  });

  it('three pages join: each decodes the others, all show the same security code, chat arrives, a screen share is decoded', async () => {
    // Bob's page uses the createEncodedStreams() fallback: both transform paths interoperate.
    bob = await open('Bob', { refuseJoiners: ['Mallory'], e2eeApi: 'encoded-streams' });
    carol = await open('Carol', { refuseJoiners: ['Mallory'] });

    // Pre-join page of the host link: mode shown, accessible.
    await alice.page.goto(hostUrl);
    await alice.page.getByText('You are joining as the host').waitFor();
    await alice.page.getByText('Only the participants can see and hear this meeting').waitFor();
    expect(await axeSerious(alice.page)).toEqual([]);

    expect(await join(alice, hostUrl)).toBe('room');
    expect(await join(bob, joinUrl)).toBe('room');
    expect(await join(carol, joinUrl)).toBe('room');
    const trio = [alice, bob, carol];
    for (const p of trio) {
      const v = await until(
        p,
        'three members in the MLS roster',
        (x) => x.roster.length === 3 && x.e2eeActive,
      );
      ids[p.name] = v.participantId ?? '';
    }
    // Alice joined as her account (its device key registered): the others see her verified.
    for (const p of [bob, carol]) {
      await until(p, 'Alice verified, Bob and Carol guests', (x) =>
        x.roster.every((m) => m.verification === (m.displayName === 'Alice' ? 'verified' : 'guest')),
      );
    }
    for (const p of trio) {
      const others = trio.filter((o) => o !== p).map((o) => ({ name: o.name, id: ids[o.name] ?? '' }));
      await expectMediaFlowing(p, others);
      const v = await view(p);
      expect(v.framesDecrypted).toBeGreaterThan(50);
      expect(v.framesEncrypted).toBeGreaterThan(50);
      // VP8 and Opus only: the SFrame clear-prefix layouts are defined for them.
      expect(new Set(v.inbound.map((i) => i.codec?.toLowerCase()))).toEqual(
        new Set(['video/vp8', 'audio/opus']),
      );
    }

    // One security code everywhere, the same on screen as in the SDK, and the indicator is green.
    const codes = await Promise.all(trio.map((p) => shownSecurityCode(p)));
    expect(codes[0]).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(new Set(codes).size).toBe(1);
    expect((await view(alice)).securityCode).toBe(codes[0]);
    for (const p of trio) {
      await expect(
        p.page.getByRole('button', { name: 'End-to-end encrypted' }).getAttribute('data-status'),
      ).resolves.toBe('active');
      await p.page.getByText('Read it aloud; everyone should see the same code.').waitFor();
    }

    // E2EE chat (MLS application messages): sent from Alice, shown with her MLS name.
    await alice.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Chat' })
      .click();
    const input = alice.page.getByRole('textbox', { name: 'Message' });
    await input.fill('Hello from Alice');
    await input.press('Enter');
    for (const p of [bob, carol]) {
      await p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name: 'Chat' })
        .click();
      const log = p.page.getByRole('log', { name: 'Messages' });
      await log.getByText('Hello from Alice').waitFor({ timeout: 10_000 });
      expect(await log.getByText('Alice', { exact: true }).count()).toBe(1);
    }

    // Screen share from Carol (headless Chromium's fake screen), end-to-end encrypted like the camera.
    await carol.page.getByRole('button', { name: 'Share screen' }).click();
    await carol.page.getByRole('button', { name: 'Stop sharing' }).waitFor();
    for (const p of [alice, bob]) {
      await until(
        p,
        "Carol's screen share decoded",
        (v) => mediaFrom(v, ids.Carol ?? '', 'screen').videoFrames > 10,
      );
      await p.page
        .getByRole('img', { name: 'Carol: screen' })
        .or(p.page.getByLabel('Carol: screen'))
        .first()
        .waitFor();
    }
    await screenshot(alice.page, 'room-three-with-screen');
    await carol.page.getByRole('button', { name: 'Stop sharing' }).click();
  });

  it('a page in the SFU session that the key holders never add to the MLS group gets no media and decodes no frame', async () => {
    const mallory = await open('Mallory');
    expect(await join(mallory, joinUrl)).toBe('room');
    await mallory.page.getByText(/Waiting to be added to the meeting.s encryption group/).waitFor();
    await sleep(3000);
    const v = await view(mallory);
    // The SFU forwards a participant's media only to members of the MLS group: not even
    // ciphertext reaches her, and nothing reaches her decoders.
    expect(v.e2eeActive).toBe(false);
    expect(v.roster).toEqual([]);
    expect(v.framesDecrypted).toBe(0);
    expect(v.inbound.every((i) => i.packetsReceived === 0 && i.framesDecoded === 0)).toBe(true);
    await expect(mallory.page.getByRole('button', { name: 'Not encrypted yet' }).isVisible()).resolves.toBe(
      true,
    );
    // The others never list her as a member; the host sees her as connecting, outside the group.
    expect((await view(alice)).roster.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob', 'Carol']);
    await alice.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Participants/ })
      .click();
    const connecting = alice.page.getByRole('list', { name: 'Connecting, not in the encryption group' });
    await connecting.locator('.person-name', { hasText: 'Mallory' }).waitFor();
    await screenshot(mallory.page, 'room-refused-joiner');
    await mallory.page.getByRole('button', { name: 'Leave' }).click();
    await mallory.context.close();
  });

  it('meeting room: no serious accessibility violations, main controls work from the keyboard, phone width fits', async () => {
    const { page } = alice;
    // Participants panel (host view) is open from the previous test.
    await page.getByRole('complementary', { name: 'Participants' }).waitFor();
    await screenshot(page, 'room-host-participants');
    expect(await axeSerious(page)).toEqual([]);
    await page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Security' })
      .click();
    expect(await axeSerious(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await page.getByRole('complementary').waitFor({ state: 'detached' });
    expect(await axeSerious(page)).toEqual([]);
    await screenshot(page, 'room-host');

    // Keyboard: Tab reaches the controls in order; Enter and Space operate them.
    const controls = page.getByRole('navigation', { name: 'Meeting controls' });
    await controls.getByRole('button', { name: 'Mute' }).focus();
    await page.keyboard.press('Enter');
    await controls.getByRole('button', { name: 'Unmute' }).waitFor();
    await page.keyboard.press('Space');
    await controls.getByRole('button', { name: 'Mute' }).waitFor();
    const order: string[] = [];
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    expect(order).toEqual([
      'Stop camera',
      'Share screen',
      'Speaker view',
      'Participants (3)',
      'Chat',
      'Security',
      'Leave',
    ]);
    // Participants (3) → Enter opens the panel and moves focus into it.
    await controls.getByRole('button', { name: /^Participants/ }).focus();
    await page.keyboard.press('Enter');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Participants');
    await page.keyboard.press('Escape');

    // Phone width: nothing overflows sideways.
    const phone = await open('Phone', {}, { width: 375, height: 740 });
    await phone.page.goto(joinUrl);
    await phone.page.getByLabel('Your camera preview').waitFor();
    await phone.page.getByRole('option', { name: /fake/i }).first().waitFor({ state: 'attached' });
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshot(phone.page, 'prejoin-phone');
    await alice.page.setViewportSize({ width: 375, height: 740 });
    expect(await alice.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await screenshot(alice.page, 'room-phone');
    await alice.page.setViewportSize({ width: 1280, height: 720 });
    await phone.context.close();
  });

  it('one page leaves: the others’ rosters and security codes change, media goes on', async () => {
    const before = await view(alice);
    await carol.page.getByRole('button', { name: 'Leave' }).click();
    await carol.page.getByRole('heading', { name: 'You left the meeting.' }).waitFor();
    const after = await Promise.all(
      [alice, bob].map((p) =>
        until(
          p,
          'a new epoch without Carol',
          (v) => v.roster.length === 2 && v.epoch !== before.epoch && v.e2eeActive,
        ),
      ),
    );
    expect(after[0]?.securityCode).toBe(after[1]?.securityCode);
    expect(after[0]?.securityCode).not.toBe(before.securityCode);
    expect(after[0]?.roster.map((m) => m.displayName).sort()).toEqual(['Alice', 'Bob']);
    await expectMediaFlowing(alice, [{ name: 'Bob', id: ids.Bob ?? '' }]);
    await expectMediaFlowing(bob, [{ name: 'Alice', id: ids.Alice ?? '' }]);
    expect(await shownSecurityCode(bob)).toBe(after[1]?.securityCode);
  });

  it('a dropped connection shows "Reconnecting", then the page rejoins the group and media resumes', async () => {
    const before = await view(bob);
    await bob.page.evaluate(() => window.__conclaveTestActions?.dropConnection());
    await bob.page
      .getByRole('status')
      .getByText('Connection interrupted. Reconnecting…')
      .waitFor({ timeout: 5000 });
    const [a, b] = await Promise.all(
      [alice, bob].map((p) =>
        until(
          p,
          'both back in one group',
          (v) => v.state === 'joined' && v.e2eeActive && v.roster.length === 2 && v.epoch !== before.epoch,
        ),
      ),
    );
    expect(a?.securityCode).toBe(b?.securityCode);
    await expectMediaFlowing(bob, [{ name: 'Alice', id: ids.Alice ?? '' }]);
    await expectMediaFlowing(alice, [{ name: 'Bob', id: ids.Bob ?? '' }]);
    await bob.page.getByRole('button', { name: 'Leave' }).click();
    await bob.context.close();
  });

  it('waiting room: the joiner the host admits decodes media, the one denied never does', async () => {
    const { page } = alice;
    await page.goto(server.url + '/');
    await page.getByRole('checkbox', { name: /Waiting room/ }).check();
    await page.getByRole('button', { name: 'Create meeting' }).click();
    const host = await page.getByLabel('Host link').inputValue();
    const link = await page.getByLabel('Join link').inputValue();
    expect(await join(alice, host)).toBe('room');
    await until(alice, 'the new group', (v) => v.e2eeActive);
    const dave = await open('Dave');
    const eve = await open('Eve');
    expect(await join(dave, link)).toBe('waiting');
    expect(await join(eve, link)).toBe('waiting');
    expect(await axeSerious(dave.page)).toEqual([]);

    await page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Participants/ })
      .click();
    await page.getByRole('button', { name: 'Admit Dave' }).click();
    await page.getByRole('button', { name: 'Deny Eve' }).click();
    await dave.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    await eve.page
      .getByRole('heading', { name: 'The host did not let you in.' })
      .waitFor({ timeout: 15_000 });
    const daveId =
      (await until(dave, 'Dave in the group', (v) => v.roster.length === 2 && v.e2eeActive)).participantId ??
      '';
    await expectMediaFlowing(dave, [{ name: 'Alice', id: (await view(alice)).participantId ?? '' }]);
    await expectMediaFlowing(alice, [{ name: 'Dave', id: daveId }]);
    const e = await view(eve);
    expect(e.framesDecrypted).toBe(0);
    expect(e.inbound.every((i) => i.framesDecoded === 0 && i.packetsReceived === 0)).toBe(true);
    await eve.context.close();

    // Host controls: make co-host, mute, lock, remove.
    await page.getByRole('button', { name: 'Make co-host Dave' }).click();
    await page.getByRole('button', { name: 'Remove co-host Dave' }).waitFor();
    await page.getByRole('button', { name: 'Mute Dave' }).click();
    await dave.page.getByText('The host muted your microphone.').waitFor();
    await dave.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Unmute' })
      .waitFor();
    await page.getByRole('button', { name: 'Lock meeting' }).click();
    await page.getByRole('button', { name: 'Unlock meeting' }).waitFor();
    const late = await open('Late');
    await late.page.goto(link);
    await late.page.getByLabel('Your name').fill('Late');
    await late.page.getByRole('button', { name: 'Join meeting' }).click();
    await late.page.getByText('The host has locked this meeting.').waitFor();
    await late.context.close();
    await page.getByRole('button', { name: 'Remove Dave' }).click();
    await dave.page.getByRole('heading', { name: 'The host removed you from the meeting.' }).waitFor();
    await dave.context.close();
  });

  it('errors read as sentences with a next step: unknown meeting, wrong passcode; pasting a link joins', async () => {
    const { page } = alice;
    await page.goto(server.url + '/m/doesNotExist42');
    await page.getByText('This meeting does not exist.').waitFor();
    await page.getByText('Check that the link is complete, or ask the host for a new link.').waitFor();

    await page.goto(server.url + '/');
    await page.getByLabel('Passcode (optional)').fill('open sesame');
    await page.getByRole('button', { name: 'Create meeting' }).click();
    const link = await page.getByLabel('Join link').inputValue();
    // Paste the link into "Join a meeting": the pre-join page asks for the passcode.
    await page.getByLabel('Meeting link or ID').fill(link);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByLabel('Meeting passcode').waitFor();
    expect(await axeSerious(page)).toEqual([]);
    await page.getByLabel('Your name').fill('Alice');
    await page.getByLabel('Meeting passcode').fill('wrong guess');
    await page.getByRole('button', { name: 'Join meeting' }).click();
    await page.getByRole('alert').getByText('That passcode is not right.').waitFor();
    await page.getByText('Check the passcode with the host and try again.').waitFor();
    expect(await join(alice, link, { passcode: 'open sesame' })).toBe('room');
    await page.getByRole('button', { name: 'Leave' }).click();
    await page.getByRole('heading', { name: 'You left the meeting.' }).waitFor();

    // A browser with neither encoded-transform API is told why it cannot join an E2EE meeting.
    const old = await open('Old browser');
    await old.context.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      delete w.RTCRtpScriptTransform;
      delete (RTCRtpSender.prototype as unknown as Record<string, unknown>).createEncodedStreams;
    });
    await old.page.goto(joinUrl);
    await old.page
      .getByText('You cannot join this end-to-end encrypted meeting from this browser.')
      .waitFor();
    await old.page.getByText(/lacks WebRTC Encoded Transform/).waitFor();
    await expect(old.page.getByRole('button', { name: 'Join meeting' }).isDisabled()).resolves.toBe(true);
    await old.context.close();
  });

  it('standard mode works and is labelled as such; end for all', async () => {
    const { page } = alice;
    await page.goto(server.url + '/');
    await page.getByRole('radio', { name: 'Standard' }).check();
    await page.getByRole('button', { name: 'Create meeting' }).click();
    const host = await page.getByLabel('Host link').inputValue();
    const link = await page.getByLabel('Join link').inputValue();
    const frank = await open('Frank');
    await frank.page.goto(link);
    await frank.page.getByText('the server can see and hear this meeting').waitFor();
    expect(await join(alice, host)).toBe('room');
    expect(await join(frank, link)).toBe('room');
    const aliceId = (await view(alice)).participantId ?? '';
    const frankId = (await view(frank)).participantId ?? '';
    await expectMediaFlowing(frank, [{ name: 'Alice', id: aliceId }]);
    await expectMediaFlowing(alice, [{ name: 'Frank', id: frankId }]);
    const v = await view(frank);
    expect(v.mode).toBe('standard');
    expect(v.framesDecrypted).toBe(0); // no E2EE worker in standard meetings
    await frank.page.getByRole('button', { name: 'Standard: not end-to-end encrypted' }).click();
    await frank.page.getByText('the server can see and hear the media and read the chat').waitFor();
    expect(await axeSerious(frank.page)).toEqual([]);
    await screenshot(frank.page, 'room-standard');

    await page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Participants/ })
      .click();
    await page.getByRole('button', { name: 'Mute everyone' }).click();
    await frank.page.getByText('The host muted your microphone.').waitFor();
    await page.getByRole('button', { name: 'End meeting for all' }).click();
    await page.getByRole('button', { name: 'Yes, end for everyone' }).click();
    for (const p of [alice, frank])
      await p.page.getByRole('heading', { name: 'The host ended the meeting for everyone.' }).waitFor();
  });
});
