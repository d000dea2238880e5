/**
 * The embedded store's share of a webhook's CPU, without HTTP: the service's own store, converters,
 * processor and delivery worker (src/), in one thread, on the bench's webhooks and with the bench's toggle
 * (off: legacy primary), one phase after the other (all appends, then one drain, then one delivery pass),
 * so there is no queueing and no thread hand-off. What it prints is a floor: under load the same work
 * costs more, not less. Bytes written are the process's (the WAL, checkpoints, the downstream file).
 *
 *   npx tsx scripts/bench/store-floor.ts [webhooks=60000]
 *
 * Read it against the bench's CPU budget (`npm run bench`): 0.8× Express leaves the service
 * (cores × 1000 / (0.8 × Express req/s)) − load generator ms per webhook. Express's own CPU per request
 * plus this floor already has to fit in it, before the HMAC, the hand-offs between threads and GC.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createDeliveryWorker } from '../../src/delivery/delivery-worker.js';
import { createJsonLinesSink } from '../../src/delivery/downstream-sink.js';
import type { Channel } from '../../src/domain/domain-event.js';
import { systemClock } from '../../src/domain/ports.js';
import { AUDIT_HEADERS } from '../../src/webhooks/webhook-receiver.js';
import { convertersByChannel } from '../../src/formats/index.js';
import { createWebhookProcessor } from '../../src/ledger/webhook-processor.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { NewWebhook } from '../../src/cutover-store.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { createWebhookStream } from './webhooks.js';

/** Webhooks per append transaction: what the service's group commit averaged under saturating load. */
const APPEND_BATCH = 13;

interface IoCounters {
  /** Bytes this process has written (any file: the WAL, checkpoints into the database, the downstream file). */
  readonly bytes: number;
  readonly calls: number;
}

/** /proc/self/io: what SQLite really writes, page rewrites and checkpoints included. */
function ioCounters(): IoCounters {
  const fields = new Map(readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((line) => line.split(': ') as [string, string]));
  return { bytes: Number(fields.get('wchar')), calls: Number(fields.get('syscw')) };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'cutover-store-floor-'));
  const store = createSqlCutoverStore(createSqliteDriver(join(dir, 'cutover.sqlite')));
  await store.migrate();
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  const converters = convertersByChannel();
  // The toggle as the bench's service has it (flags/unleash-export.json: off), so the same copies are
  // delivered and held as there: legacy primary for everyone.
  const processor = createWebhookProcessor({
    store, converters, metrics, logger: silentLogger, clock: systemClock,
    primaryChannels: (companyIds) => companyIds.map(() => 'legacy'),
    graceMs: 15_000,
    windowMs: 3_600_000,
  });
  const delivery = createDeliveryWorker({ store, sink: createJsonLinesSink(join(dir, 'downstream.jsonl')), metrics, logger: silentLogger, clock: systemClock, maxAttempts: 5 });

  const stream = createWebhookStream();
  const webhooks: NewWebhook[] = Array.from({ length: total }, () => {
    const { path, body, headers } = stream.next();
    const channel: Channel = path.endsWith('/legacy') ? 'legacy' : 'events';
    const audit = Object.fromEntries(AUDIT_HEADERS.flatMap((name) => (headers[name] ? [[name, headers[name]]] : [])));
    return { channel, endpoint: channel, dedupeKey: headers['webhook-id'] ?? '', receivedAt: Date.now(), headers: audit, body, state: 'pending', detail: null };
  });

  const phases: { name: string; cpuMs: number; wallMs: number; written: IoCounters }[] = [];
  const timed = async (name: string, work: () => Promise<unknown>) => {
    const cpu0 = process.cpuUsage();
    const io0 = ioCounters();
    const wall0 = performance.now();
    await work();
    const cpu = process.cpuUsage(cpu0);
    const io1 = ioCounters();
    phases.push({ name, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0, written: { bytes: io1.bytes - io0.bytes, calls: io1.calls - io0.calls } });
  };
  await timed(`append (${APPEND_BATCH} per transaction, synced)`, async () => {
    for (let i = 0; i < webhooks.length; i += APPEND_BATCH) await store.append(webhooks.slice(i, i + APPEND_BATCH));
  });
  await timed('convert + ledger (claim and settle, 50 per batch)', () => processor.drain());
  await timed('delivery (claim, write to a file, mark, 50 per batch)', async () => {
    while ((await delivery.tick()) > 0);
  });
  const counts = await store.counts();
  // Closing checkpoints what is left in the WAL: part of the store's writing, so part of the figures.
  await timed('close (the last checkpoint)', () => store.close());
  rmSync(dir, { recursive: true, force: true });
  if (counts.inboxPending !== 0 || counts.deliveriesPending !== 0) throw new Error(`not drained: ${JSON.stringify(counts)}`);

  console.log(`# the embedded store's CPU per webhook, ${total} webhooks, one thread, no HTTP (${new Date().toISOString()})`);
  console.log('| phase | CPU ms per webhook | wall ms per webhook | KB written per webhook | writes per webhook |');
  console.log('|:--|--:|--:|--:|--:|');
  const row = (name: string, cpuMs: number, wallMs: number, bytes: number, calls: number) =>
    console.log(`| ${name} | ${(cpuMs / total).toFixed(3)} | ${(wallMs / total).toFixed(3)} | ${(bytes / 1024 / total).toFixed(1)} | ${(calls / total).toFixed(1)} |`);
  for (const p of phases) row(p.name, p.cpuMs, p.wallMs, p.written.bytes, p.written.calls);
  const sum = (pick: (p: (typeof phases)[number]) => number) => phases.reduce((s, p) => s + pick(p), 0);
  row('**total**', sum((p) => p.cpuMs), sum((p) => p.wallMs), sum((p) => p.written.bytes), sum((p) => p.written.calls));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
