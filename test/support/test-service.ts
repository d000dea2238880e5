/**
 * The service for component tests, built by the same composition root as `npm start` (src/services.ts), with
 * fakes only at its seams: a hand-flipped toggle instead of Unleash, a manual clock, a recording downstream, and
 * the store (SQLite in a temporary folder) on the test's thread, where the pipeline then runs, as it does on
 * PostgreSQL. The jobs are not started: tests run each pass through `settle()`, so that every step is observable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { loadConfig, type Config } from '../../src/config.js';
import { createSqlCutoverStore, type CutoverStore } from '../../src/cutover-store.js';
import type { DownstreamSink } from '../../src/delivery/downstream-sink.js';
import type { Channel } from '../../src/domain/domain-event.js';
import type { Converter } from '../../src/formats/webhook-format.js';
import type { Logger } from '../../src/domain/ports.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import type { Metrics } from '../../src/observability/metrics.js';
import type { CutoverMonitor } from '../../src/readiness/cutover-monitor.js';
import { createServices } from '../../src/services.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import type { EndpointCredentials } from '../../src/webhooks/webhook-authenticator.js';
import { FakeToggle, ManualClock, RecordingSink } from './fakes.js';
import { TEST_SECRET } from '../../tools/signing.js';

export interface TestService {
  app: Express;
  store: CutoverStore;
  toggle: FakeToggle;
  clock: ManualClock;
  sink: RecordingSink;
  metrics: Metrics;
  processor: { drain(): Promise<number> };
  delivery: { tick(): Promise<number> };
  monitor: CutoverMonitor;
  /** Processes everything stored and delivers everything due, as the periodic jobs would. */
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
  converters?: Readonly<Partial<Record<Channel, Converter>>>;
  /** A real downstream (e.g. the HTTP sink towards a local server) instead of the recording one. */
  downstream?: DownstreamSink;
  requestDeadlineMs?: number;
  readyzTimeoutMs?: number;
  /** Where every stage logs (e.g. a pino logger writing into memory); default: nowhere. */
  logger?: Logger;
  /** How many webhooks may wait for the store before the next is answered 503 inbox_full. */
  maxWaitingWebhooks?: number;
}

export async function buildTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-test-'));
  const store = options.store ?? createSqlCutoverStore(createSqliteDriver(join(dir, 'store.sqlite')));
  const toggle = new FakeToggle();
  const clock = new ManualClock();
  clock.current = Date.now();
  const sink = new RecordingSink();
  // Validated as a user's would be, then the few values tests need beyond what an operator may set
  // (deadlines of milliseconds, fractional seconds) laid over it.
  const config: Config = {
    ...loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error' }),
    CUTOVER_GRACE_SECONDS: (options.graceMs ?? 120_000) / 1000,
    CORRELATION_WINDOW_SECONDS: (options.windowMs ?? 900_000) / 1000,
    BODY_LIMIT_BYTES: options.bodyLimitBytes ?? 1024 * 1024,
    ADMIN_TOKEN: options.adminToken,
    DELIVERY_MAX_ATTEMPTS: options.maxAttempts ?? 3,
    READINESS_MIN_OCCURRENCES: options.minOccurrences ?? 10,
    READINESS_MIN_COVERAGE: 0.995,
    READINESS_OBSERVATION_HOURS: 24,
    WEBHOOK_TOLERANCE_SECONDS: 300,
    ...(options.requestDeadlineMs === undefined ? {} : { REQUEST_DEADLINE_MS: options.requestDeadlineMs }),
    ...(options.readyzTimeoutMs === undefined ? {} : { READYZ_TIMEOUT_MS: options.readyzTimeoutMs }),
  };
  const service = await createServices(config, {
    logger: options.logger ?? silentLogger,
    clock,
    toggle,
    store,
    sink: options.downstream ?? sink,
    ...(options.converters ? { converters: options.converters } : {}),
    credentials: {
      legacy: options.credentials?.legacy ?? { secrets: [TEST_SECRET], allowUnsigned: false },
      events: options.credentials?.events ?? { secrets: [TEST_SECRET], allowUnsigned: false },
    },
    readinessCacheMs: 0,
    ...(options.maxWaitingWebhooks === undefined ? {} : { inboxBound: { maxWaiting: options.maxWaitingWebhooks } }),
  });
  return {
    app: service.app,
    store,
    toggle,
    clock,
    sink,
    metrics: service.metrics,
    processor: { drain: () => service.jobs.settle() },
    delivery: { tick: () => service.jobs.deliver() },
    monitor: service.monitor,
    async settle() {
      await service.jobs.settle();
      await service.jobs.deliver();
      await service.jobs.observe();
    },
    async close() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
