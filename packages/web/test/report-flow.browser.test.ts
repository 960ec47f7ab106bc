import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { adminPlan, conclaveAdmin, startServerAndBrowser, type SpawnedServer } from './server.js';
import {
  axeSerious,
  expectMediaFlowing,
  join,
  mediaFrom,
  openPage,
  signUp,
  sleep,
  until,
  type Participant,
  type TestAccount,
} from './helpers.js';
import {
  aria,
  firefoxFill,
  firefoxView,
  firefoxWaitFor,
  launchFirefox,
  openFirefoxPage,
  type Firefox,
  type FirefoxParticipant,
} from './firefox.js';

const MALLORY: TestAccount = {
  email: 'mallory@example.org',
  password: 'loud brass trumpet',
  displayName: 'Mallory',
};
const RITA: TestAccount = { email: 'rita@example.org', password: 'seven quiet herons', displayName: 'Rita' };
const TOM: TestAccount = { email: 'tom@example.org', password: 'paper boats at noon', displayName: 'Tom' };
const ADAM: TestAccount = {
  email: 'adam@example.org',
  password: 'moderate the moderators',
  displayName: 'Adam',
};

const INSULT = 'You are all idiots and I know where you live';
const SECOND = 'Nobody here will stop me';
const SPAM = 'Cheap pills at example dot invalid';

/** Base64 of `b64` with `from` (UTF-8) replaced by `to` (same length): a reporter editing a message's text. */
function replaceInBase64(b64: string, from: string, to: string): string {
  const bytes = Buffer.from(b64, 'base64');
  const at = bytes.indexOf(Buffer.from(from, 'utf8'));
  if (at < 0) throw new Error(`"${from}" is not in the signed content`);
  Buffer.from(to, 'utf8').copy(bytes, at);
  return bytes.toString('base64');
}

/** Base64 of `b64` with its last byte's lowest bit flipped. */
function flipLastByte(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  return bytes.toString('base64');
}

const CONTROLS = 'nav[aria-label="Meeting controls"]';

/** Logs every CSP violation of the page as a console error (the pages' `errors` collect them). */
const WATCH_CSP = () =>
  document.addEventListener(
    'securitypolicyviolation',
    (e) => console.error(`CSP violation: ${e.effectiveDirective} refused ${e.blockedURI || 'inline'}`),
    true,
  );

/**
 * Firefox (puppeteer): clicks the first element matching `selector` whose text (spaces
 * normalized) is `text` — or starts with it, or contains it. A label click ticks its input.
 */
async function ffClick(
  page: FirefoxParticipant['page'],
  selector: string,
  text: string,
  match: 'exact' | 'prefix' | 'contains' = 'exact',
): Promise<void> {
  await firefoxWaitFor(
    page,
    `${selector} with the text ${JSON.stringify(text)} (${match})`,
    (sel: string, t: string, how: string) => {
      const found = [...document.querySelectorAll<HTMLElement>(sel)].find((e) => {
        const s = (e.textContent ?? '').replace(/\s+/g, ' ').trim();
        return how === 'exact' ? s === t : how === 'prefix' ? s.startsWith(t) : s.includes(t);
      });
      found?.click();
      return found !== undefined;
    },
    [selector, text, match],
  );
}

/** Sends a chat message from the Chat panel (opened if needed). */
async function sendChat(p: Participant, text: string): Promise<void> {
  const input = p.page.getByRole('textbox', { name: 'Message' });
  if (!(await input.isVisible()))
    await p.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Chat' })
      .click();
  await input.fill(text);
  await input.press('Enter');
}

/** Waits until `p`'s chat log shows `text`. */
async function sawChat(p: Participant, text: string): Promise<void> {
  const log = p.page.getByRole('log', { name: 'Messages' });
  if (!(await log.isVisible()))
    await p.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Chat' })
      .click();
  await log.getByText(text, { exact: true }).waitFor({ timeout: 15_000 });
}

/**
 * In `p`'s meeting: Participants → "Report…" on `name` → the dialog, with a reason, a text, the
 * chat messages whose text is in `messages` ticked and, when `clip`, the 10 s clip (the default).
 * Checks what the dialog says leaves the encryption, sends, and returns the dialog.
 */
