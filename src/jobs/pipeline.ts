/**
 * What follows a stored webhook, wherever it runs: the processor (conversion and the ledger) and
 * the delivery worker, built from plain settings so that the background thread (embedded store)
 * and the service thread (PostgreSQL) build exactly the same thing.
 */
import { createDeliveryWorker } from '../delivery/delivery-worker.js';
import { createHttpSink, createJsonLinesSink, type DownstreamSink, type HttpSinkOptions } from '../delivery/downstream-sink.js';
import type { Converter } from '../formats/webhook-format.js';
import type { Channel } from '../domain/domain-event.js';
import type { Clock, Logger } from '../domain/ports.js';
import { convertersByChannel } from '../formats/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { CutoverStore } from '../cutover-store.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { createWebhookProcessor, type LegacyConsumer, type PrimaryChannels } from '../ledger/webhook-processor.js';

const SETTLE = 'settle stored webhooks';
const DELIVER = 'deliver due occurrences';

/** Plain data, so that it can be handed to a worker thread. */
export interface PipelineSpec {
  readonly graceMs: number;
  readonly windowMs: number;
  readonly maxAttempts: number;
  readonly deliveryLeaseMs: number;
  /** Stored webhooks claimed and settled per transaction (`settleBatchSize`). */
  readonly settleBatchSize: number;
  readonly downstream: HttpSinkOptions | { readonly file: string };
}

/**
 * How many stored webhooks one settle claims and commits together, by store. The settle runs one batch at a
 * time, and a batch costs a fixed number of statements and one commit, so on PostgreSQL the round trips'
 * latency, not the work, bounds a small batch's rate: batches there are large enough to keep up with what one
 * process accepts, and no larger, since a batch's bodies are all held at once. On the embedded store the
 * request thread's appends share the one connection with the settle and wait behind a batch in flight, so
 * batches stay small there. Below saturation a claim takes what is pending, so the size only matters when a
 * backlog forms.
 */
export function settleBatchSize(store: 'embedded' | 'postgres'): number {
  return store === 'postgres' ? 200 : 50;
}

/** The pipeline's jobs, by what they do. */
export type PipelineJob = 'settle' | 'deliver';

export interface Pipeline {
  readonly downstream: string;
  /** A webhook was stored or put back in the queue: process soon. */
  wake(): void;
  start(): void;
  /** Ends after the batches in flight. */
  stop(): Promise<void>;
  /** One pass of one job, now (what the scheduler runs on its beat). */
  run(job: PipelineJob): Promise<number>;
}

export function createPipeline(deps: {
  store: CutoverStore;
  spec: PipelineSpec;
  primaryChannels: PrimaryChannels;
  legacyConsumer?: LegacyConsumer;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Instead of the downstream the spec names (a test's recording sink). */
  sink?: DownstreamSink;
  /** Instead of the formats' own (a test's misbehaving one). */
  converters?: Readonly<Partial<Record<Channel, Converter>>>;
}): Pipeline {
  const { store, spec, metrics, logger, clock } = deps;
  const converters = deps.converters ?? convertersByChannel();
  const processor = createWebhookProcessor({
    store, converters, metrics, logger, clock,
    primaryChannels: deps.primaryChannels,
    ...(deps.legacyConsumer ? { legacyConsumer: deps.legacyConsumer } : {}),
    graceMs: spec.graceMs,
    windowMs: spec.windowMs,
    batchSize: spec.settleBatchSize,
  });
  const sink = deps.sink ?? ('url' in spec.downstream ? createHttpSink(spec.downstream) : createJsonLinesSink(spec.downstream.file));
  const delivery = createDeliveryWorker({ store, sink, metrics, logger, clock, maxAttempts: spec.maxAttempts, leaseMs: spec.deliveryLeaseMs });
  // Made at each start: a stopped scheduler stays stopped.
  let scheduler: Scheduler | null = null;
  return {
    downstream: sink.description,
    wake: () => scheduler?.wake(SETTLE),
    start() {
      if (scheduler) return;
      scheduler = createScheduler(logger);
      // Woken by every stored webhook; the interval picks up leases that ran out and replays.
      scheduler.schedule(SETTLE, (signal) => processor.drain(signal), 1000);
      scheduler.schedule(DELIVER, (signal) => delivery.tick(signal), 250);
      scheduler.wake(SETTLE);
    },
    async stop() {
      const stopping = scheduler;
      scheduler = null;
      await stopping?.stop();
    },
    run: (job) => (job === 'settle' ? processor.drain() : delivery.tick()),
  };
}
