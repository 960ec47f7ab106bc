import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConclaveTestSwitches, ConclaveTestView } from '../src/test-hooks.js';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/web/', import.meta.url));

export interface Participant {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Browser console errors and page errors (shown when a test fails). */
  errors: string[];
}

/** A new browser context (its own storage, camera and microphone) with the test switches set before the app loads. */
export async function openPage(
  browser: Browser,
  name: string,
  switches: ConclaveTestSwitches = {},
  viewport = { width: 1280, height: 720 },
): Promise<Participant> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript((s) => {
    window.__conclaveTest = s;
  }, switches);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  return { name, context, page, errors };
}

/** Opens `url`, fills in the name (and passcode), presses Join; resolves once in the room or the waiting room. */
export async function join(
  p: Participant,
  url: string,
  opts: { passcode?: string; cameraOff?: boolean } = {},
): Promise<'room' | 'waiting'> {
  await p.page.goto(url);
  // Fewer video streams to encode and decode on a small machine, when a test needs no video from p.
  if (opts.cameraOff) await p.page.getByRole('button', { name: 'Turn camera off' }).click();
  await p.page.getByLabel('Your name').fill(p.name);
  if (opts.passcode !== undefined) await p.page.getByLabel('Meeting passcode').fill(opts.passcode);
  await p.page.getByRole('button', { name: 'Join meeting' }).click();
  const room = p.page.getByRole('navigation', { name: 'Meeting controls' });
  const waiting = p.page.getByRole('heading', { name: 'Waiting for the host to let you in' });
  await room.or(waiting).waitFor({ timeout: 20_000 });
  return (await room.isVisible()) ? 'room' : 'waiting';
}

export async function view(p: Participant): Promise<ConclaveTestView> {
  const v = await p.page.evaluate(() => window.__conclave);
  if (!v) throw new Error(`${p.name}: window.__conclave is not set`);
  return v;
}

/** Polls the page's test view until `pred` holds (the predicate runs in Node). */
export async function until(
  p: Participant,
  what: string,
  pred: (v: ConclaveTestView) => boolean,
  timeoutMs = 20_000,
): Promise<ConclaveTestView> {
  const t0 = Date.now();
  let last: ConclaveTestView | undefined;
  for (;;) {
    last = await view(p);
    if (pred(last)) return last;
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(
        `${p.name}: timed out after ${timeoutMs} ms waiting for ${what}; last view: ${JSON.stringify(last)}; errors: ${p.errors.join(' | ')}`,
      );
    }
    await sleep(250);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MediaTotals {
  videoFrames: number;
  audioPackets: number;
}

/** Decoded camera frames and received audio packets from `participantId`, per getStats. */
export function mediaFrom(
  v: ConclaveTestView,
  participantId: string,
  source: 'camera' | 'screen' = 'camera',
): MediaTotals {
  let videoFrames = 0;
  let audioPackets = 0;
  for (const i of v.inbound) {
    if (i.participantId !== participantId) continue;
    if (i.kind === 'video' && i.source === source) videoFrames += i.framesDecoded;
    if (i.kind === 'audio' && i.source === 'audio') audioPackets += i.packetsReceived;
  }
  return { videoFrames, audioPackets };
}

/** Waits until `p` keeps decoding video and receiving audio from every one of `others` (counters rising). */
export async function expectMediaFlowing(
  p: Participant,
  others: { name: string; id: string }[],
  timeoutMs = 25_000,
): Promise<void> {
  const before = await view(p);
  // Counted from the lowest reading: getStats' counters start again from 0 when the page's media
  // connection is replaced (a reconnect), which can happen after `before` was read.
  const base = new Map(others.map((o) => [o.id, mediaFrom(before, o.id)]));
  await until(
    p,
    `video and audio from ${others.map((o) => o.name).join(', ')}`,
    (v) =>
      others
        .map((o) => {
          const b = mediaFrom(v, o.id);
          const a = base.get(o.id)!; // every id was put in above
          const low = {
            videoFrames: Math.min(a.videoFrames, b.videoFrames),
            audioPackets: Math.min(a.audioPackets, b.audioPackets),
          };
          base.set(o.id, low); // for every sender on every reading, not only up to the first one short
          return b.videoFrames > low.videoFrames + 10 && b.audioPackets > low.audioPackets + 20;
        })
        .every(Boolean),
    timeoutMs,
  );
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core in the page (or only in the element `selector` names); returns the serious and critical violations. */
export async function axeSerious(page: Page, selector?: string): Promise<AxeViolation[]> {
  // Evaluated, not added as a <script>: the app's CSP refuses inline scripts (a DevTools
  // evaluation is not subject to it).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
  const violations = await page.evaluate(async (sel) => {
    const axe = (
      window as unknown as {
        axe: { run: (ctx: Document | Element, opts: object) => Promise<{ violations: unknown[] }> };
      }
    ).axe;
    const context = sel ? document.querySelector(sel) : document;
    if (!context) throw new Error(`axe: nothing matches ${sel}`);
    const r = await axe.run(context, { resultTypes: ['violations'] });
    return r.violations as AxeViolation[];
  }, selector);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      ...v,
      nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: joinPath(ARTIFACTS, `${name}.png`) });
}

