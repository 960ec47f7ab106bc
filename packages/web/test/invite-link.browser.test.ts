import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { adminPlan, startServerAndBrowser, type SpawnedServer } from './server.js';
import { axeSerious, join, openPage, screenshot, signUp, until, type Participant } from './helpers.js';

/**
 * The host link (`/m/<id>#host=<secret>`) gives host rights to whoever opens it. Once the page
 * has read it, the secret must leave the address bar (a participant copying the URL to invite
 * someone would hand out host rights), stay only in this tab's sessionStorage (a reload still
 * joins as host), and the room offers a "Copy invite link" that is the participant link.
 */
/**
 * What the clipboard holds, as a user's paste reads it: the app's Permissions-Policy turns
 * `clipboard-read` off (the app never reads the clipboard), so navigator.clipboard.readText()
 * is refused; a paste (Ctrl+V) into a scratch field is not.
 */
async function pastedText(page: Page): Promise<string> {
  await page.evaluate(() => {
    const field = document.createElement('textarea');
    field.id = 'paste-probe';
    document.body.append(field);
    field.focus();
  });
  await page.keyboard.press('ControlOrMeta+V');
  return page.evaluate(() => {
    const field = document.getElementById('paste-probe') as HTMLTextAreaElement;
    field.remove();
    return field.value;
  });
}

