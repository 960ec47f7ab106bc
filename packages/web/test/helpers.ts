import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ConclaveTestSwitches, ConclaveTestView } from '../src/test-hooks.js';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/web/', import.meta.url));

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
  opts: { passcode?: string } = {},
): Promise<'room' | 'waiting'> {
  await p.page.goto(url);
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
  await until(
    p,
    `video and audio from ${others.map((o) => o.name).join(', ')}`,
    (v) =>
      others.every((o) => {
        const a = mediaFrom(before, o.id);
        const b = mediaFrom(v, o.id);
        return b.videoFrames > a.videoFrames + 10 && b.audioPackets > a.audioPackets + 20;
      }),
    timeoutMs,
  );
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations as AxeViolation[];
  });
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
