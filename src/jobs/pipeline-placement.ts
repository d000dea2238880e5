/**
 * Where the work that follows a stored webhook runs: on a background thread (background-handle.ts), so that
 * taking webhooks in and processing them use a core each. On the embedded store that thread owns the SQLite
 * connection (its driver is synchronous); on PostgreSQL each thread opens a pool of its own. A store, sink or
 * converters a test gives cannot cross threads: the pipeline then runs on the service's thread. Either way the
 * same pipeline (pipeline.ts) and the same scheduler run.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { createSqlCutoverStore, type CutoverStore } from '../cutover-store.js';
import type { DownstreamSink } from '../delivery/downstream-sink.js';
import type { Channel } from '../domain/domain-event.js';
import { legacyConsumerOn, type Clock, type Logger, type ToggleReader } from '../domain/ports.js';
import { isShiftable } from '../domain/shiftable-clock.js';
import type { Converter } from '../formats/webhook-format.js';
import { primaryChannelsFromToggle } from '../ledger/webhook-processor.js';
import { exportWithThreadMetrics, storeStatementCounter, type Metrics } from '../observability/metrics.js';
import { createPostgresDriver, type PostgresTimeouts } from '../store/postgres-driver.js';
import { startBackgroundThread } from './background-handle.js';
import { createPipeline, settleBatchSize, type PipelineJob, type PipelineSpec } from './pipeline.js';

export interface PipelineOnItsStore {
  readonly store: CutoverStore;
  readonly description: { readonly store: string; readonly downstream: string };
  /** A webhook was stored or put back in the queue: process soon. */
  wake(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Everything Prometheus reads from /metrics, the pipeline's counters included. */
  exportMetrics(): Promise<string>;
  /** One pass of a pipeline job, now. */
  run(job: PipelineJob): Promise<number>;
}

export interface PipelineContext {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly toggle: ToggleReader;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The thread died: nothing can be stored any more. */
  readonly onFatal?: ((error: Error) => void) | undefined;
  /** Test seams (src/services.ts, ServiceOverrides). */
  readonly sink?: DownstreamSink | undefined;
  readonly converters?: Readonly<Partial<Record<Channel, Converter>>> | undefined;
}

/** `codat-cutover/<version>` from package.json (two levels above this file, in src/ and in dist/ alike). */
function userAgent(): string {
  return `codat-cutover/${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}`;
}

function pipelineSpec(config: Config): PipelineSpec {
  return {
    graceMs: config.CUTOVER_GRACE_SECONDS * 1000,
    windowMs: config.CORRELATION_WINDOW_SECONDS * 1000,
    maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    // Longer than one attempt can take, so no replica re-sends a delivery still in flight.
    deliveryLeaseMs: Math.max(30_000, config.DOWNSTREAM_TIMEOUT_MS * 3),
    settleBatchSize: settleBatchSize(config.DATABASE_URL ? 'postgres' : 'embedded'),
    downstream: config.DOWNSTREAM_URL
      ? { url: config.DOWNSTREAM_URL, timeoutMs: config.DOWNSTREAM_TIMEOUT_MS, userAgent: userAgent(), secret: config.DOWNSTREAM_SECRET }
      : { file: config.DOWNSTREAM_FILE ?? join(config.DATA_DIR, 'downstream.jsonl') },
  };
}

function postgresTimeouts(config: Config): PostgresTimeouts {
  return {
    connectMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    statementMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  };
}

function postgresStore(config: Config, databaseUrl: string, metrics: Metrics): CutoverStore {
  return createSqlCutoverStore(createPostgresDriver(databaseUrl, undefined, postgresTimeouts(config), storeStatementCounter(metrics, 'postgres')));
}

/** The pipeline on this thread: for a store, sink or converters a test gives (none of them can cross threads). */
function inProcessPipeline({ config, metrics, toggle, logger, clock, sink, converters }: PipelineContext, store: CutoverStore, storeName: string): PipelineOnItsStore {
  const pipeline = createPipeline({
    store, spec: pipelineSpec(config), primaryChannels: primaryChannelsFromToggle(toggle, metrics), legacyConsumer: () => legacyConsumerOn(toggle.definition()), metrics, logger, clock,
    ...(sink ? { sink } : {}),
    ...(converters ? { converters } : {}),
  });
  return {
    store,
    description: { store: storeName, downstream: pipeline.downstream },
    wake: () => pipeline.wake(),
    start: async () => pipeline.start(),
    stop: () => pipeline.stop(),
    exportMetrics: () => metrics.registry.metrics(),
    run: (job) => pipeline.run(job),
  };
}

/**
 * The pipeline on a background thread. On the embedded store the thread owns the SQLite connection and
 * the service's thread reaches the store through it. On PostgreSQL each thread has a pool of its own: the
 * service's thread stores and answers, the background thread settles and delivers, so the two halves of
 * a webhook's cost run on two cores and no body crosses threads (only a wake-up does).
 */
function backgroundThreadPipeline({ config, metrics, toggle, logger, clock, onFatal }: PipelineContext): PipelineOnItsStore {
  const spec = pipelineSpec(config);
  const common = { pipeline: spec, logLevel: config.LOG_LEVEL, ...(isShiftable(clock) ? { clockOffset: clock.offset } : {}) };
  const databaseUrl = config.DATABASE_URL;
  const sqlitePath = join(config.DATA_DIR, 'cutover.sqlite');
  const thread = startBackgroundThread(
    databaseUrl ? { ...common, postgres: { url: databaseUrl, timeouts: postgresTimeouts(config) } } : { ...common, sqlitePath },
    {
      primaryChannels: primaryChannelsFromToggle(toggle, metrics),
      legacyConsumer: () => legacyConsumerOn(toggle.definition()),
      logger,
      onFatal(error) {
        logger.error(databaseUrl ? 'the background thread stopped; webhooks are stored but no longer processed' : 'the background thread stopped; webhooks can no longer be stored', { error: error.message });
        onFatal?.(error);
      },
    },
  );
  const ownStore = databaseUrl ? postgresStore(config, databaseUrl, metrics) : null;
  return {
    // On PostgreSQL, closing the store also ends the thread (which closes its own pool).
    store: ownStore ? { ...ownStore, close: async () => { await thread.store.close(); await ownStore.close(); } } : thread.store,
    description: {
      store: databaseUrl ? 'postgresql (pipeline on a background thread)' : `sqlite ${sqlitePath} (background thread)`,
      downstream: 'url' in spec.downstream ? spec.downstream.url : `file ${spec.downstream.file}`,
    },
    // On the embedded store the thread wakes its processor itself when it stores or replays.
    wake: ownStore ? () => thread.wake() : () => undefined,
    start: () => thread.startPipeline(),
    stop: () => thread.stopPipeline(),
    exportMetrics: async () => exportWithThreadMetrics(metrics.registry, await thread.metrics()),
    run: (job) => thread.runJob(job),
  };
}

/** The pipeline and its store, placed: a given store, else PostgreSQL when DATABASE_URL is set, else embedded. */
export function placePipeline(context: PipelineContext, givenStore?: CutoverStore): PipelineOnItsStore {
  const { config } = context;
  if (givenStore) return inProcessPipeline(context, givenStore, 'given');
  // A test's sink or converters cannot cross threads.
  if (config.DATABASE_URL && (context.sink || context.converters)) return inProcessPipeline(context, postgresStore(config, config.DATABASE_URL, context.metrics), 'postgresql');
  return backgroundThreadPipeline(context);
}
