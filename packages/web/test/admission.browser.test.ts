import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, WebSocketRoute } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { forgeDtlsFingerprint } from '@conclave/testing';
import { axeSerious, join, openPage, screenshot, signUp, sleep, until, type Participant } from './helpers.js';

type Frame = Record<string, unknown>;

/**
 * A page's signaling socket, passed through Playwright's WebSocket routing: the page talks to
 * the real server, and the test can answer a join itself, rewrite what the server sends, or
 * send the page a server message. This shows the page the server's admission signals
 * (protocol in packages/protocol: previouslyRemoved, passcode_lockout, the limit error codes)
 * exactly as the protocol defines them, whatever the server's limits are set to.
 */
interface Signaling {
  /** Sends `frame` to the page as if from the server, on its newest socket. */
  inject(frame: Frame): void;
  /** Per join the page sends: an error code answers it (ref 'join') instead of the server. */
  refuseJoin: ((join: Frame) => string | undefined) | undefined;
  /** Rewrites each frame from the server before the page sees it. */
  rewrite: ((frame: Frame) => Frame) | undefined;
  /** Rewrites each frame from the page before the server sees it (a modified client). */
  rewriteOut: ((frame: Frame) => Frame) | undefined;
}

async function routeSignaling(context: BrowserContext): Promise<Signaling> {
  let current: WebSocketRoute | undefined;
  const s: Signaling = {
    inject: (frame) => {
      if (!current) throw new Error('no signaling socket yet');
      current.send(JSON.stringify({ v: 1, ...frame }));
    },
    refuseJoin: undefined,
    rewrite: undefined,
    rewriteOut: undefined,
  };
  await context.routeWebSocket(/\/ws$/, (ws) => {
    current = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (typeof m === 'string' && s.refuseJoin) {
        const msg = JSON.parse(m) as Frame;
        const code = msg.type === 'join' ? s.refuseJoin(msg) : undefined;
        if (code) {
          ws.send(
            JSON.stringify({
              v: 1,
              type: 'error',
              code,
              message: `refused by the test (${code})`,
              ref: 'join',
            }),
          );
          return;
        }
      }
      server.send(
        typeof m === 'string' && s.rewriteOut ? JSON.stringify(s.rewriteOut(JSON.parse(m) as Frame)) : m,
      );
    });
    server.onMessage((m) => {
      ws.send(typeof m === 'string' && s.rewrite ? JSON.stringify(s.rewrite(JSON.parse(m) as Frame)) : m);
    });
  });
  return s;
}

/** The server's marks, by display name (what the server sends hosts for such joiners). */
const MARKS: Record<string, 'identity' | 'network'> = { Rita: 'identity', Ned: 'network' };