/** The security code the Security panel shows (opens the panel if needed). */
export async function shownSecurityCode(p: Participant): Promise<string> {
  const panel = p.page.getByRole('complementary', { name: 'Security' });
  if (!(await panel.isVisible()))
    await p.page
      .getByRole('navigation', { name: 'Meeting controls' })
      .getByRole('button', { name: 'Security' })
      .click();
  return (await panel.getByTestId('security-code').textContent())?.trim() ?? '';
}

export interface TestAccount {
  email: string;
  password: string;
  displayName: string;
}

/** Creates an account on the sign-up page; resolves once the header shows the page signed in. */
export async function signUp(p: Participant, baseUrl: string, a: TestAccount): Promise<void> {
  await p.page.goto(`${baseUrl}/signup`);
  await p.page.getByLabel('Display name').fill(a.displayName);
  await p.page.getByLabel('E-mail address').fill(a.email);
  await p.page.getByLabel('Password', { exact: true }).fill(a.password);
  await p.page.getByRole('button', { name: 'Create account' }).click();
  await signedInAs(p, a.displayName);
}

/** Waits until the site header says who is signed in. */
export async function signedInAs(p: Participant, name: string): Promise<void> {
  await p.page
    .getByRole('navigation', { name: 'Account' })
    .getByText(`Signed in as ${name}`)
    .waitFor({ timeout: 15_000 });
}

/** RFC 4648 base32 (no padding needed) → bytes. */
function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` for time step `step`. */
function totpCode(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac('sha1', base32(secret)).update(counter).digest();
  const off = (h[h.length - 1] ?? 0) & 0xf;
  const bin =
    (((h[off] ?? 0) & 0x7f) << 24) | ((h[off + 1] ?? 0) << 16) | ((h[off + 2] ?? 0) << 8) | (h[off + 3] ?? 0);
  return String(bin % 1_000_000).padStart(6, '0');
}

/**
 * An authenticator app for tests: each code is for a later time step than the one before (the
 * server accepts a step once, and one step of drift either way), waiting for the clock when the
 * next unused step is not yet within the drift window.
 */
export class TestAuthenticator {
  private lastStep = -1;
  constructor(readonly secret: string) {}

  async next(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 30_000);
      const step = Math.max(this.lastStep + 1, now - 1);
      // Keep a second of margin before the window moves on.
      const windowEndsIn = (now + 1) * 30_000 - Date.now();
      if (step <= now + 1 && !(step === now - 1 && windowEndsIn < 2000)) {
        this.lastStep = step;
        return totpCode(this.secret, step);
      }
      await sleep(Math.min(windowEndsIn + 50, 30_000));
    }
  }
}