async function reportFromMeeting(
  p: Participant,
  name: string,
  opts: { messages: string[]; clip: boolean; text: string; screenshot?: boolean },
) {
  const page = p.page;
  await page
    .getByRole('navigation', { name: 'Meeting controls' })
    .getByRole('button', { name: /^Participants/ })
    .click();
  await page
    .getByRole('complementary', { name: 'Participants' })
    .getByRole('button', { name: `Report… ${name}` })
    .click();
  const dialog = page.getByRole('dialog', { name: `Report ${name}` });
  await dialog.waitFor();
  const disclosure = dialog.getByTestId('report-disclosure');
  // Nothing is ticked until the reporter ticks it.
  await expect(disclosure.textContent()).resolves.toContain('No evidence: nothing of the meeting itself.');
  await expect(disclosure.textContent()).resolves.toMatch(/Who sees it: the moderators of this server/);
  await dialog.getByRole('radio', { name: 'Harassment or bullying' }).check();
  await dialog.getByLabel('What happened (optional)').fill(opts.text);
  for (const m of opts.messages) await dialog.getByRole('checkbox', { name: new RegExp(m) }).check();
  if (opts.clip) {
    await expect(dialog.getByLabel(/Seconds of media/).inputValue()).resolves.toBe('10');
    await dialog.getByRole('checkbox', { name: `Attach the last 10 seconds of ${name}’s media` }).check();
  }
  const said = (await disclosure.textContent()) ?? '';
  expect(said).toContain('What leaves the end-to-end encryption');
  if (opts.messages.length > 0)
    expect(said).toMatch(/chat messages? you ticked, exactly as Mallory’s device signed/);
  if (opts.clip) expect(said).toContain('The last 10 seconds of Mallory’s camera and microphone');
  if (opts.screenshot) {
    await dialog.getByRole('checkbox', { name: /Attach a screenshot of Mallory’s video/ }).click();
    const preview = dialog.getByRole('img', {
      name: 'The screenshot of Mallory’s video that will be attached',
    });
    await preview.or(dialog.locator('.report-shot .field-error')).waitFor();
    if (!(await preview.isVisible()))
      throw new Error(`no screenshot: ${await dialog.locator('.report-shot .field-error').textContent()}`);
    await expect(disclosure.textContent()).resolves.toContain('The screenshot shown above.');
  }
  expect(await axeSerious(page, 'dialog[open]')).toEqual([]);
  await dialog.getByRole('button', { name: 'Send report' }).click();
  return dialog;
}

/** The report id the dialog's success state names. */
async function sentReportId(dialog: ReturnType<Page['getByRole']>): Promise<string> {
  const sent = dialog.getByTestId('report-sent');
  await sent.waitFor({ timeout: 30_000 });
  const id = await sent.getAttribute('data-report-id');
  if (!id) throw new Error('the sent report has no id');
  return id;
}

/** In the console (already on a report page): loads the key file and opens the evidence. */
async function openEvidence(page: Page, keyFile: string): Promise<void> {
  const evidence = page.getByTestId('evidence');
  const picker = evidence.getByLabel('Moderators’ key file');
  if (await picker.isVisible()) await picker.setInputFiles(keyFile);
  await evidence.getByTestId('key-loaded').waitFor();
  await evidence.getByRole('button', { name: 'Open evidence' }).click();
  await evidence.getByTestId('opened-evidence').waitFor({ timeout: 30_000 });
}

/**
 * Report a User end to end in the web app against `conclave serve`, in Chromium and Firefox:
 * Mallory (an account) hosts an E2EE meeting with her camera on and sends chat; Rita reports
 * it with two messages and a 10 s clip; Tom's browser edits one message's text and flips a byte
 * of the clip before it reaches the server; Fiona (a guest, in Firefox) reports with Firefox.
 * Adam, an admin, opens the reports in /admin with the moderators' key file (made with
 * `conclave admin moderation-key create`), sees what verifies and what does not, plays the
 * clip, suspends Mallory, and Mallory can no longer sign in, host or join as her account. The
 * tests build on each other and share one server and one browser of each engine.
 */
