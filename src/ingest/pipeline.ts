/**
 * What follows a stored webhook, wherever it runs: the processor (conversion and the ledger) and
 * the delivery worker, built from plain settings so that the background thread (embedded store)
 * and the service thread (PostgreSQL) build exactly the same thing.
 */
import { createDeliveryWorker } from '../delivery/delivery-worker.js';
import { createHttpSink, createJsonLinesSink, type HttpSinkOptions } from '../delivery/downstream-sink.js';
import type { Channel } from '../domain/domain-event.js';
import type { Clock, Logger } from '../domain/ports.js';
import { eventsFormat } from '../events/events-format.js';
import { legacyFormat } from '../legacy/legacy-format.js';
import type { Metrics } from '../observability/metrics.js';
import type { CutoverStore } from '../store/cutover-store.js';
import { createWebhookProcessor, type Converter, type LegacyConsumer, type PrimaryChannels } from './webhook-processor.js';

/** Plain data, so that it can be handed to a worker thread. */
export interface PipelineSpec {
  readonly graceMs: number;
  readonly windowMs: number;
  readonly maxAttempts: number;
  readonly deliveryLeaseMs: number;
  readonly downstream: HttpSinkOptions | { readonly file: string };
}

export interface Pipeline {
  readonly downstream: string;
  /** A webhook was stored or put back in the queue: process soon. */
  wake(): void;
  start(): void;
  /** Ends after the batches in flight. */
  stop(): Promise<void>;
}

/** Each wire format's converter, by the channel it arrives on. */
export function convertersByChannel(): Record<Channel, Converter> {
  return Object.fromEntries([legacyFormat, eventsFormat].map((f) => [f.channel, f.convert])) as Record<Channel, Converter>;
}

export function createPipeline(deps: {
  store: CutoverStore;
  spec: PipelineSpec;
  primaryChannels: PrimaryChannels;
  legacyConsumer?: LegacyConsumer;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
}): Pipeline {
  const { store, spec, metrics, logger, clock } = deps;
  const converters = convertersByChannel();
  const processor = createWebhookProcessor({
    store, converters, metrics, logger, clock,
    primaryChannels: deps.primaryChannels,
    ...(deps.legacyConsumer ? { legacyConsumer: deps.legacyConsumer } : {}),
    graceMs: spec.graceMs,
    windowMs: spec.windowMs,
  });
  const sink = 'url' in spec.downstream ? createHttpSink(spec.downstream) : createJsonLinesSink(spec.downstream.file);
  const delivery = createDeliveryWorker({ store, sink, metrics, logger, clock, maxAttempts: spec.maxAttempts, leaseMs: spec.deliveryLeaseMs });
  return {
    downstream: sink.description,
    wake: () => processor.wake(),
    start() {
      processor.start(1000);
      processor.wake();
      delivery.start(250);
    },
    async stop() {
      await processor.stop();
      await delivery.stop();
    },
  };
}
