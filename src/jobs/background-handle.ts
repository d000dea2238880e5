/**
 * The service thread's side of the background thread (background-thread.ts): a `CutoverStore` proxy
 * over the thread's store, the switch for its pipeline, and its metrics for /metrics. Same
 * `CutoverStore` contract as the in-process store (test/unit/background-thread.test.ts runs the
 * shared suite on the proxy).
 */
import type { Worker } from 'node:worker_threads';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Conversion } from '../domain/domain-event.js';
import type { Logger } from '../domain/ports.js';
import type { PipelineJob } from './pipeline.js';
import type { PrimaryChannels } from '../ledger/webhook-processor.js';
import type { CutoverStore, LedgerPolicy, NewWebhook, StoredWebhook } from '../cutover-store.js';
import {
  bytesForTransfer,
  policyToWire,
  storedForTransfer,
  storedFromTransfer,
  type BackgroundSpec,
  type FromBackground,
  type ThreadMethod,
  type ToBackground,
} from './background-protocol.js';
import { THREAD_HEAP_LIMITS, startThread } from './thread-start.js';

/** The background thread stopped (crashed or closed): nothing more can be stored until the service restarts. */
export class BackgroundThreadStopped extends Error {
  constructor(reason: string) {
    super(`the background thread is not running: ${reason}`);
    this.name = 'BackgroundThreadStopped';
  }
}

export interface BackgroundThread {
  readonly store: CutoverStore;
  /** Starts conversion, the ledger and delivery in the thread (only with a `pipeline` spec). */
  startPipeline(): Promise<void>;
  /** Stops them and waits for the work in flight. */
  stopPipeline(): Promise<void>;
  /** A webhook was stored elsewhere (on PostgreSQL, by the service's thread): settle soon. */
  wake(): void;
  /** One pass of a pipeline job in the thread, now. */
  runJob(job: PipelineJob): Promise<number>;
  /** The thread's counters and histograms, to merge into /metrics. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
}

export interface BackgroundHooks {
  /** Answers the pipeline's toggle questions (the toggle lives on this thread). */
  readonly primaryChannels?: PrimaryChannels;
  /** Is codat-legacy-consumer on? Sent with every answer to the pipeline's toggle questions. Absent: on. */
  readonly legacyConsumer?: () => boolean;
  readonly logger?: Logger;
  /** The thread died: nothing can be stored any more. */
  readonly onFatal?: (error: Error) => void;
}

function startWorker(spec: BackgroundSpec): Worker {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return startThread(new URL(`./background-thread.${ext}`, import.meta.url), { workerData: spec, resourceLimits: THREAD_HEAP_LIMITS });
}

