/**
 * After traffic where most occurrences arrive on both channels and some on one only, the metrics
 * and GET /cutover give exactly those numbers and a verdict with its reasons.
 */
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateOccurrence, seededRandom, type GeneratedOccurrence } from '../../tools/occurrence-generator.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const WINDOW_MS = 300_000;
const random = seededRandom(42);

function twoSided(): GeneratedOccurrence {
  for (;;) {
    const o = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
    if (o.copies.length === 2) return o;
  }
}

async function send(service: TestService, occurrences: readonly GeneratedOccurrence[], keep: 'both' | 'legacy' | 'events' = 'both') {
  for (const o of occurrences) {
    for (const copy of o.copies) {
      if (keep !== 'both' && copy.channel !== keep) continue;
      const response = await request(service.app)
        .post(`/webhooks/codat/${copy.channel}`)
        .set(signedHeaders(copy.body, { id: copy.webhookId, timestampMs: service.clock.now() }))
        .send(copy.body);
      expect(response.status).toBe(202);
    }
  }
}

async function closeWindows(service: TestService) {
  await service.settle();
  service.clock.advance(WINDOW_MS + 1);
  await service.settle();
}

const metric = async (service: TestService, name: string) => (await service.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
const total = (values: readonly { value: number; labels: Record<string, unknown> }[], labels: Record<string, string>) =>
  values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);

describe('the readiness report and the comparison metrics', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService({ windowMs: WINDOW_MS, graceMs: 60_000, minOccurrences: 10 });
  });
  afterEach(async () => {
    await service.close();
  });

  it('when 40 occurrences arrive on both channels, 3 on legacy only and 2 on new only, then the metrics and /cutover give exactly those numbers and say not ready, with the reason', async () => {
    await send(service, Array.from({ length: 40 }, twoSided));
    await send(service, Array.from({ length: 3 }, twoSided), 'legacy');
    await send(service, Array.from({ length: 2 }, twoSided), 'events');
    await closeWindows(service);

    const occurrences = await metric(service, 'codat_cutover_occurrences_total');
    expect(total(occurrences, { seen: 'both' })).toBe(40);
    expect(total(occurrences, { seen: 'legacy_only' })).toBe(3);
    expect(total(occurrences, { seen: 'events_only' })).toBe(2);
    expect(total(await metric(service, 'codat_cutover_ready'), {})).toBe(0);
    expect(total(await metric(service, 'codat_cutover_verdict'), { verdict: 'not-ready' })).toBe(1);

    const report = (await request(service.app).get('/cutover').set('accept', 'application/json')).body;
    expect(report.readiness.overall).toMatchObject({ both: 40, legacyOnly: 3, eventsOnly: 2, mismatches: 0 });
    expect(report.readiness.overall.coverage).toBeCloseTo(40 / 43, 6);
    expect(report.readiness.verdict).toBe('not-ready');
    const blockers = report.readiness.reasons.filter((r: { level: string }) => r.level === 'blocker').map((r: { message: string }) => r.message);
    expect(blockers.some((m: string) => /coverage .* legacy occurrence\(s\) never arrived as new events/.test(m))).toBe(true);
    // The two events-only occurrences were rescued after the grace period (the legacy copy never came).
    expect(report.readiness.overall.rescued).toBe(2);
  });

  it('when every occurrence arrives on both channels and the two conversions agree, then the verdict is ready to flip', async () => {
    await send(service, Array.from({ length: 30 }, twoSided));
    await closeWindows(service);
    const report = (await request(service.app).get('/cutover').set('accept', 'application/json')).body;
    expect(report.readiness).toMatchObject({ verdict: 'ready-to-flip', safe: true, phase: 'before-flip' });
    expect(report.readiness.overall.coverage).toBe(1);
    expect(total(await metric(service, 'codat_cutover_ready'), {})).toBe(1);
    const lag = await metric(service, 'codat_cutover_channel_lag_seconds');
    expect(total(lag, { late_channel: 'events' }) + total(lag, { late_channel: 'legacy' })).toBeGreaterThan(0);
  });

  it('when the toggle is on and legacy-only types still arrive, then the verdict is flipped, not ready to contract, and says why', async () => {
    service.toggle.on = true;
    await send(service, Array.from({ length: 20 }, twoSided));
    const legacyOnlyType = JSON.stringify({ AlertId: 'acu-1', RuleType: 'Account Categories Updated', CompanyId: 'c-1', Data: { modifiedDate: '2026-01-01' } });
    await request(service.app).post('/webhooks/codat/legacy').set(signedHeaders(legacyOnlyType, { timestampMs: service.clock.now() })).send(legacyOnlyType);
    await closeWindows(service);
    const report = (await request(service.app).get('/cutover').set('accept', 'application/json')).body;
    expect(report.readiness.verdict).toBe('flipped');
    expect(report.readiness.reasons.map((r: { message: string }) => r.message).join('\n')).toContain('company.accountCategoriesUpdated');
  });

  it('when the toggle is on and the new channel carries everything, then the verdict is ready to contract', async () => {
    service.toggle.on = true;
    await send(service, Array.from({ length: 20 }, twoSided));
    await closeWindows(service);
    const report = (await request(service.app).get('/cutover').set('accept', 'application/json')).body;
    expect(report.readiness).toMatchObject({ verdict: 'ready-to-contract', safe: true, phase: 'flipped' });
  });

  it('when the two conversions of an occurrence disagree, then it is counted as a mismatch by field and blocks the flip', async () => {
    const key = 'c2f8847d-3047-4619-a157-6d947d8e4a99';
    const legacy = JSON.stringify({ AlertId: 'a-1', RuleType: 'Push Operation Status Changed()', CompanyId: 'c-9', Data: { dataType: 'invoices', status: 'Success', pushOperationKey: key } });
    const events = JSON.stringify({ id: 'e-1', eventType: 'bills.write.successful', payload: { id: key, status: 'Success', referenceCompany: { id: 'c-9' } } });
    await request(service.app).post('/webhooks/codat/legacy').set(signedHeaders(legacy, { timestampMs: service.clock.now() })).send(legacy);
    await request(service.app).post('/webhooks/codat/events').set(signedHeaders(events, { timestampMs: service.clock.now() })).send(events);
    await closeWindows(service);
    expect(total(await metric(service, 'codat_cutover_mismatches_total'), { type: 'write.succeeded', field: 'data.dataType' })).toBe(1);
    const report = (await request(service.app).get('/cutover').set('accept', 'application/json')).body;
    expect(report.readiness.reasons.map((r: { message: string }) => r.message).join('\n')).toContain('disagree on data.dataType');
  });

  it('when a browser asks for /cutover, then it gets a page with the verdict and the next step', async () => {
    await send(service, Array.from({ length: 12 }, twoSided));
    await closeWindows(service);
    const page = await request(service.app).get('/cutover').set('accept', 'text/html,application/xhtml+xml');
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('data-verdict="ready-to-flip"');
    expect(page.text).toContain('enable codat-new-event-types');
  });

  it('when an ADMIN_TOKEN is set, then /cutover needs it', async () => {
    const guarded = await buildTestService({ adminToken: 'admin-token-0123456789' });
    expect((await request(guarded.app).get('/cutover')).status).toBe(401);
    expect((await request(guarded.app).get('/cutover').set('authorization', 'Bearer admin-token-0123456789')).status).toBe(200);
    await guarded.close();
  });
});
