import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import puppeteer from 'puppeteer-core';
import { bundleForBrowser, launchChromium, serveFiles, type StaticServer } from '@conclave/testing';
import {
  encodeModerationKeyFile,
  fromBase64,
  generateModerationKeyPair,
  openEvidence,
  parseModerationKeyFile,
  sealEvidence,
  toBase64,
} from '../src/index.js';

/**
 * The evidence box across runtimes: what the server seals in Node opens in the moderators'
 * browser, and the other way round, in Chromium and in Firefox (WebCrypto X25519 and AES-GCM).
 */

const FIREFOX_PATH = process.env.CONCLAVE_FIREFOX ?? '/usr/bin/firefox-esr';
const enc = new TextEncoder();

interface EvidenceBoxPage {
  keyFile(): Promise<string>;
  seal(publicKey: string, text: string, aad: string): Promise<string>;
  open(keyFile: string, box: string, aad: string): Promise<{ text?: string; error?: string }>;
}

let server: StaticServer;
beforeAll(async () => {
  const bundle = await bundleForBrowser(
    fileURLToPath(new URL('./browser/evidence-box-entry.ts', import.meta.url)),
  );
  server = await serveFiles({
    '/': {
      type: 'text/html',
      body: '<!doctype html><title>loading</title><script type="module" src="/entry.js"></script>',
    },
    '/entry.js': { type: 'text/javascript', body: bundle },
  });
});
afterAll(async () => server?.close());

/** Loads the page; a browser whose page does not load is closed before the error goes on. */
async function ready(load: () => Promise<void>, close: () => Promise<void>): Promise<void> {
  try {
    await load();
  } catch (e) {
    await close();
    throw e;
  }
}

/** The same checks for each browser. */
function interop(name: string, open: () => Promise<{ box: EvidenceBoxPage; close(): Promise<void> }>) {
  describe(`the evidence box in ${name}`, () => {
    let page: { box: EvidenceBoxPage; close(): Promise<void> };
    beforeAll(async () => {
      page = await open();
    }, 60_000);
    afterAll(async () => page?.close());

    it('opens what Node sealed (the server), with the key file the CLI writes', async () => {
      const pair = await generateModerationKeyPair();
      const file = encodeModerationKeyFile(pair, '2030-01-01T00:00:00.000Z');
      const evidence = JSON.stringify({ chat: [{ text: 'sealed in Node, opened in the browser ✓' }] });
      const box = toBase64(await sealEvidence(pair.publicKey, enc.encode(evidence), enc.encode('report-1')));
      expect(await page.box.open(file, box, 'report-1')).toEqual({ text: evidence });
      expect(await page.box.open(file, box, 'report-2')).toEqual({ error: 'wrong_key' });
      const other = encodeModerationKeyFile(await generateModerationKeyPair(), '2030-01-01T00:00:00.000Z');
      expect(await page.box.open(other, box, 'report-1')).toEqual({ error: 'wrong_key' });
      expect(await page.box.open('{"kind":"nothing"}', box, 'report-1')).toEqual({ error: 'bad_key' });
    });

    it('what the browser seals and the key files it makes work in Node', async () => {
      const file = parseModerationKeyFile(await page.box.keyFile());
      const box = await page.box.seal(toBase64(file.publicKey), 'sealed in the browser', 'report-9');
      const opened = await openEvidence(file.privateKey, fromBase64(box), enc.encode('report-9'));
      expect(new TextDecoder().decode(opened)).toBe('sealed in the browser');
    });
  });
}

interop('Chromium', async () => {
  const browser = await launchChromium();
  const p = await browser.newPage();
  await ready(
    async () => {
      await p.goto(server.url + '/');
      await p.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
    },
    () => browser.close(),
  );
  const box: EvidenceBoxPage = {
    keyFile: () => p.evaluate(() => window.evidenceBox.keyFile()),
    seal: (publicKey, text, aad) =>
      p.evaluate((a) => window.evidenceBox.seal(a.publicKey, a.text, a.aad), { publicKey, text, aad }),
    open: (keyFile, b, aad) =>
      p.evaluate((a) => window.evidenceBox.open(a.keyFile, a.b, a.aad), { keyFile, b, aad }),
  };
  return { box, close: () => browser.close() };
});

interop('Firefox', async () => {
  if (!existsSync(FIREFOX_PATH))
    throw new Error(`Firefox not found at ${FIREFOX_PATH} (set CONCLAVE_FIREFOX)`);
  const profile = await mkdtemp(join(tmpdir(), 'conclave-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir: profile,
    args: ['--no-remote'],
    timeout: 30_000,
  });
  const close = async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  };
  const p = await browser.newPage();
  await ready(async () => {
    await p.goto(server.url + '/');
    await p.waitForFunction(() => document.title === 'ready', { timeout: 30_000 });
  }, close);
  const box: EvidenceBoxPage = {
    keyFile: () => p.evaluate(() => window.evidenceBox.keyFile()),
    seal: (publicKey, text, aad) =>
      p.evaluate((a) => window.evidenceBox.seal(a.publicKey, a.text, a.aad), { publicKey, text, aad }),
    open: (keyFile, b, aad) =>
      p.evaluate((a) => window.evidenceBox.open(a.keyFile, a.b, a.aad), { keyFile, b, aad }),
  };
  return { box, close };
});
