/**
 * @needs-legacy-format: sends both channels; goes with the legacy format at the contract (npm run contract:rehearsal).
 * Thousands of occurrences sent as legacy and new copies with random delays, redeliveries,
 * reordering and one-sided occurrences, while the toggle flips many times mid-stream: each
 * occurrence reaches the downstream once (events-only ones at most once: they stay shadow while
 * the legacy channel is primary).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOccurrence, seededRandom, type GeneratedOccurrence, type WireCopy } from '../../tools/occurrence-generator.js';
import { deliveriesPerCompanyAndType, listenOnLoopback, postSignedCopy, type LoopbackServer } from '../support/simulation.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const OCCURRENCES = 2500;
const GRACE_MS = 60_000;
const SEED = Number(process.env.SIMULATION_SEED ?? 20261123);

describe('exactly once across the flip (simulation)', () => {
  let service: TestService;
  let server: LoopbackServer;

  beforeAll(async () => {
    service = await buildTestService({ graceMs: GRACE_MS, windowMs: 10 * GRACE_MS });
    server = await listenOnLoopback(service.app);
  });
  afterAll(async () => {
    server.close();
    await service.close();
  });

  it('when copies arrive late, twice, out of order and one-sided while the toggle flips, then each occurrence is delivered once', async () => {
    const random = seededRandom(SEED);
    const occurrences: GeneratedOccurrence[] = Array.from({ length: OCCURRENCES }, () =>
      generateOccurrence({ random, oneSidedShare: 0.1, redeliveryShare: 0.15 }));
    // Each copy arrives 0–30 s after its occurrence; redeliveries up to 5 min later.
    const start = service.clock.now();
    const schedule: { at: number; copy: WireCopy }[] = [];
    occurrences.forEach((occurrence, i) => {
      const happenedAt = start + i * 40;
      const seen = new Set<string>();
      for (const copy of occurrence.copies) {
        const redelivery = seen.has(copy.webhookId);
        seen.add(copy.webhookId);
        schedule.push({ at: happenedAt + Math.floor(random() * (redelivery ? 300_000 : 30_000)), copy });
      }
    });
    schedule.sort((a, b) => a.at - b.at);

    let flips = 0;
    for (const [i, { at, copy }] of schedule.entries()) {
      service.clock.current = at;
      if (random() < 0.01) {
        service.toggle.on = !service.toggle.on;
        flips += 1;
      }
      expect([200, 202]).toContain(await postSignedCopy(server.baseUrl, copy, copy.webhookId, at));
      if (i % 25 === 0) await service.settle();
    }
    service.clock.advance(GRACE_MS * 20);
    await service.settle();

    const deliveredPer = deliveriesPerCompanyAndType(service.sink.deliveries);
    let lost = 0;
    let doubled = 0;
    let shadowOnly = 0;
    for (const occurrence of occurrences) {
      const count = deliveredPer.get(`${occurrence.companyId}|${occurrence.domainType}`) ?? 0;
      if (count > 1) doubled += 1;
      if (count === 0 && occurrence.kind === 'events-only') shadowOnly += 1;
      else if (count === 0) lost += 1;
    }
    const ids = service.sink.deliveries.map((d) => d.idempotencyKey);
    console.log(`simulation seed=${SEED}: occurrences=${occurrences.length} copies=${schedule.length} flips=${flips} delivered=${ids.length} lost=${lost} doubled=${doubled} events-only-left-shadow=${shadowOnly}`);
    expect(flips).toBeGreaterThan(20);
    expect({ lost, doubled }).toEqual({ lost: 0, doubled: 0 });
    expect(new Set(ids).size).toBe(ids.length);
    expect(service.sink.deliveries.length).toBe(occurrences.length - shadowOnly);
    // Thousands of HTTP round trips: generous on a shared two-core machine.
  }, 120_000);
});