describe('Report a User and the moderation console', () => {
  let server: SpawnedServer | undefined;
  let browser: Browser | undefined;
  let ff: Firefox | undefined;
  let keyDir = '';
  let keyFile = '';
  let mallory: Participant;
  let rita: Participant;
  let tom: Participant;
  let adam: Participant;
  let fiona: FirefoxParticipant;
  let joinUrl = '';
  let malloryId = '';
  const reportIds: Record<string, string> = {};
  let standardMeetingId = '';

  const srv = (): SpawnedServer => {
    if (!server) throw new Error('the server did not start');
    return server;
  };
  /** Every page of the test, for the CSP check at the end. */
  const pages: { name: string; errors: string[] }[] = [];
  const open = async (name: string) => {
    if (!browser) throw new Error('the browser did not start');
    const p = await openPage(browser, name);
    await p.context.addInitScript(WATCH_CSP);
    pages.push(p);
    return p;
  };
  const openFirefox = async (name: string, inFirefox: Firefox | undefined = ff) => {
    if (!inFirefox) throw new Error('Firefox did not start');
    const p = await openFirefoxPage(inFirefox, name);
    await p.page.evaluateOnNewDocument(WATCH_CSP);
    pages.push(p);
    return p;
  };
  const errorsOf = (...ps: { name: string; errors: string[] }[]) =>
    ps.map((p) => `${p.name}: ${p.errors.join(' | ')}`).join('\n');

  beforeAll(async () => {
    keyDir = await mkdtemp(joinPath(tmpdir(), 'conclave-modkey-'));
    keyFile = joinPath(keyDir, 'moderators.key');
    ({ server, browser } = await startServerAndBrowser());
    ff = await launchFirefox();
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await ff?.close();
    await server?.stop();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('Mallory hosts an E2EE meeting with her camera on and sends chat; Rita, Tom and Fiona (Firefox) are in it', async () => {
    const out = await conclaveAdmin(srv(), 'moderation-key', 'create', '--out', keyFile);
    // The CLI prints the key's fingerprint: the key file's id.
    const { keyId } = JSON.parse(await readFile(keyFile, 'utf8')) as { keyId: string };
    expect(out.replace(/\s/g, '')).toContain(keyId);
    mallory = await open('Mallory');
    rita = await open('Rita');
    tom = await open('Tom');
    adam = await open('Adam');
    await Promise.all([
      signUp(mallory, srv().url, MALLORY),
      signUp(rita, srv().url, RITA),
      signUp(tom, srv().url, TOM),
      signUp(adam, srv().url, ADAM),
    ]);
    await adminPlan(srv(), MALLORY.email, 'paid');
    await conclaveAdmin(srv(), 'role', ADAM.email, 'admin');

    await mallory.page.goto(`${srv().url}/`);
    await mallory.page.getByLabel('Meeting name (optional)').fill('Reported meeting');
    await mallory.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await mallory.page.getByLabel('Host link').inputValue();
    joinUrl = await mallory.page.getByLabel('Join link').inputValue();
    expect(await join(mallory, hostUrl)).toBe('room');
    // Fiona first, Tom last: every join makes Mallory send a key frame, so the key frame that
    // starts Rita's and Fiona's clips arrives while their pages are settled (a page's first
    // frames after its own join come in a burst, late).
    if (!ff) throw new Error('Firefox did not start');
    fiona = await openFirefox('Fiona');
    await fiona.page.goto(joinUrl);
    await ffClick(fiona.page, 'button', 'Turn camera off');
    await firefoxFill(fiona.page, aria('Your name', 'textbox'), 'Fiona');
    await ffClick(fiona.page, 'button', 'Join meeting');
    await fiona.page.waitForSelector(CONTROLS, { timeout: 20_000 });
    expect(await join(rita, joinUrl, { cameraOff: true })).toBe('room');
    expect(await join(tom, joinUrl, { cameraOff: true })).toBe('room');
    const v = await until(
      mallory,
      'four in the MLS group',
      (x) => x.roster.length === 4 && x.e2eeActive,
      30_000,
    );
    malloryId = v.participantId ?? '';
    await expectMediaFlowing(rita, [{ name: 'Mallory', id: malloryId }]);
    // Fiona's Firefox decodes Mallory's camera too: her clip is made of it.
    const t0 = Date.now();
    while (mediaFrom(await firefoxView(fiona), malloryId).videoFrames < 10) {
      if (Date.now() - t0 > 25_000)
        throw new Error(`Fiona decodes no video from Mallory; errors: ${errorsOf(fiona)}`);
      await sleep(250);
    }
    await sendChat(mallory, INSULT);
    await sendChat(mallory, SECOND);
    await sawChat(rita, SECOND);
    await sawChat(tom, SECOND);
    // Fiona's Firefox: the messages arrived decrypted.
    await ffClick(fiona.page, `${CONTROLS} button`, 'Chat');
    await firefoxWaitFor(
      fiona.page,
      'the second message in the chat',
      (t: string) => [...document.querySelectorAll('.chat-text')].some((e) => e.textContent === t),
      [SECOND],
    );
    // Mallory restarts her camera once everyone is settled: the clips start at that key frame,
    // not at one the reporters' pages received in the burst right after their own join.
    const controls = mallory.page.getByRole('navigation', { name: 'Meeting controls' });
    await controls.getByRole('button', { name: 'Stop camera' }).click();
    await controls.getByRole('button', { name: 'Start camera' }).click();
    await controls.getByRole('button', { name: 'Stop camera' }).waitFor();
    // More than the clip's 10 s of Mallory's media in every reporter's buffer.
    await sleep(11_000);
  });

  it('Rita reports Mallory with both messages and a 10 s clip: the server finds both verified', async () => {
    const dialog = await reportFromMeeting(rita, 'Mallory', {
      messages: [INSULT, SECOND],
      clip: true,
      screenshot: true,
      text: 'She insulted and threatened everyone.',
    });
    reportIds.rita = await sentReportId(dialog);
    const verdicts = dialog.locator('.report-verdicts li');
    await expect(verdicts.count()).resolves.toBe(4);
    await expect(verdicts.nth(0).getAttribute('data-verdict')).resolves.toBe('account_key');
    await expect(verdicts.nth(1).getAttribute('data-verdict')).resolves.toBe('account_key');
    expect(await verdicts.nth(2).getAttribute('data-verdict'), (await dialog.textContent()) ?? '').toBe(
      'verified',
    );
    await expect(verdicts.nth(3).getAttribute('data-verdict')).resolves.toBe('unverified');
    await expect(dialog.textContent()).resolves.toContain('Signed by this account’s registered device key');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await rita.page.getByRole('dialog').waitFor({ state: 'detached' });
    // Still in the meeting.
    expect((await until(rita, 'still joined', (x) => x.state === 'joined')).state).toBe('joined');

    // From Mallory's tile, a second report in the same meeting: refused, said in words.
    await rita.page
      .getByRole('main', { name: 'Videos' })
      .getByRole('button', { name: 'Report… Mallory' })
      .click();
    const again = rita.page.getByRole('dialog', { name: 'Report Mallory' });
    await again.getByRole('radio', { name: 'Spam or scams' }).check();
    await again.getByRole('button', { name: 'Send report' }).click();
    const refusal = again.locator('[role="alert"][data-code="report_duplicate"]');
    await refusal.waitFor();
    await expect(refusal.textContent()).resolves.toContain(
      'You have reported this person in this meeting already.',
    );
    await again.getByRole('button', { name: 'Cancel' }).click();
    await rita.page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  it("Tom's browser edits a message's text and flips a byte of the clip on the way out: the server finds exactly those", async () => {
    let tampered = false;
    await tom.page.route('**/api/reports', async (route) => {
      const body = route.request().postDataJSON() as {
        evidence: { chat: { kind: string; framedContent: string }[]; clip: { frames: { data: string }[] } };
      };
      const first = body.evidence.chat[0];
      if (!first) throw new Error('no chat evidence to forge');
      first.framedContent = replaceInBase64(first.framedContent, 'idiots', 'angels');
      const frames = body.evidence.clip.frames;
      const middle = frames[Math.floor(frames.length / 2)];
      if (!middle) throw new Error('no clip frame to tamper with');
      middle.data = flipLastByte(middle.data);
      tampered = true;
      await route.continue({ postData: JSON.stringify(body) });
    });
    const dialog = await reportFromMeeting(tom, 'Mallory', {
      messages: [INSULT, SECOND],
      clip: true,
      text: 'Forged on the way out.',
    });
    reportIds.tom = await sentReportId(dialog);
    expect(tampered).toBe(true);
    const verdicts = dialog.locator('.report-verdicts li');
    await expect(verdicts.nth(0).getAttribute('data-verdict')).resolves.toBe('does_not_verify');
    await expect(verdicts.nth(1).getAttribute('data-verdict')).resolves.toBe('account_key');
    await expect(verdicts.nth(2).getAttribute('data-verdict')).resolves.toBe('does_not_verify');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('Fiona, a guest in Firefox, reports Mallory with a message and the clip', async () => {
    const page = fiona.page;
    await ffClick(page, `${CONTROLS} button`, 'Participants', 'prefix');
    await ffClick(page, '#side-panel button', 'Report… Mallory');
    await page.waitForSelector('dialog[open]');
    await ffClick(page, 'dialog label', 'Harassment or bullying');
    await ffClick(page, 'dialog label', SECOND, 'contains');
    await ffClick(page, 'dialog label', 'Attach the last 10 seconds of Mallory’s media');
    const said = await page.$eval('[data-testid="report-disclosure"]', (e) => e.textContent ?? '');
    expect(said).toContain('sent as a guest');
    expect(said).toContain('The last 10 seconds of Mallory’s camera and microphone');
    await ffClick(page, 'dialog button', 'Send report');
    const sent = await page.waitForSelector('[data-testid="report-sent"]', { timeout: 30_000 });
    reportIds.fiona = (await sent?.evaluate((e) => e.getAttribute('data-report-id'))) ?? '';
    const verdicts = await page.$$eval('.report-verdicts li', (els) =>
      els.map((e) => e.getAttribute('data-verdict')),
    );
    const found = await page.$eval('.report-verdicts', (e) => e.textContent ?? '');
    expect(verdicts, `${found}\n${errorsOf(fiona)}`).toEqual(['account_key', 'verified']);
    expect((await firefoxView(fiona)).state).toBe('joined');
  });

  it('a non-admin sees "Admins only" on /admin', async () => {
    await rita.page.goto(`${srv().url}/admin`);
    await rita.page.getByRole('heading', { name: 'Admins only' }).waitFor();
    await rita.page.getByTestId('admins-only').waitFor();
  });

  it("a standard meeting: Rita (host) reports Tom's message and removes him; after meetings she can report from what her device kept", async () => {
    await rita.page.goto(`${srv().url}/`);
    await rita.page.getByLabel('Meeting name (optional)').fill('Standard meeting');
    await rita.page.getByRole('radio', { name: 'Standard' }).check();
    await rita.page.getByRole('button', { name: 'Create meeting' }).click();
    const hostUrl = await rita.page.getByLabel('Host link').inputValue();
    const standardJoin = await rita.page.getByLabel('Join link').inputValue();
    standardMeetingId = new URL(standardJoin).pathname.split('/').pop() ?? '';
    expect(await join(rita, hostUrl, { cameraOff: true })).toBe('room');
    expect(await join(tom, standardJoin, { cameraOff: true })).toBe('room');
    await sendChat(tom, SPAM);
    await sawChat(rita, SPAM);

    await rita.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: /^Participants/ })
      .click();
    await rita.page
      .getByRole('complementary', { name: 'Participants' })
      .getByRole('button', { name: 'Report… Tom' })
      .click();
    const dialog = rita.page.getByRole('dialog', { name: 'Report Tom' });
    await expect(dialog.textContent()).resolves.toContain('Media of a standard meeting cannot be attached');
    await dialog.getByRole('radio', { name: 'Spam or scams' }).check();
    await dialog.getByRole('checkbox', { name: new RegExp(SPAM) }).check();
    const said = (await dialog.getByTestId('report-disclosure').textContent()) ?? '';
    expect(said).toContain('What you send');
    expect(said).toContain('with the seal this server put on it when relaying');
    await dialog.getByRole('button', { name: 'Report and remove' }).click();
    reportIds.standard = await sentReportId(dialog);
    await expect(dialog.getByTestId('report-sent').textContent()).resolves.toContain(
      'and Tom removed from the meeting',
    );
    await expect(dialog.locator('.report-verdicts li').first().getAttribute('data-verdict')).resolves.toBe(
      'server_relayed',
    );
    await until(tom, 'removed by the host', (x) => x.state === 'removed');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // After the meeting: the end screen offers reports from what this device kept (no clip, and it says so).
    await rita.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Leave' })
      .click();
    await rita.page.getByRole('heading', { name: 'You left the meeting.' }).waitFor();
    await rita.page.getByRole('button', { name: 'Report someone from this meeting' }).click();
    await rita.page
      .getByRole('list', { name: 'People in this meeting' })
      .getByRole('button', { name: 'Report… Tom' })
      .click();
    const after = rita.page.getByRole('dialog', { name: 'Report Tom' });
    await expect(after.getByTestId('no-clip').textContent()).resolves.toContain('standard meeting');
    await expect(after.getByRole('checkbox', { name: /screenshot/ }).count()).resolves.toBe(0);
    await expect(after.getByRole('checkbox', { name: new RegExp(SPAM) }).isEnabled()).resolves.toBe(true);
    await after.getByRole('button', { name: 'Cancel' }).click();

    // The E2EE meeting she left earlier, from the account page's list (/report/<id>): the
    // messages are still there, clips are not; a second report against Mallory is refused.
    await rita.page.goto(`${srv().url}/account`);
    await rita.page.getByRole('link', { name: 'Standard meeting' }).waitFor();
    await rita.page.getByRole('link', { name: 'Reported meeting' }).click();
    await rita.page.getByRole('heading', { name: 'Report from “Reported meeting”' }).waitFor();
    await rita.page.getByRole('button', { name: 'Report someone from this meeting' }).click();
    await rita.page
      .getByRole('list', { name: 'People in this meeting' })
      .getByRole('button', { name: 'Report… Mallory' })
      .click();
    const later = rita.page.getByRole('dialog', { name: 'Report Mallory' });
    await expect(later.getByTestId('no-clip').textContent()).resolves.toContain(
      'clips exist only during the meeting',
    );
    await later.getByRole('radio', { name: 'Harassment or bullying' }).check();
    await later.getByRole('checkbox', { name: new RegExp(SECOND) }).check();
    await later.getByRole('button', { name: 'Send report' }).click();
    await later.locator('[role="alert"][data-code="report_duplicate"]').waitFor();
    await later.getByRole('button', { name: 'Cancel' }).click();
  });

  it("Adam opens Rita's report with the key file: both messages signed by Mallory's registered key, the clip verified and played", async () => {
    const page = adam.page;
    await page.goto(`${srv().url}/admin`);
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    const rows = page.getByRole('table', { name: 'Reports' }).locator('tbody tr');
    await rows.first().waitFor();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
    expect(await axeSerious(page)).toEqual([]);
    await page
      .locator(`tr[data-report-id="${reportIds.rita}"]`)
      .getByRole('link', { name: 'Mallory' })
      .click();
    await page.getByTestId('reported').getByText(MALLORY.email).waitFor();
    await openEvidence(page, keyFile);
    const messages = page.getByTestId('evidence-message');
    await expect(messages.count()).resolves.toBe(2);
    for (const i of [0, 1])
      await expect(messages.nth(i).getAttribute('data-verdict')).resolves.toBe('account_key');
    await expect(messages.nth(0).textContent()).resolves.toContain(INSULT);
    await expect(messages.nth(0).textContent()).resolves.toContain(
      'Signed by this account’s registered device key',
    );
    const clip = page.getByTestId('evidence-clip');
    await expect(clip.getAttribute('data-verdict')).resolves.toBe('verified');
    await expect(clip.textContent()).resolves.toContain('Verified from this sender');
    const [verified, total] = ((await clip.getByTestId('clip-frames').textContent()) ?? '')
      .match(/(\d+) of (\d+) frames verified/)
      ?.slice(1)
      .map(Number) ?? [0, -1];
    expect(verified).toBe(total);
    expect(total).toBeGreaterThan(100);
    await clip.getByRole('button', { name: 'Play the clip' }).click();
    const playback = clip.getByTestId('clip-playback');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="clip-playback"]')?.getAttribute('data-done') === 'true',
      undefined,
      { timeout: 30_000 },
    );
    expect(Number(await playback.getAttribute('data-shown'))).toBeGreaterThan(50);
    // The canvas shows a picture (the fake camera's moving pattern), not an empty frame.
    const distinct = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('.clip-canvas');
      const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; d && i < d.length; i += 4 * 97)
        seen.add(((d[i] ?? 0) << 16) | ((d[i + 1] ?? 0) << 8) | (d[i + 2] ?? 0));
      return seen.size;
    });
    expect(distinct).toBeGreaterThan(3);
    expect(await axeSerious(page)).toEqual([]);
    // The screenshot: shown, and marked unverified.
    const shot = page.getByTestId('evidence-screenshot');
    await expect(shot.getAttribute('data-verdict')).resolves.toBe('unverified');
    await expect(shot.textContent()).resolves.toContain('Unverified');
    const size = await shot
      .locator('img')
      .evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    expect(size[0]).toBeGreaterThan(100);
  });

  it('Adam suspends Mallory for 7 days: her meeting connection closes, she cannot sign in, host or join as her account', async () => {
    const page = adam.page;
    await page.getByRole('radio', { name: 'Suspend the account' }).check();
    await page.getByLabel('Days of suspension (1–365)').fill('7');
    await page.getByRole('button', { name: 'Continue…' }).click();
    const confirm = page.getByRole('alertdialog');
    await expect(confirm.textContent()).resolves.toMatch(/Suspend Mallory .* for 7 days\?/);
    await confirm.getByRole('button', { name: 'Yes, do it' }).click();
    await page.getByTestId('action-outcome').waitFor();
    await page.locator('[data-testid="account-status"][data-status="suspended"]').waitFor();
    await page.locator('[data-testid="report-status"][data-status="actioned"]').waitFor();

    // The moderators took her out of the running meeting.
    await until(mallory, 'taken out of the meeting', (x) => x.state === 'removed', 20_000);
    // …and her end screen says it was the server's moderators, not the host.
    await mallory.page.getByRole('heading', { name: /suspended/i }).waitFor();
    // Her session is gone: the API no longer knows her, and meeting creation is refused.
    const answers = await mallory.page.evaluate(async () => {
      const me = await fetch('/api/me');
      const create = await fetch('/api/meetings', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ v: 1 }),
      });
      return { me: me.status, create: create.status };
    });
    expect(answers.me).toBe(401);
    expect([401, 403]).toContain(answers.create);
    // Signing in again is refused with the suspension.
    await mallory.page.goto(`${srv().url}/signin`);
    await mallory.page.getByRole('textbox', { name: 'E-mail address' }).fill(MALLORY.email);
    await mallory.page.getByLabel('Password', { exact: true }).fill(MALLORY.password);
    await mallory.page.getByRole('button', { name: 'Sign in' }).click();
    await mallory.page.locator('[role="alert"][data-code="account_suspended"]').waitFor();
    // The meeting page offers joining as a guest at most, never as her account.
    await mallory.page.goto(joinUrl);
    await expect(mallory.page.getByTestId('join-as').textContent()).resolves.toContain('You join as a guest');
  });

  it("Tom's report in the console: the edited message and the tampered clip do not verify, the untouched message does", async () => {
    const page = adam.page;
    // In-app navigation: the key stays loaded in this tab's memory.
    await page.getByRole('navigation', { name: 'Moderation' }).getByRole('link', { name: 'Reports' }).click();
    await page
      .locator(`tr[data-report-id="${reportIds.tom}"]`)
      .getByRole('link', { name: 'Mallory' })
      .click();
    await page.getByTestId('reported').getByText(MALLORY.email).waitFor();
    const server = page.getByTestId('server-checks');
    await expect(server.locator('[data-verdict="does_not_verify"]').count()).resolves.toBe(2);
    await openEvidence(page, keyFile);
    const messages = page.getByTestId('evidence-message');
    await expect(messages.nth(0).getAttribute('data-verdict')).resolves.toBe('does_not_verify');
    await expect(messages.nth(0).textContent()).resolves.toContain('Does not verify');
    // The forged text is not shown as if signed.
    await expect(messages.nth(0).textContent()).resolves.not.toContain('angels');
    await expect(messages.nth(1).getAttribute('data-verdict')).resolves.toBe('account_key');
    const clip = page.getByTestId('evidence-clip');
    await expect(clip.getAttribute('data-verdict')).resolves.toBe('does_not_verify');
    await expect(clip.textContent()).resolves.toContain('Does not verify');
  });

  it("the standard meeting's report in the console: the server's seal, which only the server can check; Rita's account page shows the outcomes", async () => {
    const page = adam.page;
    await page.getByRole('navigation', { name: 'Moderation' }).getByRole('link', { name: 'Reports' }).click();
    // The queue's filters: every status, by meeting, then by account.
    // (Counts are polled: the table empties while a filter's list loads.)
    const filters = page.getByRole('form', { name: 'Filter reports' });
    const rows = page.getByRole('table', { name: 'Reports' }).locator('tbody tr');
    await page.locator(`tr[data-report-id="${reportIds.standard}"]`).waitFor();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3); // the open ones: Rita's was acted on
    await filters.getByLabel('Status').selectOption('all');
    await filters.getByRole('button', { name: 'Show reports' }).click();
    await page.locator(`tr[data-report-id="${reportIds.rita}"][data-status="actioned"]`).waitFor();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(4);
    await filters.getByLabel('Meeting id').fill(standardMeetingId);
    await filters.getByRole('button', { name: 'Show reports' }).click();
    await page.locator(`tr[data-report-id="${reportIds.rita}"]`).waitFor({ state: 'detached' });
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    await filters.getByLabel('Meeting id').fill('');
    await filters.getByLabel('Reported account (e-mail or id)').fill(MALLORY.email);
    await filters.getByRole('button', { name: 'Show reports' }).click();
    await page.locator(`tr[data-report-id="${reportIds.rita}"]`).waitFor();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);
    await filters.getByLabel('Reported account (e-mail or id)').fill(TOM.email);
    await filters.getByRole('button', { name: 'Show reports' }).click();
    await page
      .locator(`tr[data-report-id="${reportIds.standard}"]`)
      .getByRole('link', { name: 'Tom' })
      .click();
    await page.getByTestId('reported').getByText(TOM.email).waitFor();
    await openEvidence(page, keyFile);
    const message = page.getByTestId('evidence-message');
    await expect(message.getAttribute('data-verdict')).resolves.toBe('server_relayed');
    await expect(message.textContent()).resolves.toContain(SPAM);
    await expect(message.textContent()).resolves.toContain('This page cannot check it; the server did.');
    // The log has the suspension.
    await page
      .getByRole('navigation', { name: 'Moderation' })
      .getByRole('link', { name: 'Moderation log' })
      .click();
    await page.locator('tr[data-action="suspend"]').first().waitFor();

    await rita.page.goto(`${srv().url}/account`);
    const mine = rita.page.getByTestId('my-reports');
    await mine.locator(`li[data-report-id="${reportIds.rita}"][data-status="actioned"]`).waitFor();
    await expect(mine.locator(`li[data-report-id="${reportIds.rita}"]`).textContent()).resolves.not.toContain(
      'not decided yet',
    );
    await expect(mine.locator(`li[data-report-id="${reportIds.standard}"]`).textContent()).resolves.toContain(
      'the moderators have not decided yet',
    );
  });

  it("Firefox: Adam opens Fiona's report in the console, loads the key file, both pieces verify and the clip plays", async () => {
    // Adam's own Firefox, not a second tab of Fiona's: his browser shares no cookies with a
    // guest's, and Firefox 140.12's WebDriver BiDi fails to open a tab beside a page that has
    // been in a meeting ("TabManager.getTabBrowser(...) is undefined").
    const adamBrowser = await launchFirefox();
    try {
      const adamFf = await openFirefox('Adam (Firefox)', adamBrowser);
      await adamOpensFionasReport(adamFf);
    } finally {
      await adamBrowser.close();
    }
  });

  async function adamOpensFionasReport(adamFf: FirefoxParticipant): Promise<void> {
    const page = adamFf.page;
    await page.goto(`${srv().url}/signin`);
    await firefoxFill(page, aria('E-mail address', 'textbox'), ADAM.email);
    await firefoxFill(page, 'input[type="password"]', ADAM.password);
    await ffClick(page, 'main button', 'Sign in');
    await page.waitForSelector('[data-testid="signed-in-as"]', { timeout: 15_000 });
    await page.goto(`${srv().url}/admin/reports/${reportIds.fiona}`);
    await page.waitForSelector('[data-testid="evidence"] input[type="file"]', { timeout: 15_000 });
    const input = await page.$('[data-testid="evidence"] input[type="file"]');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(keyFile);
    await page.waitForSelector('[data-testid="key-loaded"]', { timeout: 10_000 });
    await ffClick(page, 'button', 'Open evidence');
    await page.waitForSelector('[data-testid="opened-evidence"]', { timeout: 30_000 });
    const verdicts = await page.$$eval(
      '[data-testid="evidence-message"], [data-testid="evidence-clip"]',
      (els) => els.map((e) => e.getAttribute('data-verdict')),
    );
    expect(verdicts).toEqual(['account_key', 'verified']);
    await ffClick(page, 'button', 'Play the clip');
    const playback = () =>
      page.evaluate(() => {
        const e = document.querySelector('[data-testid="clip-playback"]');
        return { done: e?.getAttribute('data-done'), text: e?.textContent ?? '' };
      });
    const deadline = Date.now() + 45_000;
    let state = await playback();
    while (state.done !== 'true' && Date.now() < deadline) {
      await sleep(250);
      state = await playback();
    }
    expect(state.done, `${state.text}\n${errorsOf(adamFf)}`).toBe('true');
    const shown = await page.$eval('[data-testid="clip-playback"]', (e) =>
      Number(e.getAttribute('data-shown')),
    );
    expect(shown).toBeGreaterThan(50);
  }

  it('no page broke the CSP: the dialog, the screenshots, WebCodecs and the console run under it', () => {
    expect(pages.length).toBeGreaterThan(5);
    for (const p of pages)
      expect(
        p.errors.filter((e) => /CSP violation/.test(e)),
        p.name,
      ).toEqual([]);
  });
});
