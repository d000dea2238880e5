/**
 * Start-up's wait for the store: the schema is migrated (and whatever else must precede traffic)
 * with retries, for a bounded time, while the HTTP server already answers: webhooks with
 * `503 store_unavailable`, /readyz with what it is waiting for. A database that is still down when
 * the time is up is a failure the process cannot fix by itself (a wrong URL, a dropped database):
 * it ends and its supervisor decides.
 */
import type { Logger } from '../domain/ports.js';
import { StoreUnavailableError } from './store-unavailable.js';

export type StoreStartupStatus =
  | { readonly state: 'waiting'; readonly attempts: number; readonly lastError: string | null }
  | { readonly state: 'ready' }
  | { readonly state: 'failed'; readonly attempts: number; readonly lastError: string };

export interface StoreStartup {
  status(): StoreStartupStatus;
  /** Resolves once the store is ready; rejects when the time is up or start-up was cancelled. */
  readonly ready: Promise<void>;
  /** Stops retrying (shutdown during start-up). */
  cancel(): void;
}

export interface StoreStartupOptions {
  readonly prepare: () => Promise<void>;
  readonly logger: Logger;
  /** What is waited for, as the operator knows it: `PostgreSQL at db:5432 (DATABASE_URL)`. Default: `the store`. */
  readonly target?: string;
  /** How long to keep trying before giving up. */
  readonly timeoutMs: number;
  /** First pause between attempts; doubles up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

export function startStoreStartup(options: StoreStartupOptions): StoreStartup {
  const { prepare, logger, timeoutMs } = options;
  const target = options.target ?? 'the store';
  const maxDelayMs = options.maxDelayMs ?? 5000;
  let status: StoreStartupStatus = { state: 'waiting', attempts: 0, lastError: null };
  let cancelled = false;
  let wakeUp: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const ready = (async () => {
    const giveUpAt = Date.now() + timeoutMs;
    let delay = options.initialDelayMs ?? 250;
    for (let attempts = 1; ; attempts += 1) {
      if (cancelled) throw new StoreUnavailableError('start-up was cancelled');
      try {
        await prepare();
        if (attempts > 1) logger.info(`${target} is ready`, { attempts });
        status = { state: 'ready' };
        return;
      } catch (error) {
        const lastError = error instanceof Error ? error.message : String(error);
        const left = giveUpAt - Date.now();
        if (left <= 0) {
          status = { state: 'failed', attempts, lastError };
          logger.error(`${target} did not become ready within ${Math.round(timeoutMs / 1000)} s; giving up`, { attempts, timeoutMs, error: lastError });
          throw new StoreUnavailableError(`${target} did not become ready within ${timeoutMs} ms: ${lastError}`, { cause: error });
        }
        status = { state: 'waiting', attempts, lastError };
        const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        logger.warn(`waiting for ${target} (attempt ${attempts}, next in ${secondsOf(Math.min(delay, left))}, giving up in ${secondsOf(left)}): ${lastError}; webhooks are answered 503 until it is ready`, {
          attempts, retryInMs: Math.min(delay, left), giveUpInMs: left, error: lastError,
        });
        await pause(Math.min(delay, left));
        delay = Math.min(delay * 2, maxDelayMs);
      }
    }
  })();
  // Whoever awaits `ready` hears of a failure; an unheard one must not end the process by itself.
  ready.catch(() => undefined);

  return {
    status: () => status,
    ready,
    cancel() {
      cancelled = true;
      wakeUp?.();
    },
  };
}

/**
 * The store's calls fail promptly with `StoreUnavailableError` until start-up has made it ready.
 * Each call looks the method up on `store` when it is made, so a method replaced there later is the one called.
 */
export function gateUntilReady<S extends object>(store: S, startup: StoreStartup): S {
  const gated = { ...store };
  for (const key of Object.keys(store) as (keyof S & string)[]) {
    if (key === 'close' || key === 'migrate' || key === 'releaseLeases') continue;
    (gated as Record<keyof S, unknown>)[key] = (...args: unknown[]): Promise<unknown> => {
      if (startup.status().state !== 'ready') return Promise.reject(new StoreUnavailableError('the store is not ready yet (start-up)'));
      return (store[key] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    };
  }
  return gated;
}
