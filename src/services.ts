/**
 * The one place that builds the service: adapters chosen from the configuration, wired into the
 * domain and the app. Tests build their own variants with fakes through `createApp`.
 */
import { basename, dirname } from 'node:path';
import type { Express } from 'express';
import type { Config } from './config.js';
import { createWebhookAuthenticator } from './webhooks/webhook-authenticator.js';
import { resolveWebhookCredentials } from './webhooks/webhook-credentials.js';
import type { Channel } from './domain/domain-event.js';
import { systemClock, type Clock, type Logger, type ToggleReader } from './domain/ports.js';
import { createUnleashToggleReader } from './flags/unleash-toggle-reader.js';
import { createApp } from './app/app.js';
import type { DownstreamSink } from './delivery/downstream-sink.js';
import type { Converter } from './formats/webhook-format.js';
import type { EndpointCredentials } from './webhooks/webhook-authenticator.js';
import { createScheduler } from './jobs/scheduler.js';
import { createPinoLogger, pinoOf } from './observability/json-logger.js';
import type { CutoverMonitor } from './readiness/cutover-monitor.js';
import { FORMATS } from './formats/index.js';
import { createInboxWriter } from './webhooks/inbox-writer.js';
import { placePipeline } from './jobs/pipeline-placement.js';
import { createMetrics, initialiseKnownSeries, type Metrics } from './observability/metrics.js';
import { createCutoverMonitor } from './readiness/cutover-monitor.js';
import type { CutoverStore } from './cutover-store.js';
import { gateUntilReady, startStoreStartup } from './store/store-startup.js';
import { ensureWritableDirectory } from './writable-directory.js';

export interface Service {
  readonly app: Express;
  readonly store: CutoverStore;
  readonly metrics: Metrics;
  readonly monitor: CutoverMonitor;
  /**
   * One pass of each periodic job, now, in the scheduler's order (settle, deliver, readiness): what a test or an
   * operator's tool uses to see each step, without waiting for the beat.
   */
  readonly jobs: { settle(): Promise<number>; deliver(): Promise<number>; observe(): Promise<void> };
  /** Starts the periodic jobs (src/jobs/scheduler.ts) once the store is ready. */
  start(): void;
  /** Stops the jobs, finishes in-flight work and closes the store and the flag client. */
  stop(): Promise<void>;
  readonly description: Readonly<Record<string, unknown>>;
}

/**
 * The seams a test (or the bench) may replace; everything else is what `npm start` builds. Given a `store`, the
 * pipeline runs on this thread over it, as it does on PostgreSQL.
 */
export interface ServiceOverrides {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly hooks?: ServiceHooks;
  readonly toggle?: ToggleReader & { close(): Promise<void> };
  readonly store?: CutoverStore;
  readonly sink?: DownstreamSink;
  readonly converters?: Readonly<Partial<Record<Channel, Converter>>>;
  readonly credentials?: Partial<Record<Channel, EndpointCredentials>>;
  /** How long a readiness verdict is reused (default 5 s). */
  readonly readinessCacheMs?: number;
  /** The bound of webhooks waiting for the store (src/webhooks/inbox-writer.ts has the defaults). */
  readonly inboxBound?: { readonly maxWaiting?: number; readonly maxWaitingBytes?: number };
}

/** What the process should hear about: a failure the service cannot recover from by itself. */
export interface ServiceHooks {
  /**
   * The embedded store's thread died, or the store did not become ready within STORE_START_TIMEOUT_SECONDS:
   * nothing can be stored, the process should end and be restarted.
   */
  onFatal?(error: Error): void;
  /**
   * false: `createServices` returns before the store is ready (src/main.ts, which serves /readyz and answers
   * webhooks 503 meanwhile); the store is prepared with retries and `start()` waits for it. Default true.
   */
  readonly awaitStore?: boolean;
}

/** `host:port` of a PostgreSQL URL, never its credentials. */
function databaseAddress(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
  } catch {
    return '(an unreadable DATABASE_URL)';
  }
}

/** Before anything is opened: a folder the configuration writes to and cannot is one clear line, not a later crash. */
function checkWritableFolders(config: Config): void {
  const inDataDir = [
    !config.DATABASE_URL && 'the embedded store (cutover.sqlite)',
    !config.DOWNSTREAM_URL && !config.DOWNSTREAM_FILE && 'the JSON-lines downstream (downstream.jsonl)',
  ].filter((what): what is string => typeof what === 'string');
  if (inDataDir.length > 0) ensureWritableDirectory('DATA_DIR', config.DATA_DIR, inDataDir.join(' and '));
  if (!config.DOWNSTREAM_URL && config.DOWNSTREAM_FILE) {
    ensureWritableDirectory('DOWNSTREAM_FILE', dirname(config.DOWNSTREAM_FILE), `the JSON-lines downstream (${basename(config.DOWNSTREAM_FILE)})`);
  }
}

