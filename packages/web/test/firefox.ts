import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { ConclaveTestView } from '../src/test-hooks.js';

/**
 * Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi (no geckodriver, no
 * browser download). `CONCLAVE_FIREFOX` points at another binary.
 */
const FIREFOX_PATH = process.env.CONCLAVE_FIREFOX ?? '/usr/bin/firefox-esr';

/**
 * Fake camera and microphone without a permission prompt, and host candidates on 127.0.0.1
 * (the tests run in a loopback-only network namespace): `ice.loopback` lets Firefox gather on
 * the loopback interface, unobfuscated (an IP address, not an mDNS name the SFU cannot
 * resolve), and without `permission.fake` Firefox never offers 127.0.0.1 at all.
 */
const FIREFOX_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.navigator.permission.fake': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

export interface Firefox {
  browser: Browser;
  /** From spawning the binary to a ready WebDriver BiDi session (ms). */
  launchMs: number;
  /** Closes the browser (SIGKILL to the process it started if that hangs), then removes the profile. */
  close(): Promise<void>;
}

function exited(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

function waitExit(proc: ChildProcess, ms: number): Promise<boolean> {
  if (exited(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(exited(proc)), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Headless firefox-esr with a fresh profile directory under the system's temporary directory.
 * `acceptInsecureCerts`: trust any certificate (a test server's self-signed one).
 */
export async function launchFirefox(opts: { acceptInsecureCerts?: boolean } = {}): Promise<Firefox> {
  if (!existsSync(FIREFOX_PATH)) {
    throw new Error(
      `Firefox not found at ${FIREFOX_PATH}: install it with "apt-get install -y firefox-esr" or set CONCLAVE_FIREFOX`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'conclave-firefox-'));
  const t0 = Date.now();
  let browser: Browser;
  try {
    // puppeteer kills what it spawned when the launch fails or times out.
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: FIREFOX_PREFS,
      args: ['--no-remote'],
      defaultViewport: { width: 1280, height: 720 },
      timeout: 30_000,
      acceptInsecureCerts: opts.acceptInsecureCerts ?? false,
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const launchMs = Date.now() - t0;
  const proc = browser.process();
  let closing: Promise<void> | undefined;
  const close = async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      browser.close().catch(() => undefined),
      new Promise<void>((r) => (timer = setTimeout(r, 5000))),
    ]);
    clearTimeout(timer);
    if (proc && !(await waitExit(proc, 1000)) && proc.pid !== undefined) {
      // Only the browser this launcher started (and its content processes: puppeteer spawns
      // it as the leader of its own process group).
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        proc.kill('SIGKILL');
      }
      await waitExit(proc, 5000);
    }
    await rm(profile, { recursive: true, force: true });
  };
  return { browser, launchMs, close: () => (closing ??= close()) };
}

export interface FirefoxParticipant {
  name: string;
  page: Page;
  /** Console errors and warnings, and page errors (shown when a test fails). */
  errors: string[];
}

/** A tab of `ff` that records its errors. */
export async function openFirefoxPage(ff: Firefox, name: string): Promise<FirefoxParticipant> {
  const page = await ff.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  return { name, page, errors };
}

/**
 * Firefox 140.12 applies the page's CSP (no 'unsafe-eval') to the functions puppeteer builds
 * inside the page with `new Function`: `page.waitForFunction` and the whole Locator API fail
 * there ("call to Function() blocked by CSP"), while `evaluate` (BiDi `script.callFunction`),
 * `waitForSelector`, `$`/`$$` and element handles still work. So the Firefox tests use only
 * those, through the helpers below.
 */
const POLL_MS = 100;

/**
 * Polls `fn` in the page (through `evaluate`) until it returns something truthy, and resolves
 * with that; `what` names the wait in the timeout error.
 */
export async function firefoxWaitFor<A extends unknown[], R>(
  page: Page,
  what: string,
  fn: (...args: A) => R,
  args: A,
  timeoutMs = 15_000,
): Promise<NonNullable<R>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      // puppeteer's evaluate types want its own function type; `fn` is one.
      const v = (await page.evaluate(fn as (...a: unknown[]) => R, ...args)) as R;
      if (v) return v as NonNullable<R>;
    } catch (e) {
      // A navigation in progress destroys the context: poll again.
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Firefox: timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits for the visible element matching `selector`, then clicks it (a real mouse click). */
export async function firefoxClick(page: Page, selector: string, timeoutMs = 15_000): Promise<void> {
  const handle = await visible(page, selector, timeoutMs);
  await handle.click();
}

/**
 * The visible element matching `selector`; when it does not come, an error that says what the
 * page shows instead (its address and the start of its text), not only which selector failed.
 */
async function visible(page: Page, selector: string, timeoutMs: number) {
  try {
    const handle = await page.waitForSelector(selector, { visible: true, timeout: timeoutMs });
    if (handle) return handle;
  } catch (e) {
    if (!(e instanceof Error && e.name === 'TimeoutError')) throw e;
  }
  const shown = await page
    .evaluate(
      () => `${location.href}: ${(document.body?.innerText ?? '').replace(/\s+/g, ' ').slice(0, 400)}`,
    )
    .catch((e: unknown) => `(the page could not be read: ${String(e)})`);
  throw new Error(`Firefox: no visible ${selector} after ${timeoutMs} ms; the page shows ${shown}`);
}

/** Waits for the visible input matching `selector`, replaces its text with `text` by typing. */
export async function firefoxFill(
  page: Page,
  selector: string,
  text: string,
  timeoutMs = 15_000,
): Promise<void> {
  const handle = await visible(page, selector, timeoutMs);
  await handle.evaluate((e) => (e as HTMLInputElement).select());
  await handle.type(text);
}

/**
 * Sets the page's viewport. puppeteer sends `browsingContext.setViewport` together with
 * `emulation.setScreenOrientationOverride`, which Firefox 140.12 does not know ("unknown
 * command"): that refusal is ignored, and the resize is checked on the page itself.
 */
export async function firefoxResize(page: Page, width: number, height: number): Promise<void> {
  try {
    await page.setViewport({ width, height });
  } catch (e) {
    if (!(e instanceof Error && e.message.includes('setScreenOrientationOverride'))) throw e;
  }
  await firefoxWaitFor(
    page,
    `a ${width}×${height} viewport`,
    (w: number, h: number) => window.innerWidth === w && window.innerHeight === h,
    [width, height],
    5000,
  );
}

/**
 * A selector for the element with this accessible name and role, as this app names them: a
 * button by its aria-label or else its text, a textbox by its aria-label or its label (`for`, or
 * a label around it); under `within` (an XPath of an ancestor) when given. An XPath, evaluated
 * in the page, and not puppeteer's ARIA selector (`::-p-aria`), which Firefox answers from its
 * accessibility tree over WebDriver BiDi: on a slow 2-core machine that took 25–28 s for the
 * pre-join page's fields while its camera preview ran.
 */
export function aria(name: string, role: 'button' | 'textbox', within = ''): string {
  if (name.includes('"')) throw new Error(`aria(): a name with a double quote: ${name}`);
  const n = `"${name}"`;
  const test =
    role === 'button'
      ? `(self::button or @role="button") and (@aria-label=${n} or (not(@aria-label) and normalize-space(.)=${n}))`
      : `(self::textarea or self::input[not(@type) or @type="text" or @type="email" or @type="search" or @type="tel" or @type="url"])` +
        ` and (@aria-label=${n} or @id=//label[normalize-space(.)=${n}]/@for or ancestor::label[normalize-space(.)=${n}])`;
  return `::-p-xpath(${within}//*[${test}])`;
}

const CONTROLS = 'nav[aria-label="Meeting controls"]';
const CONTROLS_XPATH = '//nav[@aria-label="Meeting controls"]';

/** Opens `url`, fills in the name, presses Join; resolves once the room's controls show. */
export async function firefoxJoin(p: FirefoxParticipant, url: string): Promise<void> {
  const { page } = p;
  await page.goto(url);
  await firefoxFill(page, aria('Your name', 'textbox'), p.name);
  await firefoxClick(page, aria('Join meeting', 'button'));
  await page.waitForSelector(CONTROLS, { timeout: 20_000 });
}

export async function firefoxView(p: FirefoxParticipant): Promise<ConclaveTestView> {
  const v = await p.page.evaluate(() => window.__conclave);
  if (!v) throw new Error(`${p.name}: window.__conclave is not set`);
  return v;
}

/** Presses a button of the meeting controls (Chat, Security, Leave…). */
export async function firefoxControl(p: FirefoxParticipant, name: string): Promise<void> {
  await firefoxClick(p.page, aria(name, 'button', CONTROLS_XPATH));
}

/** Sends a chat message (the Chat panel must be open). */
export async function firefoxSendChat(p: FirefoxParticipant, text: string): Promise<void> {
  await firefoxFill(p.page, aria('Message', 'textbox'), text);
  await p.page.keyboard.press('Enter');
}

/** Waits until the chat log shows `text`; resolves with the author shown with it. */
export async function firefoxChatMessage(p: FirefoxParticipant, text: string): Promise<string> {
  // `[author]`: an empty author name is still a found message.
  const [author] = await firefoxWaitFor(
    p.page,
    `the chat message ${JSON.stringify(text)}`,
    (t: string) => {
      for (const li of document.querySelectorAll('[role="log"][aria-label="Messages"] li')) {
        if (li.querySelector('.chat-text')?.textContent === t)
          return [li.querySelector('.chat-author')?.textContent ?? ''];
      }
      return undefined;
    },
    [text],
    10_000,
  );
  return author ?? '';
}

/** The security and membership codes the Security panel shows (the panel must be open). */
export async function firefoxShownCodes(
  p: FirefoxParticipant,
): Promise<{ securityCode: string; membershipCode: string }> {
  await p.page.waitForSelector('[data-testid="security-code"]', { timeout: 10_000 });
  return p.page.evaluate(() => ({
    securityCode: document.querySelector('[data-testid="security-code"]')?.textContent?.trim() ?? '',
    membershipCode: document.querySelector('[data-testid="membership-code"]')?.textContent?.trim() ?? '',
  }));
}
