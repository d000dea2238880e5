/**
 * On PostgreSQL the service's thread stores and answers while a background thread settles and
 * delivers, each with a pool of its own: a stored webhook reaches the other thread only as a wake-up.
 * If that wake-up were lost, every webhook would wait for the settle job's next beat (1 s), and the
 * sequential sends below would take several times longer than the bound.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodiesFor } from '../../tools/occurrence-generator.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { startDownstreamRecorder } from './support/downstream-recorder.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const SENDS = 10;

describe('PostgreSQL: the pipeline on its own thread', () => {
  let database: TestDatabase;
  let recorder: Awaited<ReturnType<typeof startDownstreamRecorder>>;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    [database, recorder] = await Promise.all([createTestDatabase(), startDownstreamRecorder()]);
    service = await startServiceProcess({
      DATABASE_URL: database.url,
      DOWNSTREAM_URL: recorder.url,
      CODAT_EVENTS_SECRET: TEST_SECRET,
      CODAT_LEGACY_SECRET: TEST_SECRET,
    });
  }, 60_000);

  afterAll(async () => {
    await service?.kill();
    await recorder?.close();
    await database?.drop();
  });

  async function deliveredWithin(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (recorder.received.length < count) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  }

  it('delivers each stored webhook as soon as it is stored, not on the next beat', async () => {
    const started = Date.now();
    for (let i = 1; i <= SENDS; i += 1) {
      const body = bodiesFor('write', randomUUID()).legacy!;
      const response = await fetch(`${service!.url}/webhooks/codat/legacy`, { method: 'POST', headers: signedHeaders(body, { id: `msg_${randomUUID()}` }), body });
      expect(response.status).toBe(202);
      expect(await deliveredWithin(i, 10_000), `delivery ${i} arrived\n${service!.output()}`).toBe(true);
    }
    const elapsed = Date.now() - started;
    // Woken, each waits for a settle and the delivery job's 250 ms beat: about 3 s for ten under tsx. Without the
    // wake-up, on the settle job's 1 s beat as well: about 10 s.
    expect(elapsed, `${SENDS} sequential webhooks took ${elapsed} ms`).toBeLessThan(6500);
    expect(new Set(recorder.received.map((r) => r.idempotencyKey)).size).toBe(SENDS);
  }, 60_000);

  it('counts the statements of both threads on /metrics', async () => {
    const text = await (await fetch(`${service!.url}/metrics`)).text();
    const count = (kind: string) => Number(new RegExp(`codat_cutover_store_statements_total\\{[^}]*dialect="postgres"[^}]*kind="${kind}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    // Appends are the service thread's, claims and settles the background thread's.
    expect(count('acknowledged')).toBeGreaterThan(0);
    expect(count('redoable')).toBeGreaterThan(0);
  });
});