describe('admission signals in the web app', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let host: Participant;
  let hostSignaling: Signaling;
  let walt: Participant;
  let waltSignaling: Signaling;
  let link = '';
  const pages: Participant[] = [];

  const open = async (name: string) => {
    const p = await openPage(browser, name);
    pages.push(p);
    return p;
  };

  const participantsPanel = async (p: Participant) => {
    const panel = p.page.getByRole('complementary', { name: 'Participants' });
    if (!(await panel.isVisible()))
      await p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name: /^Participants/ })
        .click();
    await panel.waitFor();
    return panel;
  };

  beforeAll(async () => {
    // Three wrong passcodes per meeting lock passcode entry (the last test; 30 by default).
    ({ server, browser } = await startServerAndBrowser(['--passcode-failures-per-meeting', '3']));
    host = await open('Hilde');
    hostSignaling = await routeSignaling(host.context);
    const email = 'hilde@example.org';
    await signUp(host, server.url, { email, password: 'correct horse battery', displayName: 'Hilde' });
    await adminPlan(server, email, 'paid');
    await host.page.goto(server.url + '/');
    await host.page.getByLabel('Meeting name (optional)').fill('Admission');
    await host.page.getByRole('checkbox', { name: /Waiting room/ }).check();
    await host.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await host.page.getByLabel('Host link').inputValue();
    link = await host.page.getByLabel('Join link').inputValue();
    expect(await join(host, hostUrl, { cameraOff: true })).toBe('room');
    await until(host, 'the group', (v) => v.e2eeActive);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('real server: a signed-in participant removed by the host who joins again waits, marked for the host', async () => {
    // Signed in, the page joins with the account's persistent device key, which the removal
    // recorded (guests join with a fresh identity every time, so only a ban's network mark
    // can follow them).
    const rosa = await open('Rosa');
    await signUp(rosa, server.url, {
      email: 'rosa@example.org',
      password: 'correct horse battery',
      displayName: 'Rosa',
    });
    expect(await join(rosa, link, { cameraOff: true })).toBe('waiting');
    await participantsPanel(host);
    await host.page.getByRole('button', { name: 'Admit Rosa' }).click();
    await rosa.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    // In the encryption group (her leaf reported to the server) before the host removes her.
    await until(rosa, 'Rosa in the group', (v) => v.e2eeActive);
    await until(host, 'Rosa in the host\u2019s roster', (v) => v.roster.length === 2);
    await host.page.getByRole('button', { name: 'Remove Rosa' }).click();
    await rosa.page.getByRole('heading', { name: 'The host removed you from the meeting.' }).waitFor();
    // The host's page commits her removal from the encryption group.
    await until(host, 'Rosa out of the encryption group', (v) => v.roster.length === 1 && v.e2eeActive);

    expect(await join(rosa, link, { cameraOff: true })).toBe('waiting');
    const row = host.page
      .getByRole('region', { name: /^Waiting room/ })
      .getByRole('listitem')
      .filter({ hasText: 'Rosa' });
    await row.getByText('Removed earlier from this meeting').waitFor();
    await host.page.getByRole('button', { name: 'Deny Rosa' }).click();
    await rosa.page.getByRole('heading', { name: 'The host did not let you in.' }).waitFor();
    await rosa.context.close();
  });

  it('the waiting room shows who was removed earlier or shares a banned network, in words', async () => {
    hostSignaling.rewrite = (f) =>
      f.type === 'waiting_room' && Array.isArray(f.waiting)
        ? {
            ...f,
            waiting: (f.waiting as Frame[]).map((w) => {
              const mark = MARKS[String(w.displayName)];
              return mark ? { ...w, previouslyRemoved: mark } : w;
            }),
          }
        : f;
    const rita = await open('Rita');
    const ned = await open('Ned');
    walt = await open('Walt');
    waltSignaling = await routeSignaling(walt.context);
    for (const p of [rita, ned, walt]) expect(await join(p, link, { cameraOff: true })).toBe('waiting');

    const panel = await participantsPanel(host);
    const row = (name: string) =>
      panel
        .getByRole('region', { name: /^Waiting room/ })
        .getByRole('listitem')
        .filter({ hasText: name });
    await row('Walt').waitFor();
    await row('Rita').getByText('Removed earlier from this meeting').waitFor();
    await row('Rita')
      .getByText(/Same device, account or encryption key as someone who was removed/)
      .waitFor();
    await row('Ned').getByText('Same network as a banned participant').waitFor();
    await row('Ned')
      .getByText(/may be someone else on that network/)
      .waitFor();
    expect(await row('Walt').locator('[data-previously-removed]').count()).toBe(0);
    await expect(
      row('Rita').locator('[data-previously-removed]').getAttribute('data-previously-removed'),
    ).resolves.toBe('identity');
    expect(await axeSerious(host.page)).toEqual([]);
    await screenshot(host.page, 'waiting-room-marks');

    await host.page.getByRole('button', { name: 'Deny Rita' }).click();
    await host.page.getByRole('button', { name: 'Deny Ned' }).click();
    await host.page.getByRole('button', { name: 'Admit Walt' }).click();
    await walt.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    await until(walt, 'Walt in the group', (v) => v.e2eeActive && v.roster.length === 2);
    for (const p of [rita, ned]) await p.context.close();
    hostSignaling.rewrite = undefined;
  });

  it('hosts see a passcode lockout banner until it ends; participants do not', async () => {
    const until = Date.now() + 10 * 60_000;
    hostSignaling.inject({ type: 'passcode_lockout', until, failures: 30 });
    waltSignaling.inject({ type: 'passcode_lockout', until, failures: 30 });
    const hhmm = await host.page.evaluate((u) => {
      const d = new Date(u);
      return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    }, until);
    const banner = host.page.getByTestId('passcode-lockout');
    await banner.waitFor();
    await expect(banner.textContent()).resolves.toBe(
      `30 wrong passcodes were tried; joining with the passcode is paused until ${hhmm}. Changing the passcode ends the pause.`,
    );
    expect(await axeSerious(host.page)).toEqual([]);
    await screenshot(host.page, 'passcode-lockout');
    await sleep(1000);
    expect(await walt.page.getByTestId('passcode-lockout').count()).toBe(0);
    // A lockout that ends: the banner goes with it.
    hostSignaling.inject({ type: 'passcode_lockout', until: Date.now() + 1500, failures: 31 });
    await host.page.getByText('31 wrong passcodes were tried', { exact: false }).waitFor();
    await banner.waitFor({ state: 'detached', timeout: 5000 });
  });

  it('media_capacity: the participant stays in the meeting with a notice that stays', async () => {
    waltSignaling.inject({
      type: 'error',
      code: 'media_capacity',
      message: 'no free media ports',
      ref: 'media',
    });
    const notice = walt.page.locator('.notices [data-code="media_capacity"]');
    await notice.getByText('The server has no room for more audio and video right now.').waitFor();
    await notice.getByText(/nobody sees or hears you/).waitFor();
    // Not a passing notice (those go after 6 s), and the page is still in the meeting.
    await sleep(7000);
    await expect(notice.isVisible()).resolves.toBe(true);
    await walt.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor();
    expect((await until(walt, 'still joined', (v) => v.state === 'joined')).state).toBe('joined');
    expect(await axeSerious(walt.page)).toEqual([]);
    await screenshot(walt.page, 'media-capacity');
  });

  it('a media connection that keeps failing: media is made anew three times, then the page says it stopped', async () => {
    const fay = await open('Fay');
    const signaling = await routeSignaling(fay.context);
    // Fay's page is modified: every subscribe answer carries a DTLS fingerprint not its own, so
    // the SFU's connection to her fails each time.
    let forged = 0;
    signaling.rewriteOut = (f) => {
      if (f.type !== 'media_answer' || f.pc !== 'subscribe' || typeof f.sdp !== 'string') return f;
      forged++;
      return { ...f, sdp: forgeDtlsFingerprint(f.sdp) };
    };
    const resets: unknown[] = [];
    signaling.rewrite = (f) => {
      if (f.type === 'media_reset') resets.push(f.reason);
      return f;
    };
    const hostResets: unknown[] = [];
    hostSignaling.rewrite = (f) => {
      if (f.type === 'media_reset') hostResets.push(f.reason);
      return f;
    };
    expect(await join(fay, link, { cameraOff: true })).toBe('waiting');
    await participantsPanel(host);
    await host.page.getByRole('button', { name: 'Admit Fay' }).click();
    await fay.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    const notice = fay.page.locator('.notices [data-code="media_stopped"]');
    await notice
      .getByText('Audio and video stopped: the connection with the server kept failing.')
      .waitFor({ timeout: 45_000 })
      .catch((e: unknown) => {
        throw new Error(
          `${(e as Error).message}\nforged answers ${forged}, media_reset ${JSON.stringify(resets)}\nserver: ${server.output().slice(-3000)}`,
        );
      });
    await notice.getByText(/Leave and rejoin the meeting/).waitFor();
    expect(resets).toEqual(['connection_failed', 'connection_failed', 'connection_failed']);
    expect(forged).toBeGreaterThanOrEqual(4);
    // Still in the meeting (chat and the group go on); nobody else's media was made anew.
    expect((await until(fay, 'still joined', (v) => v.state === 'joined' && v.e2eeActive)).state).toBe(
      'joined',
    );
    expect(hostResets).toEqual([]);
    hostSignaling.rewrite = undefined;
    expect(await axeSerious(fay.page)).toEqual([]);
    await screenshot(fay.page, 'media-connection-failed');
    await fay.context.close();
  });

  it('a refused reconnect (resume_rejected) says the host must let them in again, and the host can', async () => {
    waltSignaling.refuseJoin = (j) => (j.resume ? 'resume_rejected' : undefined);
    await walt.page.evaluate(() => window.__conclaveTestActions?.dropConnection());
    await walt.page.getByRole('heading', { name: 'Waiting for the host to let you in' }).waitFor();
    const reason = walt.page.locator('[data-code="resume_rejected"]');
    await expect(reason.textContent()).resolves.toBe(
      'The meeting did not take you back after your connection dropped. The host must let you in again.',
    );
    expect(await axeSerious(walt.page)).toEqual([]);
    await screenshot(walt.page, 'resume-rejected-waiting');
    waltSignaling.refuseJoin = undefined;
    await participantsPanel(host);
    await host.page.getByRole('button', { name: 'Admit Walt' }).click();
    await walt.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    await until(walt, 'Walt back in the group', (v) => v.state === 'joined' && v.e2eeActive);
    expect(await walt.page.locator('[data-code="resume_rejected"]').count()).toBe(0);
    await walt.context.close();
  });

  it('join refusals for the new limits read as sentences with a next step', async () => {
    const jo = await open('Jo');
    const signaling = await routeSignaling(jo.context);
    const expected: [string, string, RegExp][] = [
      [
        'too_many_connections',
        'Too many connections to this server from your network.',
        /Close other Conclave tabs/,
      ],
      ['waiting_room_full', 'The waiting room of this meeting is full.', /until the host has let people in/],
      [
        'passcode_locked',
        'Joining with the passcode is paused for this meeting.',
        /changing the passcode ends the pause/,
      ],
      [
        'credential_mismatch',
        /does not match the key the page sent/.source,
        /Reload the page and join again/,
      ],
    ];
    let next = '';
    signaling.refuseJoin = () => next;
    await jo.page.goto(link);
    await jo.page.getByLabel('Your name').fill('Jo');
    for (const [code, title, hint] of expected) {
      next = code;
      await jo.page.getByRole('button', { name: 'Join meeting' }).click();
      const alert = jo.page.locator(`.error-box[data-code="${code}"]`);
      await alert.waitFor();
      await alert.getByText(new RegExp(title)).waitFor();
      await alert.getByText(hint).waitFor();
    }
    expect(await axeSerious(jo.page)).toEqual([]);
    await jo.context.close();
  });

  it('real server: wrong passcodes lock passcode entry; the host sees the banner, the joiner a sentence', async () => {
    const { page } = host;
    await page.goto(server.url + '/');
    await page.getByLabel('Meeting name (optional)').fill('Locked');
    await page.getByLabel('Passcode (optional)').fill('open sesame 42');
    await page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await page.getByLabel('Host link').inputValue();
    const passLink = await page.getByLabel('Join link').inputValue();
    expect(await join(host, hostUrl, { cameraOff: true })).toBe('room');
    const guesser = await open('Guesser');
    await guesser.page.goto(passLink);
    await guesser.page.getByLabel('Your name').fill('Guesser');
    const joinButton = guesser.page.getByRole('button', { name: 'Join meeting' });
    for (let i = 0; i < 3; i++) {
      await guesser.page.getByLabel('Meeting passcode').fill(`wrong guess ${i}`);
      await joinButton.click(); // clears the previous error box at once
      await guesser.page.locator('.error-box[data-code="wrong_passcode"]').waitFor();
      await expect.poll(() => joinButton.isEnabled()).toBe(true);
    }
    await guesser.page.getByLabel('Meeting passcode').fill('open sesame 42');
    await joinButton.click();
    await guesser.page
      .locator('.error-box[data-code="passcode_locked"]')
      .getByText('Joining with the passcode is paused for this meeting.')
      .waitFor();
    const banner = host.page.getByTestId('passcode-lockout');
    await banner.waitFor({ timeout: 10_000 });
    await expect(banner.textContent()).resolves.toMatch(
      /^3 wrong passcodes were tried; joining with the passcode is paused until \d\d:\d\d\. Changing the passcode ends the pause\.$/,
    );
    await guesser.context.close();
  });
  // Last: the ban's network mark would reach every later joiner of this file (all on loopback).
  it('real server: a participant the host bans is refused when it joins again', async () => {
    const bruno = await open('Bruno');
    await signUp(bruno, server.url, {
      email: 'bruno@example.org',
      password: 'correct horse battery',
      displayName: 'Bruno',
    });
    // A meeting of its own, with a waiting room (the host page left the first one).
    await host.page.goto(server.url + '/');
    await host.page.getByLabel('Meeting name (optional)').fill('Bans');
    await host.page.getByRole('checkbox', { name: /Waiting room/ }).check();
    await host.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await host.page.getByLabel('Host link').inputValue();
    const banLink = await host.page.getByLabel('Join link').inputValue();
    expect(await join(host, hostUrl, { cameraOff: true })).toBe('room');
    await until(host, 'the group', (v) => v.e2eeActive);
    expect(await join(bruno, banLink, { cameraOff: true })).toBe('waiting');
    await participantsPanel(host);
    await host.page.getByRole('button', { name: 'Admit Bruno' }).click();
    await bruno.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 15_000 });
    // In the encryption group (her leaf reported to the server) before the host removes her.
    await until(bruno, 'Bruno in the group', (v) => v.e2eeActive);
    await until(host, 'Bruno in the host\u2019s roster', (v) => v.roster.length === 2);
    await host.page.getByRole('button', { name: 'Ban Bruno' }).click();
    await bruno.page.getByRole('heading', { name: 'The host removed you from the meeting.' }).waitFor();
    await until(host, 'Bruno out of the encryption group', (v) => v.roster.length === 1 && v.e2eeActive);

    await bruno.page.goto(banLink);
    await bruno.page.getByLabel('Your name').fill('Bruno');
    await bruno.page.getByRole('button', { name: 'Join meeting' }).click();
    await bruno.page.getByText('The host did not let you in.').first().waitFor({ timeout: 15_000 });
    // Refused at the door: he never reaches the waiting room the host sees.
    expect(
      await host.page
        .getByRole('region', { name: /^Waiting room/ })
        .getByText('Bruno')
        .count(),
    ).toBe(0);
    await bruno.context.close();
  });
});
