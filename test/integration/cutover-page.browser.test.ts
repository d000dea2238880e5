/**
 * The readiness page as a person sees it, in headless Chromium (Debian's `chromium`): the verdict,
 * what to do next and why, with a screenshot kept in test-results/ for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOccurrence, seededRandom, type GeneratedOccurrence } from '../support/occurrence-generator.js';
import { signedHeaders } from '../support/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results');
const WINDOW_MS = 300_000;

async function withTraffic(service: TestService, twoSided: number, legacyOnly: number): Promise<void> {
  const random = seededRandom(5);
  const occurrences: GeneratedOccurrence[] = [];
  while (occurrences.length < twoSided + legacyOnly) {
    const o = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
    if (o.copies.length === 2) occurrences.push(o);
  }
  for (const [i, o] of occurrences.entries()) {
    for (const copy of o.copies) {
      if (i >= twoSided && copy.channel === 'events') continue;
      await request(service.app).post(`/webhooks/codat/${copy.channel}`)
        .set(signedHeaders(copy.body, { id: copy.webhookId, timestampMs: service.clock.now() })).send(copy.body).expect(202);
    }
  }
  await service.settle();
  service.clock.advance(WINDOW_MS + 1);
  await service.settle();
}

async function serve(service: TestService): Promise<{ url: string; server: Server }> {
  const server = service.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the /cutover page in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('when legacy occurrences are missing from the new stream, then a person sees "Not ready to flip", why, and what to do', async () => {
    const service = await buildTestService({ windowMs: WINDOW_MS, minOccurrences: 10 });
    await withTraffic(service, 60, 4);
    const { url, server } = await serve(service);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const messages: string[] = [];
      page.on('console', (message) => messages.push(message.text()));
      await page.goto(`${url}/cutover`);
      await expect.poll(() => page.locator('#verdict h1').innerText()).toBe('Not ready to flip');
      // The stylesheet applies under the page's Content-Security-Policy: the banner is red, nothing was refused.
      expect(await page.locator('#verdict').evaluate((element) => getComputedStyle(element).backgroundColor)).toBe('rgb(180, 35, 24)');
      expect(messages.filter((text) => /Content Security Policy|Refused/i.test(text))).toEqual([]);
      expect(await page.locator('#next-step').innerText()).toContain('Keep the legacy channel primary');
      const blockers = await page.locator('#blockers li').allInnerTexts();
      expect(blockers.length).toBeGreaterThan(0);
      expect(blockers.join('\n')).toMatch(/coverage .*legacy occurrence\(s\) never arrived as new events/);
      expect(await page.locator('#coverage').innerText()).toBe(`${((60 / 64) * 100).toFixed(2)}%`);
      expect(await page.locator('#types tbody tr').count()).toBeGreaterThan(1);
      // The verdict banner is red and at the top of the page: the first thing a person reads.
      const box = await page.locator('#verdict').boundingBox();
      expect(box?.y).toBeLessThan(100);
      await page.screenshot({ path: join(SCREENSHOTS, 'cutover-not-ready.png'), fullPage: true });
    } finally {
      server.close();
      await service.close();
    }
  });

  it('when the new stream carries everything, then a person sees "Ready to flip" and the step to take', async () => {
    const service = await buildTestService({ windowMs: WINDOW_MS, minOccurrences: 10 });
    await withTraffic(service, 40, 0);
    const { url, server } = await serve(service);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${url}/cutover`);
      expect(await page.locator('#verdict h1').innerText()).toBe('Ready to flip');
      expect(await page.locator('#verdict').evaluate((element) => getComputedStyle(element).backgroundColor)).toBe('rgb(2, 122, 72)');
      expect(await page.locator('#next-step').innerText()).toContain('enable codat-new-event-types');
      expect(await page.locator('#blockers').count()).toBe(0);
      await page.screenshot({ path: join(SCREENSHOTS, 'cutover-ready-to-flip.png'), fullPage: true });
    } finally {
      server.close();
      await service.close();
    }
  });
});
