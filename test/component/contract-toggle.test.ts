/**
 * @needs-legacy-format: sends both channels; goes with the legacy format at the contract (npm run contract:rehearsal).
 * The contract phase as a flip of codat-legacy-consumer: legacy copies of replaced types are stored and
 * acknowledged but not delivered, what still needs the legacy channel keeps flowing, and the flip is reversible.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodiesFor } from '../../tools/occurrence-generator.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const GRACE_MS = 60_000;

async function post(service: TestService, channel: 'legacy' | 'events', body: string) {
  const response = await request(service.app)
    .post(`/webhooks/codat/${channel}`)
    .set(signedHeaders(body, { id: `msg_${randomUUID()}`, timestampMs: service.clock.now() }))
    .send(body);
  expect(response.status).toBe(202);
}

const contracted = async (service: TestService) =>
  ((await service.metrics.registry.getSingleMetric('codat_cutover_legacy_contracted_total')?.get())?.values ?? []).reduce((a, v) => a + v.value, 0);

describe('the contract toggle codat-legacy-consumer', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService({ graceMs: GRACE_MS, windowMs: 300_000 });
    service.toggle.on = true;
  });
  afterEach(async () => {
    await service.close();
  });

  it('when it is off after the flip, then a legacy-only copy of a replaced type is stored and acknowledged but never delivered, a legacy-only type still is, and the verdict says contracted', async () => {
    service.toggle.legacyConsumer = false;
    const write = bodiesFor('write', randomUUID());
    const syncStarted = bodiesFor('legacy-only', randomUUID());
    await post(service, 'legacy', write.legacy ?? '');
    await post(service, 'legacy', syncStarted.legacy ?? '');
    await service.settle();
    service.clock.advance(300_001);
    await service.settle();

    expect(service.sink.types()).toEqual(['expenses.syncStarted']);
    expect(await contracted(service)).toBe(1);
    expect((await service.store.counts()).inboxPending).toBe(0);
    const report = await service.monitor.report();
    expect(report.readiness.verdict).toBe('contracted');
    expect(report.readiness.reasons.map((r) => r.message).join('\n')).toMatch(/expenses\.syncStarted: still delivered from the legacy channel/);
  });

  it('when it is off but a company is still on the legacy channel, then that company\'s legacy copies are delivered and the verdict names the refusal', async () => {
    const stillLegacy = randomUUID();
    service.toggle.onFor = (companyId) => companyId !== stillLegacy;
    service.toggle.rolloutPercent = 50;
    service.toggle.legacyConsumer = false;
    await post(service, 'legacy', bodiesFor('write', stillLegacy).legacy ?? '');
    await service.settle();

    expect(service.sink.types()).toEqual(['write.succeeded']);
    expect(await contracted(service)).toBe(0);
    const report = await service.monitor.report();
    expect(report.readiness.verdict).toBe('not-ready');
    expect(report.readiness.reasons.map((r) => r.message).join('\n')).toMatch(/contract is refused for the companies still on the legacy channel/);
  });

  it('when it is turned back on, then a legacy copy of a replaced type is a shadow again and is rescued when its new copy never comes', async () => {
    service.toggle.legacyConsumer = false;
    await post(service, 'legacy', bodiesFor('write', randomUUID()).legacy ?? '');
    await service.settle();
    service.toggle.legacyConsumer = true;
    await post(service, 'legacy', bodiesFor('write', randomUUID()).legacy ?? '');
    await service.settle();
    service.clock.advance(GRACE_MS + 1);
    await service.settle();

    expect(service.sink.types()).toEqual(['write.succeeded']);
    expect(await contracted(service)).toBe(1);
    expect((await service.monitor.report()).readiness.verdict).not.toBe('contracted');
  });
});
