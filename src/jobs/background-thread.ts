/**
 * The background thread's entry point (a worker_threads worker; like main.ts an entry, the only
 * module here that touches the thread's port). It owns the one SQLite connection, so the
 * synchronous driver's statements and fsyncs never hold the thread that answers HTTP requests, and
 * it runs the work that follows a stored webhook: conversion, the ledger and delivery. The service
 * thread keeps the request path, the toggle (asked per batch), the readiness monitor and /metrics
 * (which merges this thread's counters in).
 */
import { Registry } from 'prom-client';
import { parentPort, workerData } from 'node:worker_threads';
import type { Channel, Conversion } from '../domain/domain-event.js';
import { systemClock, type Logger } from '../domain/ports.js';
import { clockFromOffset } from '../domain/shiftable-clock.js';
import { createPipeline, type PipelineJob } from './pipeline.js';
import { createMetrics, storeStatementCounter } from '../observability/metrics.js';
import { LOG_LEVELS, type LogLevel } from '../observability/json-logger.js';
import type { NewWebhook, StoredWebhook } from '../cutover-store.js';
import { createSqlCutoverStore } from '../cutover-store.js';
import { createSqliteDriver } from '../store/sqlite-driver.js';
import { createPostgresDriver } from '../store/postgres-driver.js';
import {
  bufferFromTransfer,
  policyFromWire,
  storedForTransfer,
  storedFromTransfer,
  type BackgroundSpec,
  type FromBackground,
  type PolicyOnTheWire,
  type ToBackground,
} from './background-protocol.js';

/**
 * The pipeline's jobs (settle, deliver) each run one transaction at a time, so a few connections serve them;
 * the service's thread keeps its own pool for the requests.
 */
const PIPELINE_POOL_SIZE = 4;

type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };
type Send = (message: FromBackground) => void;

/**
 * The thread's logger: every line at or above LOG_LEVEL goes to the service thread's logger. A line below it is
 * not sent at all: the service thread would only drop it, and a message per delivery across threads costs the
 * pipeline.
 */
function forwardingLogger(send: Send, minLevel: LogLevel, bindings: Record<string, unknown> = {}): Logger {
  const ignore = () => undefined;
  const forward = (level: LogLevel) =>
    LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(minLevel)
      ? ignore
      : (message: string, fields?: Record<string, unknown>) => send({ kind: 'log', level, message, fields: { ...bindings, ...fields } });
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
    child: (more) => forwardingLogger(send, minLevel, { ...bindings, ...more }),
  };
}

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('background-thread.ts runs as a worker thread');
  const spec = workerData as BackgroundSpec;
  const send: Send = (message) => port.postMessage(message);
  // Counters only: the process figures are the service thread's (one process).
  const metrics = createMetrics(new Registry(), { processMetrics: false });
  const store = createSqlCutoverStore('postgres' in spec
    ? createPostgresDriver(spec.postgres.url, PIPELINE_POOL_SIZE, spec.postgres.timeouts, storeStatementCounter(metrics, 'postgres'))
    : createSqliteDriver(spec.sqlitePath, { countStatements: storeStatementCounter(metrics, 'sqlite') }));

  const waitingPrimaries = new Map<number, { resolve: (channels: readonly Channel[]) => void; reject: (error: Error) => void }>();
  let nextPrimariesId = 0;
  // Read on the service's thread together with each batch's channels, so it is as fresh as they are.
  let legacyConsumer = true;
  const askPrimaries = (companyIds: readonly (string | null)[]) =>
    new Promise<readonly Channel[]>((resolve, reject) => {
      const id = ++nextPrimariesId;
      waitingPrimaries.set(id, { resolve, reject });
      send({ kind: 'primaries', id, companyIds });
    });
  const pipeline = spec.pipeline
    ? createPipeline({ store, spec: spec.pipeline, primaryChannels: askPrimaries, legacyConsumer: () => legacyConsumer, metrics, logger: forwardingLogger(send, spec.logLevel ?? 'info'), clock: spec.clockOffset ? clockFromOffset(spec.clockOffset) : systemClock })
    : null;
  // Nothing is processed before the service starts the pipeline (nor after it stops it).
  let running = false;
  const wake = () => {
    if (running) pipeline?.wake();
  };

  async function serve(method: ToBackground & { kind: 'call' }): Promise<unknown> {
    const args = method.args as unknown[];
    switch (method.method) {
      case 'append': {
        const results = await store.append((args[0] as NewWebhook[]).map((w) => ({ ...w, body: bufferFromTransfer(w.body) })));
        wake();
        return results;
      }
      case 'replayQuarantineById': {
        const replayed = await store.replayQuarantineById(args[0] as number[], args[1] as number);
        wake();
        return replayed;
      }
      case 'replayQuarantine': {
        const replayed = await store.replayQuarantine(args[0] as number);
        wake();
        return replayed;
      }
      case 'claimPending':
        return (await store.claimPending(args[0] as number, args[1] as number, args[2] as number, args[3] as number | undefined)).map(storedForTransfer);
      case 'settle':
        return store.settle(storedFromTransfer(args[0] as StoredWebhook), args[1] as Conversion, policyFromWire(args[2] as PolicyOnTheWire));
      case 'settleBatch':
        return store.settleBatch(
          (args[0] as Item[]).map((item) => ({ webhook: storedFromTransfer(item.webhook), conversion: item.conversion })),
          policyFromWire(args[1] as PolicyOnTheWire),
        );
      case 'startPipeline':
        running = true;
        pipeline?.start();
        return undefined;
      case 'runJob':
        return pipeline ? pipeline.run(args[0] as PipelineJob) : 0;
      case 'stopPipeline':
        running = false;
        await pipeline?.stop();
        return undefined;
      case 'metrics':
        return pipeline ? metrics.registry.getMetricsAsJSON() : [];
      case 'shutdown':
        return store.close();
      default: {
        return (store[method.method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      }
    }
  }

  port.on('message', (message: ToBackground) => {
    if (message.kind === 'wake') return wake();
    if (message.kind === 'primaries' || message.kind === 'primaries-failed') {
      const waiting = waitingPrimaries.get(message.id);
      waitingPrimaries.delete(message.id);
      if (message.kind === 'primaries') {
        legacyConsumer = message.legacyConsumer ?? true;
        waiting?.resolve(message.channels);
      }
      else waiting?.reject(new Error(`the toggle could not be read: ${message.message}`));
      return;
    }
    serve(message)
      .then(
        (value) => send({ kind: 'reply', id: message.id, ok: true, value }),
        (error: unknown) => {
          const { name, message: text } = error instanceof Error ? error : { name: 'Error', message: String(error) };
          send({ kind: 'reply', id: message.id, ok: false, error: { name, message: text } });
        },
      )
      // Once the store is closed nothing is left to keep the thread alive: let it end.
      .finally(() => message.method === 'shutdown' && port.close());
  });
}

run();
