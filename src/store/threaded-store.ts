/**
 * The embedded store on a thread of its own. better-sqlite3 is synchronous: on the HTTP thread every
 * statement and every `fsync` of a commit held the event loop (68 % of its time under load, see
 * docs/performance.md). Behind this proxy the same SQL store runs in src/store/store-thread.ts on
 * the one SQLite connection, and the HTTP thread only posts messages. Same `CutoverStore`
 * contract (test/unit/threaded-store.test.ts runs the shared suite on it).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Conversion } from '../domain/domain-event.js';
import type { CutoverStore, LedgerPolicy, NewWebhook, StoredWebhook } from './cutover-store.js';
import {
  bytesForTransfer,
  policyToWire,
  storedForTransfer,
  storedFromTransfer,
  type StoreMethod,
  type StoreReply,
  type StoreThreadSpec,
} from './store-thread-protocol.js';

/** The store thread stopped (crashed or closed): nothing more can be stored until the service restarts. */
export class StoreThreadStopped extends Error {
  constructor(reason: string) {
    super(`the store thread is not running: ${reason}`);
    this.name = 'StoreThreadStopped';
  }
}

/**
 * Runs from the compiled `dist/` (production) and from `src/` (tsx, vitest) alike. Node 20 does not
 * apply `--import tsx` to a worker's entry module, so a TypeScript entry is loaded by a small
 * bootstrap that registers tsx's loader inside the worker first.
 */
function startStoreThread(spec: StoreThreadSpec): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./store-thread.js', import.meta.url), { workerData: spec });
  const entry = new URL('./store-thread.ts', import.meta.url).href;
  const tsxApi = new URL('./index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api'))).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: spec });
}

export function createThreadedSqliteStore(spec: StoreThreadSpec, onFailure: (error: Error) => void = () => undefined): CutoverStore {
  const worker = startStoreThread(spec);
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let stopped: StoreThreadStopped | null = null;
  let closing: Promise<void> | null = null;

  const stop = (reason: string) => {
    stopped ??= new StoreThreadStopped(reason);
    for (const { reject } of waiting.values()) reject(stopped);
    waiting.clear();
  };
  worker.on('message', (reply: StoreReply) => {
    const call = waiting.get(reply.id);
    if (!call) return;
    waiting.delete(reply.id);
    if (reply.ok) call.resolve(reply.value);
    else call.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  });
  worker.on('error', (error) => {
    stop(error.message);
    onFailure(error);
  });
  worker.on('exit', (code) => {
    if (closing) return stop('closed');
    stop(`exited with code ${code}`);
    onFailure(new StoreThreadStopped(`exited with code ${code}`));
  });

  function call<T>(method: StoreMethod, ...args: unknown[]): Promise<T> {
    if (stopped) return Promise.reject(stopped);
    return new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, method, args });
    });
  }

  type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };
  const itemForTransfer = ({ webhook, conversion }: Item): Item => ({ webhook: storedForTransfer(webhook), conversion });

  return {
    migrate: () => call('migrate'),
    append: (webhooks: readonly NewWebhook[]) => call('append', webhooks.map((w) => ({ ...w, body: bytesForTransfer(w.body) }))),
    releaseLeases: () => call('releaseLeases'),
    claimPending: async (now, limit, leaseMs) => (await call<StoredWebhook[]>('claimPending', now, limit, leaseMs)).map(storedFromTransfer),
    settle: (webhook, conversion, policy: LedgerPolicy) => call('settle', storedForTransfer(webhook), conversion, policyToWire([conversion], policy)),
    settleBatch: (items, policy) => call('settleBatch', items.map(itemForTransfer), policyToWire(items.map((item) => item.conversion), policy)),
    rescueDue: (now, limit) => call('rescueDue', now, limit),
    claimDueDeliveries: (now, limit, leaseMs) => call('claimDueDeliveries', now, limit, leaseMs),
    markDelivered: (occurrenceIds, now) => call('markDelivered', occurrenceIds, now),
    markDeliveryFailed: (occurrenceId, error, nextAttemptAt) => call('markDeliveryFailed', occurrenceId, error, nextAttemptAt),
    listDeadLetters: (limit) => call('listDeadLetters', limit),
    replayDeadLetters: (now) => call('replayDeadLetters', now),
    listQuarantine: (limit) => call('listQuarantine', limit),
    replayQuarantine: (now) => call('replayQuarantine', now),
    closeWindows: (now, windowMs, limit) => call('closeWindows', now, windowMs, limit),
    cutoverStats: (since) => call('cutoverStats', since),
    purge: (before) => call('purge', before),
    counts: () => call('counts'),
    ping: () => call('ping'),
    close() {
      closing ??= (async () => {
        if (!stopped) await call('shutdown').catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
