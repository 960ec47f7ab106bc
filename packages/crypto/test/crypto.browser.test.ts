import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, launchChromium, serveFiles, type StaticServer } from '@conclave/testing';

const vectorsPath = fileURLToPath(
  new URL('../../../test-vectors/sframe/rfc9605-test-vectors.json', import.meta.url),
);

describe('crypto package in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;

  beforeAll(async () => {
    const bundle = await bundleForBrowser(fileURLToPath(new URL('./browser/entry.ts', import.meta.url)));
    server = await serveFiles({
      '/': {
        type: 'text/html',
        body: '<!doctype html><title>loading</title><script type="module" src="/entry.js"></script>',
      },
      '/entry.js': { type: 'text/javascript', body: bundle },
    });
    browser = await launchChromium();
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url + '/');
    await page
      .waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 })
      .catch(() => {
        throw new Error(`crypto bundle did not load: ${errors.join('; ')}`);
      });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('passes every RFC 9605 SFrame test vector with the browser WebCrypto', async () => {
    const text = await readFile(vectorsPath, 'utf8');
    const report = await page.evaluate((t) => window.conclaveCrypto.runVectors(t), text);
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(289 + 3 + 5);
  });

  it('runs a three-member MLS meeting with SFrame media keys, and a removed member cannot decrypt', async () => {
    const r = await page.evaluate(() => window.conclaveCrypto.mlsScenario());
    expect(new Set(r.codes).size).toBe(1);
    expect(new Set(r.baseKeys).size).toBe(1);
    expect(r.decrypted).toBe(6);
    expect(r.removedFailed).toBe(true);
    expect(r.epochs).toEqual(['2', '2']); // carol is no longer active
  });
});
