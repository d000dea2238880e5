/**
 * The service assembled for component tests: the real app, inbox, ledger, store (SQLite in a
 * temporary folder) and delivery worker, with a hand-flipped toggle, a manual clock and a
 * recording downstream instead of Unleash, the wall clock and the existing system.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createWebhookAuthenticator, type EndpointCredentials } from '../../src/auth/webhook-authenticator.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/delivery/delivery-worker.js';
import type { DownstreamSink } from '../../src/delivery/downstream-sink.js';
import type { Channel } from '../../src/domain/domain-event.js';
import { legacyConsumerOn, type Logger } from '../../src/domain/ports.js';
import { eventsFormat } from '../../src/events/events-format.js';
import { createApp } from '../../src/http/app.js';
import { createInboxWriter } from '../../src/ingest/inbox-writer.js';
import { convertersByChannel } from '../../src/ingest/pipeline.js';
import { createWebhookProcessor, primaryChannelsFromToggle, type Converter, type WebhookProcessor } from '../../src/ingest/webhook-processor.js';
import { legacyFormat } from '../../src/legacy/legacy-format.js';
import { pinoOf, silentLogger } from '../../src/observability/json-logger.js';
import { createCutoverMonitor, type CutoverMonitor } from '../../src/report/cutover-monitor.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import type { CutoverStore } from '../../src/store/cutover-store.js';
import { createSqlCutoverStore } from '../../src/store/sql-cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { FakeToggle, ManualClock, RecordingSink } from './fakes.js';
import { TEST_SECRET } from './signing.js';

export interface TestService {
  app: Express;
  store: CutoverStore;
  toggle: FakeToggle;
  clock: ManualClock;
  sink: RecordingSink;
  metrics: Metrics;
  processor: WebhookProcessor;
  delivery: DeliveryWorker;
  monitor: CutoverMonitor;
  /** Processes everything stored and delivers everything due, as the background loops would. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  credentials?: Partial<Record<Channel, EndpointCredentials>>;
  graceMs?: number;
  windowMs?: number;
  bodyLimitBytes?: number;
  adminToken?: string;
  store?: CutoverStore;
  maxAttempts?: number;
  minOccurrences?: number;
  /** The formats' converters, unless given (e.g. one wrapped to misbehave). */
  converters?: Readonly<Record<Channel, Converter>>;
  /** A real downstream (e.g. the HTTP sink towards a local server) instead of the recording one. */
  downstream?: DownstreamSink;
  requestDeadlineMs?: number;
  readyzTimeoutMs?: number;
  /** Where every stage logs (e.g. a pino logger writing into memory); default: nowhere. */
  logger?: Logger;
}

export async function buildTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-test-'));
  const store = options.store ?? createSqlCutoverStore(createSqliteDriver(join(dir, 'store.sqlite')));
  await store.migrate();
  const logger = options.logger ?? silentLogger;
  const toggle = new FakeToggle();
  const clock = new ManualClock();
  clock.current = Date.now();
  const sink = new RecordingSink();
  const metrics = createMetrics();
  const formats = [legacyFormat, eventsFormat];
  const credentials: Record<Channel, EndpointCredentials> = {
    legacy: options.credentials?.legacy ?? { secrets: [TEST_SECRET], allowUnsigned: false },
    events: options.credentials?.events ?? { secrets: [TEST_SECRET], allowUnsigned: false },
  };
  const processor = createWebhookProcessor({
    store, metrics, clock, logger,
    primaryChannels: primaryChannelsFromToggle(toggle, metrics),
    legacyConsumer: () => legacyConsumerOn(toggle.definition()),
    converters: options.converters ?? convertersByChannel(),
    graceMs: options.graceMs ?? 120_000,
    windowMs: options.windowMs ?? 900_000,
  });
  const delivery = createDeliveryWorker({ store, sink: options.downstream ?? sink, metrics, clock, logger, maxAttempts: options.maxAttempts ?? 3 });
  const monitor = createCutoverMonitor({
    store, toggle, metrics, clock, logger,
    windowMs: options.windowMs ?? 900_000,
    thresholds: { minCoverage: 0.995, minOccurrences: options.minOccurrences ?? 10, observationHours: 24 },
    cacheMs: 0,
  });
  const app = createApp({
    formats: formats.map((format) => ({
      format,
      authenticate: createWebhookAuthenticator({ credentials: credentials[format.channel], toleranceSeconds: 300, clock }),
    })),
    inbox: createInboxWriter(store),
    store, toggle, metrics, clock, logger,
    accessLog: pinoOf(logger),
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    adminToken: options.adminToken,
    warnings: [],
    // Tests drive processing explicitly through settle(), so that each step is observable.
    onStored: () => undefined,
    cutoverReport: () => monitor.report(),
    ...(options.requestDeadlineMs === undefined ? {} : { requestDeadlineMs: options.requestDeadlineMs }),
    ...(options.readyzTimeoutMs === undefined ? {} : { readyzTimeoutMs: options.readyzTimeoutMs }),
  });
  return {
    app, store, toggle, clock, sink, metrics, processor, delivery, monitor,
    async settle() {
      await processor.drain();
      await delivery.tick();
      await monitor.tick();
    },
    async close() {
      await processor.stop();
      await delivery.stop();
      await monitor.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
