/**
 * @needs-legacy-format: sends both channels; goes with the legacy format at the contract (npm run contract:rehearsal).
 * Exactly once under Codat's retry schedule, on a virtual clock: companies whose data types are read every
 * hour (the same natural key recurring), first reads told as `read.completed.initial` and `read.completed`
 * (both subscribed), first reads that failed, writes; legacy bodies with and without `DataConnectionId`.
 * Every copy, on either channel, is attempted on Codat's schedule (immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 10 h): an attempt may not reach us, or reach us and lose its answer (so the next one is a
 * redelivery); a copy whose eight attempts all fail is lost. The toggle flips throughout.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CODAT_RETRY_DELAYS_MS } from '../../src/domain/ledger.js';
import { seededRandom } from '../../tools/occurrence-generator.js';
import { deliveriesPerCompanyAndType, listenOnLoopback, postSignedCopy, type LoopbackServer } from '../support/simulation.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const SEED = Number(process.env.SIMULATION_SEED ?? 20261202);
const COMPANIES = 12;
const HOURS = 30;
const GRACE_MS = 120_000;
const WINDOW_MS = 900_000;
const HOUR = 3_600_000;

interface Copy {
  readonly channel: 'legacy' | 'events';
  readonly body: string;
  /** The domain types (company|type) this copy tells of the occurrence. */
  readonly tells: readonly string[];
}