export function startBackgroundThread(spec: BackgroundSpec, hooks: BackgroundHooks = {}): BackgroundThread {
  const worker = startWorker(spec);
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let stopped: BackgroundThreadStopped | null = null;
  let closing: Promise<void> | null = null;

  const stop = (reason: string) => {
    stopped ??= new BackgroundThreadStopped(reason);
    for (const { reject } of waiting.values()) reject(stopped);
    waiting.clear();
  };
  const post = (message: ToBackground) => worker.postMessage(message);
  let wakePosted = false;

  /** Always answers, so that a batch never waits forever on the toggle. */
  async function answerPrimaries(id: number, companyIds: readonly (string | null)[]): Promise<void> {
    try {
      if (!hooks.primaryChannels) throw new Error('the background pipeline asked for the toggle, but none was given');
      post({ kind: 'primaries', id, channels: await hooks.primaryChannels(companyIds), legacyConsumer: hooks.legacyConsumer?.() ?? true });
    } catch (error) {
      hooks.logger?.error('could not read the toggle for the background thread', { error: String(error) });
      post({ kind: 'primaries-failed', id, message: String(error) });
    }
  }

  worker.on('message', (message: FromBackground) => {
    switch (message.kind) {
      case 'reply': {
        const call = waiting.get(message.id);
        if (!call) return;
        waiting.delete(message.id);
        if (message.ok) call.resolve(message.value);
        else call.reject(Object.assign(new Error(message.error.message), { name: message.error.name }));
        return;
      }
      case 'primaries':
        void answerPrimaries(message.id, message.companyIds);
        return;
      case 'log':
        hooks.logger?.[message.level](message.message, message.fields);
        return;
    }
  });
  // An 'error' is followed by an 'exit': report the first, once, and never during a shutdown.
  let fatalReported = false;
  const fatal = (error: Error) => {
    if (fatalReported || closing) return;
    fatalReported = true;
    hooks.onFatal?.(error);
  };
  worker.on('error', (error) => {
    stop(error.message);
    fatal(error);
  });
  worker.on('exit', (code) => {
    if (closing) return stop('closed');
    stop(`exited with code ${code}`);
    fatal(new BackgroundThreadStopped(`exited with code ${code}`));
  });

  function call<T>(method: ThreadMethod, ...args: unknown[]): Promise<T> {
    if (stopped) return Promise.reject(stopped);
    return new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      post({ kind: 'call', id, method, args });
    });
  }

  type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };
  const itemForTransfer = ({ webhook, conversion }: Item): Item => ({ webhook: storedForTransfer(webhook), conversion });

  const store: CutoverStore = {
    migrate: () => call('migrate'),
    append: (webhooks: readonly NewWebhook[]) => call('append', webhooks.map((w) => ({ ...w, body: bytesForTransfer(w.body) }))),
    releaseLeases: () => call('releaseLeases'),
    claimPending: async (now, limit, leaseMs, maxBytes) => (await call<StoredWebhook[]>('claimPending', now, limit, leaseMs, maxBytes)).map(storedFromTransfer),
    settle: (webhook, conversion, policy: LedgerPolicy) => call('settle', storedForTransfer(webhook), conversion, policyToWire([conversion], policy)),
    settleBatch: (items, policy) => call('settleBatch', items.map(itemForTransfer), policyToWire(items.map((item) => item.conversion), policy)),
    rescueDue: (now, limit) => call('rescueDue', now, limit),
    claimDueDeliveries: (now, limit, leaseMs, maxBytes) => call('claimDueDeliveries', now, limit, leaseMs, maxBytes),
    markDelivered: (occurrenceIds, now) => call('markDelivered', occurrenceIds, now),
    markDeliveriesFailed: (failures) => call('markDeliveriesFailed', failures),
    listDeadLetters: (limit) => call('listDeadLetters', limit),
    replayDeadLetters: (now) => call('replayDeadLetters', now),
    listQuarantine: (limit) => call('listQuarantine', limit),
    replayQuarantine: (now) => call('replayQuarantine', now),
    closeWindows: (now, windowMs, limit) => call('closeWindows', now, windowMs, limit),
    cutoverStats: (since) => call('cutoverStats', since),
    purge: (before) => call('purge', before),
    counts: () => call('counts'),
    pageDeadLetters: (query) => call('pageDeadLetters', query),
    getDeadLetter: (occurrenceId) => call('getDeadLetter', occurrenceId),
    replayDeadLettersById: (occurrenceIds, now) => call('replayDeadLettersById', occurrenceIds, now),
    pageQuarantine: (query) => call('pageQuarantine', query),
    getQuarantined: (inboxId) => call('getQuarantined', inboxId),
    replayQuarantineById: async (inboxIds, now) => call('replayQuarantineById', inboxIds, now),
    cutoverDetails: (since, now) => call('cutoverDetails', since, now),
    ping: () => call('ping'),
    close() {
      closing ??= (async () => {
        if (!stopped) await call('shutdown').catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };

  return {
    store,
    startPipeline: () => call('startPipeline'),
    stopPipeline: () => call('stopPipeline'),
    wake() {
      // One message per turn of the event loop, however many webhooks it stored.
      if (wakePosted || stopped) return;
      wakePosted = true;
      setImmediate(() => {
        wakePosted = false;
        if (!stopped) post({ kind: 'wake' });
      });
    },
    runJob: (job) => call('runJob', job),
    metrics: () => call('metrics'),
  };
}