describe('host link and invite link', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let host: Participant;
  let hostUrl = '';
  let joinUrl = '';
  let secret = '';
  /** What "Copy invite link" put on the host's clipboard. */
  let copied = '';

  beforeAll(async () => {
    ({ server, browser } = await startServerAndBrowser());
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  /** Everywhere the page could still show or keep the host secret, except this tab's sessionStorage. */
  const secretTraces = (page: Page) =>
    page.evaluate((s) => {
      const found: string[] = [];
      if (location.href.includes('host=')) found.push(`location.href has host=: ${location.href}`);
      for (const part of ['href', 'hash', 'search', 'pathname'] as const) {
        if (location[part].includes(s)) found.push(`location.${part}`);
      }
      if (document.documentElement.outerHTML.includes(s)) found.push('document outerHTML');
      if (document.title.includes(s)) found.push('document.title');
      if (JSON.stringify(history.state ?? null).includes(s)) found.push('history.state');
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i) ?? '';
        if (key.includes(s) || (localStorage.getItem(key) ?? '').includes(s))
          found.push(`localStorage ${key}`);
      }
      // Form fields' current values are not in outerHTML: check them too.
      for (const el of document.querySelectorAll('input, textarea')) {
        if ((el as HTMLInputElement).value.includes(s)) found.push(`field ${el.id || el.tagName}`);
      }
      return found;
    }, secret);

  /** Name, Join; resolves in the room (the page is already on the pre-join page). */
  const joinHere = async (p: Participant) => {
    await p.page.getByLabel('Your name').fill(p.name);
    await p.page.getByRole('button', { name: 'Join meeting' }).click();
    await p.page.getByRole('navigation', { name: 'Meeting controls' }).waitFor({ timeout: 20_000 });
  };

  const openParticipants = async (p: Participant) => {
    const panel = p.page.getByRole('complementary', { name: 'Participants' });
    if (!(await panel.isVisible()))
      await p.page
        .getByRole('navigation', { name: 'Meeting controls' })
        .getByRole('button', { name: /^Participants/ })
        .click();
    await panel.waitFor();
    return panel;
  };

  it('opening the host link removes the secret from the address bar without a history entry that keeps it', async () => {
    host = await openPage(browser, 'Hana');
    const { page } = host;
    const email = 'hana@example.org';
    await signUp(host, server.url, { email, password: 'correct horse battery', displayName: 'Hana' });
    await adminPlan(server, email, 'paid');
    await page.goto(server.url + '/');
    await page.getByLabel('Meeting name (optional)').fill('Invite test');
    await page.getByRole('button', { name: 'Create meeting' }).click();
    await page.getByRole('heading', { name: 'Your meeting is ready' }).waitFor();
    hostUrl = await page.getByLabel('Host link').inputValue();
    joinUrl = await page.getByLabel('Join link').inputValue();
    secret = new URLSearchParams(new URL(hostUrl).hash.slice(1)).get('host') ?? '';
    expect(secret.length).toBeGreaterThan(10);
    const meetingPath = new URL(joinUrl).pathname;

    // Opened as a user opens a link they were sent: a fresh page load of the host link.
    await page.goto(hostUrl);
    await page.getByText('You are joining as the host').waitFor();
    expect(await secretTraces(page)).toEqual([]);
    expect(new URL(page.url()).pathname).toBe(meetingPath);
    // The host link's history entry was replaced, not followed by a new one: Back leaves the
    // meeting page, and Forward comes back to it without the secret.
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe('/');
    await page.goForward();
    expect(page.url()).toBe(joinUrl);
    await page.getByText('You are joining as the host').waitFor();

    await joinHere(host);
    expect(await secretTraces(page)).toEqual([]);
    const panel = await openParticipants(host);
    await panel.getByRole('heading', { name: 'Host controls' }).waitFor();
    // The secret is kept for this tab only (sessionStorage, keyed by the meeting).
    const kept = await page.evaluate(
      (s) => Object.keys(sessionStorage).filter((k) => sessionStorage.getItem(k) === s),
      secret,
    );
    expect(kept).toHaveLength(1);
    expect(kept[0]).toContain(meetingPath.replace('/m/', ''));
  });

  it('reloading the tab joins as host again', async () => {
    const { page } = host;
    await page.reload();
    await page.getByText('You are joining as the host').waitFor();
    expect(await secretTraces(page)).toEqual([]);
    await joinHere(host);
    const panel = await openParticipants(host);
    await panel.getByRole('heading', { name: 'Host controls' }).waitFor();
    expect(await secretTraces(page)).toEqual([]);
  });

  it('"Copy invite link" is reachable with the keyboard and copies the participant link, never the secret', async () => {
    const { page, context } = host;
    await context.grantPermissions(['clipboard-write'], { origin: server.url });
    await page.keyboard.press('Escape'); // close the side panel
    // Keyboard: from the meeting's title at the top of the page, Tab reaches the button.
    await page.getByRole('heading', { level: 1, name: 'Invite test' }).click();
    let focused = '';
    for (let i = 0; i < 8 && focused !== 'Copy invite link'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => {
        const el = document.activeElement;
        return el && el !== document.body ? (el.textContent?.trim() ?? '') : '';
      });
    }
    expect(focused).toBe('Copy invite link');
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText('Copied').waitFor();
    copied = await pastedText(page);
    expect(copied).toBe(joinUrl);
    expect(copied).not.toContain(secret);
    expect(copied).not.toContain('host=');
    expect(await secretTraces(page)).toEqual([]);
    expect(await axeSerious(page)).toEqual([]);
    await screenshot(page, 'invite-copied');
  });

  it('the invite link joins as a participant without host controls; a refused clipboard shows the link in a field', async () => {
    const guest = await openPage(browser, 'Gus');
    // This page's Clipboard API refuses writes (as a browser without the permission does).
    await guest.context.addInitScript(() => {
      Object.defineProperty(navigator, 'clipboard', {
        configurable: true,
        value: {
          writeText: () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')),
        },
      });
    });
    const invite = copied;
    await guest.page.goto(invite);
    await guest.page.getByLabel('Your name').waitFor();
    expect(await guest.page.getByText('You are joining as the host').count()).toBe(0);
    expect(await join(guest, invite)).toBe('room');
    await until(guest, 'Gus in the encryption group', (v) => v.e2eeActive && v.roster.length === 2);
    const panel = await openParticipants(guest);
    await panel.getByRole('heading', { name: /^In the meeting/ }).waitFor();
    expect(await panel.getByRole('heading', { name: 'Host controls' }).count()).toBe(0);
    expect(await panel.getByRole('button', { name: /^Remove/ }).count()).toBe(0);
    expect(await guest.page.evaluate((s) => JSON.stringify(sessionStorage).includes(s), secret)).toBe(false);
    // The host sees Gus as a participant, with the actions a host has.
    const hostPanel = await openParticipants(host);
    await hostPanel.getByRole('button', { name: 'Remove Gus' }).waitFor();

    await guest.page.keyboard.press('Escape');
    await guest.page.getByRole('button', { name: 'Copy invite link' }).click();
    const field = guest.page.getByLabel('Invite link', { exact: true });
    await field.waitFor();
    await expect(field.inputValue()).resolves.toBe(joinUrl);
    await expect(field.getAttribute('readonly')).resolves.not.toBeNull();
    await guest.page.getByText(/Copying was not allowed/).waitFor();
    expect(await axeSerious(guest.page)).toEqual([]);
    await screenshot(guest.page, 'invite-fallback');
    await guest.context.close();
  });
});