describe('exactly once under Codat\'s retry schedule (virtual clock)', () => {
  let service: TestService;
  let server: LoopbackServer;

  beforeAll(async () => {
    service = await buildTestService({ graceMs: GRACE_MS, windowMs: WINDOW_MS });
    server = await listenOnLoopback(service.app);
  });
  afterAll(async () => {
    server.close();
    await service.close();
  });

  it('when copies on either channel are retried up to 27 h 35 min late while keys recur hourly and the toggle flips, then each occurrence is delivered once', async () => {
    const random = seededRandom(SEED);
    const start = service.clock.now();
    const iso = (at: number) => new Date(at).toISOString();
    const legacy = (tells: string, companyId: string, connectionId: string, ruleType: string, data?: Record<string, unknown>): Copy => ({
      channel: 'legacy' as const,
      tells: [`${companyId}|${tells}`],
      // Codat-Common.json documents these bodies without DataConnectionId: half of them come so.
      body: JSON.stringify({ AlertId: randomUUID(), RuleType: ruleType, CompanyId: companyId, ...(random() < 0.5 ? { DataConnectionId: connectionId } : {}), ...(data ? { Data: data } : {}) }),
    });
    const read = (tells: readonly string[], eventType: string, companyId: string, connectionId: string, at: number, status: string): Copy => ({
      channel: 'events' as const,
      tells: tells.map((type) => `${companyId}|${type}`),
      body: JSON.stringify({
        id: randomUUID(), eventType, generatedDate: iso(at),
        payload: { referenceCompany: { id: companyId }, dataTypes: [{ connectionId, dataType: 'invoices', recordsModified: false, status }] },
      }),
    });

    /** Each real-world occurrence (one read, one write) and every copy Codat sends of it. */
    const occurrences: { at: number; copies: readonly Copy[] }[] = [];
    for (let c = 0; c < COMPANIES; c += 1) {
      const companyId = randomUUID();
      const connectionId = randomUUID();
      const firstReadFails = c % 4 === 3;
      for (let hour = 0; hour < HOURS; hour += 1) {
        const at = start + hour * HOUR + Math.floor(random() * 60_000);
        if (hour === 0 && firstReadFails) {
          // Nothing read successfully: Codat sends no first sync on either channel.
          occurrences.push({ at, copies: [
            legacy('dataset.syncFailed', companyId, connectionId, 'Data Sync Status Changed To Error', { dataType: 'invoices', datasetStatus: 'ProcessingError' }),
            read(['dataset.syncFailed'], 'read.completed.initial', companyId, connectionId, at, 'ProcessingError'),
            read(['dataset.syncFailed'], 'read.completed', companyId, connectionId, at, 'ProcessingError'),
          ] });
          continue;
        }
        const first = hour === 0 || (firstReadFails && hour === 1);
        occurrences.push({ at, copies: [
          legacy('dataset.synced', companyId, connectionId, 'Data sync completed', { dataType: 'invoices', datasetId: randomUUID() }),
          ...(first
            ? [
                read(['dataset.synced', 'company.firstSynced'], 'read.completed.initial', companyId, connectionId, at, 'Complete'),
                legacy('company.firstSynced', companyId, connectionId, 'New company synchronised'),
              ]
            : []),
          read(['dataset.synced'], 'read.completed', companyId, connectionId, at, 'Complete'),
        ] });
        if (random() < 0.3) {
          const pushKey = randomUUID();
          occurrences.push({ at, copies: [
            legacy('write.succeeded', companyId, connectionId, 'Push Operation Status Changed()', { dataType: 'bills', status: random() < 0.5 ? 'Successful' : 'Success', pushOperationKey: pushKey }),
            {
              channel: 'events',
              tells: [`${companyId}|write.succeeded`],
              body: JSON.stringify({ id: randomUUID(), eventType: 'bills.write.successful', generatedDate: iso(at), payload: { id: pushKey, referenceCompany: { id: companyId }, connectionId, status: 'Success' } }),
            },
          ] });
        }
      }
    }

    // Each copy attempted on Codat's schedule until one is answered.
    const attempts: { at: number; copy: Copy; webhookId: string }[] = [];
    const expected = new Map<string, number>();
    let lostCopies = 0;
    let lateCopies = 0;
    for (const { at, copies } of occurrences) {
      const told = new Set<string>();
      for (const copy of copies) {
        const webhookId = `msg_${randomUUID()}`;
        let when = at + Math.floor(random() * 3_000);
        let answered = false;
        // Some copies never come (a consumer not subscribed for a while, an endpoint disabled).
        const neverComes = random() < 0.05;
        for (const delay of neverComes ? [] : CODAT_RETRY_DELAYS_MS) {
          when += delay;
          const reaches = random() >= 0.3;
          if (reaches) {
            attempts.push({ at: when, copy, webhookId });
            if (when - at > WINDOW_MS && !told.has(`late|${webhookId}`)) lateCopies += 1;
            told.add(`late|${webhookId}`);
            for (const group of copy.tells) told.add(group);
          }
          // Reached us, but the answer was lost on the way back: Codat tries again.
          if (reaches && random() >= 0.1) {
            answered = true;
            break;
          }
        }
        if (!answered && !attempts.some((a) => a.webhookId === webhookId)) lostCopies += 1;
      }
      // Delivered once if any copy telling it reached us, else (every attempt of every copy failed) never.
      for (const group of told) if (!group.startsWith('late|')) expected.set(group, (expected.get(group) ?? 0) + 1);
    }
    attempts.sort((a, b) => a.at - b.at);

    let flips = 0;
    for (const [i, { at, copy, webhookId }] of attempts.entries()) {
      service.clock.current = at;
      if (random() < 0.02) {
        service.toggle.on = !service.toggle.on;
        flips += 1;
      }
      expect([200, 202]).toContain(await postSignedCopy(server.baseUrl, copy, webhookId, at));
      if (i % 10 === 0) await service.settle();
    }
    service.clock.advance(GRACE_MS * 20);
    await service.settle();

    const delivered = deliveriesPerCompanyAndType(service.sink.deliveries);
    let lost = 0;
    let doubled = 0;
    for (const group of new Set([...expected.keys(), ...delivered.keys()])) {
      const difference = (delivered.get(group) ?? 0) - (expected.get(group) ?? 0);
      if (difference > 0) doubled += difference;
      else lost -= difference;
    }
    const arrivedCopies = new Set(attempts.map((a) => a.webhookId)).size;
    console.log(
      `retry simulation seed=${SEED}: occurrences=${occurrences.length} attempts=${attempts.length} copies-arrived=${arrivedCopies} copies-lost=${lostCopies} first-arrival-after-window=${lateCopies} flips=${flips} delivered=${service.sink.deliveries.length} lost=${lost} doubled=${doubled}`,
    );
    expect(flips).toBeGreaterThan(5);
    expect({ lost, doubled }).toEqual({ lost: 0, doubled: 0 });
    const ids = service.sink.deliveries.map((d) => d.idempotencyKey);
    expect(new Set(ids).size).toBe(ids.length);
  }, 180_000);
});
