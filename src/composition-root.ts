/**
 * The one place that builds the service: adapters chosen from the configuration, wired into the
 * domain and the app. Tests build their own variants with fakes through `createApp`.
 */
import { join } from 'node:path';
import type { Express } from 'express';
import type { Config } from './config.js';
import { createWebhookAuthenticator } from './auth/webhook-authenticator.js';
import { resolveWebhookCredentials } from './auth/webhook-credentials.js';
import { createDeliveryWorker } from './delivery/delivery-worker.js';
import { createHttpSink, createJsonLinesSink } from './delivery/downstream-sink.js';
import type { Channel } from './domain/domain-event.js';
import { systemClock, type Clock, type Logger } from './domain/ports.js';
import { eventsFormat } from './events/events-format.js';
import { createUnleashToggleReader } from './flags/unleash-toggle-reader.js';
import { createApp } from './http/app.js';
import { createInboxWriter } from './ingest/inbox-writer.js';
import { createWebhookProcessor, type Converter } from './ingest/webhook-processor.js';
import { legacyFormat } from './legacy/legacy-format.js';
import { createMetrics, initialiseKnownSeries } from './observability/metrics.js';
import { createCutoverMonitor } from './report/cutover-monitor.js';
import type { CutoverStore } from './store/cutover-store.js';
import { createPostgresDriver } from './store/postgres-driver.js';
import { createSqlCutoverStore } from './store/sql-cutover-store.js';
import { createThreadedSqliteStore } from './store/threaded-store.js';
import { mkdirSync } from 'node:fs';

export interface Service {
  readonly app: Express;
  readonly store: CutoverStore;
  /** Starts the background loops (processing, delivery, retention). */
  start(): void;
  /** Stops the loops, finishes in-flight work and closes the store and the flag client. */
  stop(): Promise<void>;
  readonly description: Readonly<Record<string, unknown>>;
}

/** What the process should hear about: a failure the service cannot recover from by itself. */
export interface ServiceHooks {
  /** The embedded store's thread died: nothing can be stored any more, the process should end and be restarted. */
  onFatal?(error: Error): void;
}

export function createStore(config: Config, onFatal: (error: Error) => void): { store: CutoverStore; description: string } {
  if (config.DATABASE_URL) {
    return { store: createSqlCutoverStore(createPostgresDriver(config.DATABASE_URL)), description: 'postgresql' };
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const sqlitePath = join(config.DATA_DIR, 'cutover.sqlite');
  // SQLite's driver is synchronous: on its own thread, its statements and fsyncs never hold the HTTP thread.
  return { store: createThreadedSqliteStore({ sqlitePath }, onFatal), description: `sqlite ${sqlitePath} (store thread)` };
}

export async function buildService(config: Config, logger: Logger, clock: Clock = systemClock, hooks: ServiceHooks = {}): Promise<Service> {
  const metrics = createMetrics();
  initialiseKnownSeries(metrics);
  const { store, description: storeDescription } = createStore(config, (error) => {
    logger.error('the store thread stopped; webhooks can no longer be stored', { error: error.message });
    hooks.onFatal?.(error);
  });
  await store.migrate();
  // The embedded store belongs to this one process: leases left by a crashed predecessor are void.
  if (!config.DATABASE_URL) await store.releaseLeases();

  const toggle = await createUnleashToggleReader({
    url: config.UNLEASH_URL,
    apiToken: config.UNLEASH_API_TOKEN,
    appName: config.UNLEASH_APP_NAME,
    bootstrapFile: config.FLAGS_FILE,
    environment: config.UNLEASH_ENVIRONMENT,
    refreshIntervalMs: config.UNLEASH_REFRESH_MS,
    startTimeoutMs: config.UNLEASH_START_TIMEOUT_MS,
    logger,
  });

  const credentials = resolveWebhookCredentials(config);
  const formats = [legacyFormat, eventsFormat];
  const authenticatorFor = (channel: Channel) =>
    createWebhookAuthenticator({ credentials: credentials[channel], toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS, clock });
  const converters = Object.fromEntries(formats.map((f) => [f.channel, f.convert])) as Record<Channel, Converter>;

  const processor = createWebhookProcessor({
    store, converters, toggle, metrics, logger, clock,
    graceMs: config.CUTOVER_GRACE_SECONDS * 1000,
    windowMs: config.CORRELATION_WINDOW_SECONDS * 1000,
  });
  const sink = config.DOWNSTREAM_URL
    ? createHttpSink(config.DOWNSTREAM_URL, config.DOWNSTREAM_TIMEOUT_MS)
    : createJsonLinesSink(config.DOWNSTREAM_FILE ?? join(config.DATA_DIR, 'downstream.jsonl'));
  const delivery = createDeliveryWorker({
    store, sink, metrics, logger, clock,
    maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    // Longer than one attempt can take, so no replica re-sends a delivery still in flight.
    leaseMs: Math.max(30_000, config.DOWNSTREAM_TIMEOUT_MS * 3),
  });

  const monitor = createCutoverMonitor({
    store, toggle, metrics, clock, logger,
    windowMs: config.CORRELATION_WINDOW_SECONDS * 1000,
    thresholds: {
      minCoverage: config.READINESS_MIN_COVERAGE,
      minOccurrences: config.READINESS_MIN_OCCURRENCES,
      observationHours: config.READINESS_OBSERVATION_HOURS,
    },
  });

  const app = createApp({
    formats: formats.map((format) => ({ format, authenticate: authenticatorFor(format.channel) })),
    inbox: createInboxWriter(store),
    store, toggle, metrics, logger, clock,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    adminToken: config.ADMIN_TOKEN,
    metricsToken: config.METRICS_TOKEN,
    warnings: credentials.warnings,
    onStored: () => processor.wake(),
    cutoverReport: () => monitor.report(),
  });

  let retention: NodeJS.Timeout | undefined;
  const retentionMs = config.RETENTION_DAYS * 24 * 3600 * 1000;
  return {
    app,
    store,
    description: {
      store: storeDescription,
      downstream: sink.description,
      flags: config.UNLEASH_URL ? `unleash ${config.UNLEASH_URL}` : `offline from ${config.FLAGS_FILE}`,
      warnings: credentials.warnings,
    },
    start() {
      processor.start(1000);
      processor.wake();
      delivery.start(250);
      monitor.start(5000);
      retention = setInterval(() => {
        store.purge(clock.now() - retentionMs).catch((error: unknown) => logger.warn('retention purge failed', { error: String(error) }));
      }, 3600_000);
      retention.unref();
    },
    async stop() {
      clearInterval(retention);
      await processor.stop();
      await delivery.stop();
      await monitor.stop();
      await toggle.close();
      await store.close();
    },
  };
}