/** The one composition root: `npm start`, the tests, the demo and the bench all build the service here. */
export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Service> {
  const logger = overrides.logger ?? createPinoLogger(config.LOG_LEVEL);
  const clock = overrides.clock ?? systemClock;
  const hooks = overrides.hooks ?? {};
  checkWritableFolders(config);
  const metrics = createMetrics();
  initialiseKnownSeries(metrics);
  const toggle = overrides.toggle ?? await createUnleashToggleReader({
    url: config.UNLEASH_URL,
    apiToken: config.UNLEASH_API_TOKEN,
    appName: config.UNLEASH_APP_NAME,
    bootstrapFile: config.FLAGS_FILE,
    environment: config.UNLEASH_ENVIRONMENT,
    refreshIntervalMs: config.UNLEASH_REFRESH_MS,
    startTimeoutMs: config.UNLEASH_START_TIMEOUT_MS,
    logger,
  });
  const pipeline = placePipeline(
    { config, metrics, toggle, logger, clock, onFatal: (error) => hooks.onFatal?.(error), sink: overrides.sink, converters: overrides.converters },
    overrides.store,
  );
  const { store } = pipeline;
  const startup = startStoreStartup({
    async prepare() {
      await store.migrate();
      // The embedded store belongs to this one process: leases left by a crashed predecessor are void.
      if (!config.DATABASE_URL && !overrides.store) await store.releaseLeases();
    },
    logger,
    target: config.DATABASE_URL ? `PostgreSQL at ${databaseAddress(config.DATABASE_URL)} (DATABASE_URL)` : 'the embedded store (SQLite in DATA_DIR)',
    timeoutMs: config.STORE_START_TIMEOUT_SECONDS * 1000,
  });
  let stopping = false;
  if (hooks.awaitStore !== false) await startup.ready;
  // Not awaited: the process hears of a store that never became ready as a fatal failure.
  else startup.ready.catch((error: unknown) => {
    if (!stopping) hooks.onFatal?.(error instanceof Error ? error : new Error(String(error)));
  });
  // What answers requests fails promptly until the store is ready; the pipeline starts only then.
  const requestStore = gateUntilReady(store, startup);

  const resolved = resolveWebhookCredentials(config);
  const credentials = { ...resolved, ...overrides.credentials };
  const formats = FORMATS;
  const authenticatorFor = (channel: Channel) =>
    createWebhookAuthenticator({ credentials: credentials[channel], toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS, clock });

  const monitor = createCutoverMonitor({
    store, toggle, metrics, clock, logger,
    windowMs: config.CORRELATION_WINDOW_SECONDS * 1000,
    thresholds: {
      minCoverage: config.READINESS_MIN_COVERAGE,
      minOccurrences: config.READINESS_MIN_OCCURRENCES,
      observationHours: config.READINESS_OBSERVATION_HOURS,
    },
    ...(overrides.readinessCacheMs === undefined ? {} : { cacheMs: overrides.readinessCacheMs }),
  });

  const app = createApp({
    formats: formats.map((format) => ({ format, authenticate: authenticatorFor(format.channel) })),
    inbox: createInboxWriter(requestStore, overrides.inboxBound ?? {}),
    store: requestStore, toggle, metrics, logger, clock,
    accessLog: pinoOf(logger),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    adminToken: config.ADMIN_TOKEN,
    metricsToken: config.METRICS_TOKEN,
    warnings: credentials.warnings,
    onStored: () => pipeline.wake(),
    cutoverReport: () => monitor.report(),
    exportMetrics: () => pipeline.exportMetrics(),
    requestDeadlineMs: config.REQUEST_DEADLINE_MS,
    readyzTimeoutMs: config.READYZ_TIMEOUT_MS,
    storeStartup: () => startup.status(),
  });

  const retentionMs = config.RETENTION_DAYS * 24 * 3600 * 1000;
  // The service thread's jobs; the pipeline's (settle, deliver) run where the store lives (src/jobs/pipeline.ts).
  const scheduler = createScheduler(logger);
  return {
    app,
    store,
    metrics,
    monitor,
    jobs: {
      settle: () => pipeline.run('settle'),
      deliver: () => pipeline.run('deliver'),
      observe: () => monitor.tick(),
    },
    description: {
      store: pipeline.description.store,
      downstream: pipeline.description.downstream,
      flags: config.UNLEASH_URL ? `unleash ${config.UNLEASH_URL}` : `offline from ${config.FLAGS_FILE}`,
      warnings: credentials.warnings,
    },
    start() {
      startup.ready.then(() => {
        if (stopping) return;
        pipeline.start().catch((error: unknown) => logger.error('the pipeline did not start', { error: String(error) }));
        scheduler.schedule('observe readiness', () => monitor.tick(), 5000);
        scheduler.schedule('retention', () => store.purge(clock.now() - retentionMs), 3600_000);
      }, () => undefined);
    },
    async stop() {
      stopping = true;
      startup.cancel();
      await scheduler.stop();
      await pipeline.stop().catch((error: unknown) => logger.warn('the pipeline did not stop cleanly', { error: String(error) }));
      await toggle.close();
      await store.close();
    },
  };
}
