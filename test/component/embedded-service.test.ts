/**
 * The service as `npm start` runs it on the embedded store, through the real composition root: the
 * request path on this thread, the store, conversion, the ledger and delivery on the background
 * thread (src/jobs/), the toggle and /metrics here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServices, type Service } from '../../src/services.js';
import { loadConfig } from '../../src/config.js';
import type { Logger } from '../../src/domain/ports.js';
import { generateOccurrence, seededRandom, type GeneratedOccurrence } from '../../tools/occurrence-generator.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';

const PATHS = { legacy: '/webhooks/codat/legacy', events: '/webhooks/codat/events' } as const;

async function waitFor<T>(read: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the embedded service, with its pipeline on the background thread', () => {
  let dataDir: string;
  let service: Service | undefined;
  const logged: { level: string; message: string }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    child: () => logger,
    info: (message) => void logged.push({ level: 'info', message }),
    warn: (message) => void logged.push({ level: 'warn', message }),
    error: (message) => void logged.push({ level: 'error', message }),
  };
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-embedded-'));
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('when both copies of occurrences arrive, then each is delivered once, and /metrics merges both threads without doubling process figures', async () => {
    const downstream = join(dataDir, 'downstream.jsonl');
    service = await createServices(
      loadConfig({ DATA_DIR: dataDir, DOWNSTREAM_FILE: downstream, CODAT_LEGACY_SECRET: TEST_SECRET, CODAT_EVENTS_SECRET: TEST_SECRET }),
      { logger },
    );
    service.start();
    const random = seededRandom(20261130);
    const occurrences: GeneratedOccurrence[] = [];
    while (occurrences.length < 20) {
      const occurrence = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
      if (occurrence.copies.length === 2) occurrences.push(occurrence);
    }
    for (const copy of occurrences.flatMap((o) => o.copies)) {
      const response = await request(service.app).post(PATHS[copy.channel]).set(signedHeaders(copy.body, { id: copy.webhookId })).send(copy.body);
      expect(response.status).toBe(202);
    }

    const lines = await waitFor(() => {
      const text = existsSync(downstream) ? readFileSync(downstream, 'utf8') : '';
      const found = text.split('\n').filter(Boolean);
      return found.length >= occurrences.length ? found : undefined;
    });
    // A moment more: nothing else may arrive.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const delivered = readFileSync(downstream, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { companyId: string });
    expect(lines.length).toBe(occurrences.length);
    expect(delivered.map((event) => event.companyId).sort()).toEqual(occurrences.map((o) => o.companyId).sort());

    const metrics = (await request(service.app).get('/metrics')).text;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1]);
    // Counted on the background thread…
    expect(value('codat_cutover_ledger_decisions_total{channel="legacy",action="deliver"}')).toBe(occurrences.length);
    expect(value('codat_cutover_deliveries_total{outcome="delivered"}')).toBe(occurrences.length);
    // …the toggle read on this thread, once per event…
    expect(value('codat_cutover_toggle_evaluations_total{result="off"}')).toBe(2 * occurrences.length);
    // …the request path here; process figures exported once.
    expect(value('codat_cutover_webhooks_received_total{endpoint="events",outcome="stored"}')).toBe(occurrences.length);
    // Every process figure the main registry has, exported once and as it has it (none dropped by the merge).
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(metrics.match(new RegExp(`^${name} `, 'gm')), name).toHaveLength(1);
    }
    expect(metrics.match(/^# TYPE /gm)?.length).toBe(new Set(metrics.match(/^# TYPE \S+/gm)).size);
    expect(value('codat_cutover_backlog{kind="inbox"}')).toBe(0);
    expect(logged.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
