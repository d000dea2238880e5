/**
 * The store cannot take work right now (connection lost, database down or frozen, disk full, still
 * starting): a condition that passes, answered `503 store_unavailable` and retried, never a crash.
 * The name travels across the background thread (only name and message cross it), so it is the
 * name that is checked, not the class.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Also the background thread that is gone (src/jobs/background-handle.ts). */
const UNAVAILABLE_NAMES = new Set(['StoreUnavailableError', 'BackgroundThreadStopped']);

export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof Error && UNAVAILABLE_NAMES.has(error.name);
}

/** Rejects with `StoreUnavailableError` if `work` has not settled within `ms` (it is not cancelled). */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
