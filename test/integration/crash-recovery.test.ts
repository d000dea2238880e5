/**
 * The service killed with SIGKILL under load and restarted: every webhook that was answered 2xx
 * reaches the downstream, and all deliveries of one occurrence carry one Idempotency-Key.
 * Run on the embedded store and on PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOccurrence, seededRandom, type GeneratedOccurrence, type WireCopy } from '../../tools/occurrence-generator.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { startDownstreamRecorder, waitFor } from './support/downstream-recorder.js';
import { createTestDatabase } from '../../tools/postgres.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const OCCURRENCES = 1200;
const KILL_AFTER_ANSWERS = 700;
const CONCURRENCY = 16;

interface StoreUnderTest {
  name: string;
  env(): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'embedded SQLite',
    async env() {
      const dir = mkdtempSync(join(tmpdir(), 'cutover-crash-'));
      return { env: { DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async env() {
      const dir = mkdtempSync(join(tmpdir(), 'cutover-crash-'));
      const database = await createTestDatabase();
      return {
        env: { DATA_DIR: dir, DATABASE_URL: database.url },
        cleanup: async () => {
          await database.drop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

describe.each(STORES)('crash recovery on $name', (storeUnderTest) => {
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  let recorder: Awaited<ReturnType<typeof startDownstreamRecorder>>;

  beforeAll(async () => {
    recorder = await startDownstreamRecorder();
    const prepared = await storeUnderTest.env();
    cleanup = prepared.cleanup;
    env = {
      ...prepared.env,
      DOWNSTREAM_URL: recorder.url,
      CODAT_EVENTS_SECRET: TEST_SECRET,
      CODAT_LEGACY_SECRET: TEST_SECRET,
      CUTOVER_GRACE_SECONDS: '2',
      CORRELATION_WINDOW_SECONDS: '600',
    };
  });
  afterAll(async () => {
    await recorder.close();
    await cleanup();
  });

  it('when the service is SIGKILLed under load and restarted, then every answered webhook reaches the downstream under one key per occurrence', async () => {
    const random = seededRandom(7);
    const occurrences: GeneratedOccurrence[] = [];
    while (occurrences.length < OCCURRENCES) {
      const occurrence = generateOccurrence({ random, oneSidedShare: 0.1, redeliveryShare: 0.1 });
      // New-only types stay shadow while the legacy channel is primary: not part of this check.
      if (occurrence.kind !== 'events-only') occurrences.push(occurrence);
    }
    const sends: { occurrence: GeneratedOccurrence; copy: WireCopy }[] = occurrences.flatMap((occurrence) => occurrence.copies.map((copy) => ({ occurrence, copy })));

    let service: ServiceProcess = await startServiceProcess(env);
    const answered = new Set<GeneratedOccurrence>();
    let answers = 0;
    let refused = 0;
    let killed = null as Promise<void> | null; // assigned in a closure, which TypeScript's narrowing does not see
    let next = 0;
    const worker = async () => {
      while (next < sends.length) {
        const send = sends[next++];
        if (!send) return;
        try {
          const response = await fetch(`${service.url}/webhooks/codat/${send.copy.channel}`, {
            method: 'POST',
            headers: signedHeaders(send.copy.body, { id: send.copy.webhookId }),
            body: send.copy.body,
          });
          await response.arrayBuffer();
          if (response.status === 200 || response.status === 202) {
            answered.add(send.occurrence);
            answers += 1;
            if (answers === KILL_AFTER_ANSWERS && !killed) killed = service.kill('SIGKILL');
          }
        } catch {
          refused += 1; // the process is gone: this copy was never acknowledged
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await killed;
    const deliveredBeforeRestart = recorder.received.length;

    service = await startServiceProcess(env);
    try {
      const expected = [...answered].map((o) => `${o.companyId}|${o.domainType}`);
      const deliveredKeys = () => new Set(recorder.received.map((r) => `${String(r.body.companyId)}|${String(r.body.type)}`));
      await waitFor(() => expected.every((k) => deliveredKeys().has(k)), 90_000, 'every answered occurrence to be delivered');

      const keysPerOccurrence = new Map<string, Set<string>>();
      for (const r of recorder.received) {
        const occurrence = `${String(r.body.companyId)}|${String(r.body.type)}`;
        keysPerOccurrence.set(occurrence, (keysPerOccurrence.get(occurrence) ?? new Set()).add(r.idempotencyKey));
      }
      const distinctKeys = new Set(recorder.received.map((r) => r.idempotencyKey)).size;
      console.log(`${storeUnderTest.name}: sent=${sends.length} answered=${answers} refused-after-kill=${refused} answered-occurrences=${answered.size} delivered-before-restart=${deliveredBeforeRestart} deliveries=${recorder.received.length} distinct-keys=${distinctKeys} redelivered-keys=${recorder.received.length - distinctKeys}`);
      expect([...keysPerOccurrence.values()].every((keys) => keys.size === 1)).toBe(true);
      expect(answers).toBeGreaterThanOrEqual(KILL_AFTER_ANSWERS);
      expect(refused).toBeGreaterThan(0);
    } finally {
      await service.kill('SIGTERM');
    }
  });
});
