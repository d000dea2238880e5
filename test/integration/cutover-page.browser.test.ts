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
import { randomUUID } from 'node:crypto';
import { bodiesFor, generateOccurrence, seededRandom, type GeneratedOccurrence } from '../../tools/occurrence-generator.js';
import { signedHeaders } from '../../tools/signing.js';
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

/**
 * Six hours of traffic on a manual clock: coverage improves hour by hour (fewer lost new-event copies), the
 * second copy comes 1-4 s late, and from the fourth hour a third of the companies are on the new channel.
 * Then, without closing their windows: new-event copies whose legacy twin has not come (pending and held),
 * two deliveries that fail for good (dead letters) and an unreadable body (quarantine).
 */
async function sixHours(service: TestService): Promise<void> {
  const random = seededRandom(11);
  const flipped = new Set<string>();
  // Each hour's traffic within one clock hour, whatever the minute the test starts at: begun a minute before
  // the hour, the first two minutes of traffic straddled it and the coverage chart had seven hours, not six.
  service.clock.current = Math.ceil(service.clock.now() / 3600_000) * 3600_000 + 300_000;
  for (let hour = 0; hour < 6; hour += 1) {
    const lost = [5, 4, 3, 1, 1, 0][hour] ?? 0;
    if (hour === 3) {
      service.toggle.rolloutPercent = 33;
      service.toggle.onFor = (companyId) => companyId !== null && flipped.has(companyId);
    }
    for (let i = 0; i < 24; i += 1) {
      let o: GeneratedOccurrence;
      do o = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
      while (o.copies.length !== 2);
      if (hour >= 3 && i % 3 === 0) flipped.add(o.companyId);
      for (const copy of o.copies) {
        if (i < lost && copy.channel === 'events') continue;
        // Codat's generatedDate on the test's clock, not the wall clock the generator read.
        const body = copy.channel === 'events' ? JSON.stringify({ ...(JSON.parse(copy.body) as object), generatedDate: new Date(service.clock.now()).toISOString() }) : copy.body;
        await request(service.app).post(`/webhooks/codat/${copy.channel}`)
          .set(signedHeaders(body, { id: copy.webhookId, timestampMs: service.clock.now() })).send(body).expect(202);
        service.clock.advance(1000 + (i % 4) * 1000);
      }
    }
    // A type Codat has no replacement for.
    const syncStarted = bodiesFor('legacy-only', randomUUID()).legacy ?? '';
    await request(service.app).post('/webhooks/codat/legacy').set(signedHeaders(syncStarted, { timestampMs: service.clock.now() })).send(syncStarted).expect(202);
    await service.settle();
    service.clock.advance(3600_000 - 24 * 5000);
    await service.settle();
  }
  service.sink.failNext = 2;
  for (let i = 0; i < 5; i += 1) {
    let o: GeneratedOccurrence;
    do o = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
    while (o.copies.length !== 2);
    const events = o.copies.find((c) => c.channel === 'events');
    const copy = i < 3 && events ? events : o.copies[0];
    if (!copy) continue;
    await request(service.app).post(`/webhooks/codat/${copy.channel}`)
      .set(signedHeaders(copy.body, { id: copy.webhookId, timestampMs: service.clock.now() })).send(copy.body).expect(202);
  }
  await request(service.app).post('/webhooks/codat/events').set(signedHeaders('{"id": ', { timestampMs: service.clock.now() })).send('{"id": ').expect(400);
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

  it('when six hours of traffic were judged and more is under way, then the page shows trends, pending work and per-company progress', async () => {
    const service = await buildTestService({ windowMs: WINDOW_MS, minOccurrences: 10, maxAttempts: 1 });
    await sixHours(service);
    const { url, server } = await serve(service);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${url}/cutover`);
      expect(Number(await page.locator('#pending').innerText())).toBeGreaterThan(0);
      expect(Number(await page.locator('#held').innerText())).toBeGreaterThan(0);
      expect(await page.locator('#dead-letters').innerText()).toBe('2');
      expect(await page.locator('#quarantine').innerText()).toBe('1');
      // One dot per hour that had a closed window, on the coverage line; lag has a p50 and a p99 line.
      expect(await page.locator('#chart-coverage circle').count()).toBe(6);
      expect(await page.locator('#chart-lag path').count()).toBe(2);
      expect(await page.locator('#chart-occurrences rect').count()).toBeGreaterThan(6);
      expect(Number(await page.locator('#companies-events').innerText())).toBeGreaterThan(0);
      expect(Number(await page.locator('#companies-legacy').innerText())).toBeGreaterThan(0);
      expect(await page.locator('#company-gaps tbody tr').count()).toBeGreaterThan(0);
      // Legacy-only types have nothing to compare: n/a, not a warning-coloured 0 %.
      expect(await page.locator('#types tr[data-type="expenses.syncStarted"] td.na').innerText()).toBe('n/a');
      await page.screenshot({ path: join(SCREENSHOTS, 'cutover-trends.png'), fullPage: true });
    } finally {
      server.close();
      await service.close();
    }
  });

  it('when ADMIN_TOKEN is set, then a browser signs in with a form, gets an HttpOnly SameSite=Strict cookie, and the token is never in the page', async () => {
    const token = 'operator-token-for-the-browser';
    const service = await buildTestService({ windowMs: WINDOW_MS, minOccurrences: 10, adminToken: token });
    await withTraffic(service, 12, 0);
    const { url, server } = await serve(service);
    try {
      const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
      const page = await context.newPage();
      const first = await page.goto(`${url}/cutover`);
      expect(first?.status()).toBe(401);
      await page.fill('#token', 'not-the-token');
      await page.click('button[type=submit]');
      expect(await page.locator('#login-failed').innerText()).toContain('not the operator token');
      await page.screenshot({ path: join(SCREENSHOTS, 'cutover-login.png'), fullPage: true });
      await page.fill('#token', token);
      await page.click('button[type=submit]');
      await expect.poll(() => page.locator('#verdict h1').innerText()).toBe('Ready to flip');
      expect(page.url()).toBe(`${url}/cutover`);
      expect(await page.content()).not.toContain(token);
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'cutover_session', httpOnly: true, sameSite: 'Strict', path: '/cutover' });
      expect(cookie?.value).not.toContain(token);
      // The cookie opens the page only, not the operator endpoints.
      expect((await page.request.get(`${url}/admin/dead-letters`)).status()).toBe(401);
      await context.close();
    } finally {
      server.close();
      await service.close();
    }
  });

  it('when the operator contracted, then a person sees "Contracted" and the legacy consumer off', async () => {
    const service = await buildTestService({ windowMs: WINDOW_MS, minOccurrences: 10 });
    service.toggle.on = true;
    service.toggle.legacyConsumer = false;
    await withTraffic(service, 20, 0);
    const { url, server } = await serve(service);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${url}/cutover`);
      expect(await page.locator('#verdict h1').innerText()).toBe('Contracted — legacy consumer off');
      expect(await page.locator('#legacy-consumer').innerText()).toBe('off (contracted)');
      expect(await page.locator('#notes').innerText()).toContain('codat_cutover_legacy_contracted_total');
      await page.screenshot({ path: join(SCREENSHOTS, 'cutover-contracted.png'), fullPage: true });
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
