import type { AppendResult, InboxStore, NewWebhook } from './inbox-store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';

/**
 * More webhooks are waiting for the store than the writer holds: the request is answered 503 `inbox_full`
 * with a `Retry-After`, nothing is acknowledged, and Codat's retry is stored once the store has caught up.
 */
export class InboxFullError extends Error {
  constructor(readonly waiting: number, readonly waitingBytes: number) {
    super(`${waiting} webhooks (${waitingBytes} bytes) are already waiting for the store`);
    this.name = 'InboxFullError';
  }
}

export interface InboxWriter {
  /**
   * Resolves once the webhook is committed to the store (or found to be a redelivery). Rejects with
   * `StoreUnavailableError` when `deadline` aborts first: a webhook still queued is then never sent;
   * one already in a batch may still commit, and Codat's retry finds it stored (a duplicate). Rejects with
   * `InboxFullError`, at once, when the writer already holds its bound of waiting webhooks.
   */
  write(webhook: NewWebhook, deadline?: AbortSignal): Promise<AppendResult>;
}

/**
 * Group commit: the webhooks parsed in one turn of the event loop are committed together, so
 * durability costs one sync per batch, not one per request. Several batches may be in flight at
 * once: while one commits, the next turn's requests are parsed and sent instead of waiting behind
 * it (with one in flight, every connection ended up waiting on the same commit and the HTTP thread
 * idled). The store orders them; a redelivery in a later batch is a duplicate.
 *
 * What waits (queued or in a batch in flight) is bounded by count and by body bytes: each waiting webhook
 * holds its request, its body and a copy on its way to the store, so a store slower than the arrivals
 * would otherwise turn into memory without limit. Past the bound a webhook is refused (`InboxFullError`),
 * never acknowledged: back-pressure that Codat's retries absorb. A webhook is always admitted when
 * nothing waits, whatever its size (the body limit bounds it).
 */
export function createInboxWriter(
  store: Pick<InboxStore, 'append'>,
  options: { maxBatch?: number; maxInFlight?: number; maxWaiting?: number; maxWaitingBytes?: number } = {},
): InboxWriter {
  const maxBatch = options.maxBatch ?? 500;
  const maxInFlight = options.maxInFlight ?? 4;
  const maxWaiting = options.maxWaiting ?? 2000;
  const maxWaitingBytes = options.maxWaitingBytes ?? 64 * 1024 * 1024;
  type Waiting = { webhook: NewWebhook; resolve: (r: AppendResult) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;
  // Queued and in flight, until each one's append has answered.
  let waitingCount = 0;
  let waitingBytes = 0;
  const release = (webhook: NewWebhook) => {
    waitingCount -= 1;
    waitingBytes -= webhook.body.length;
  };

  function send(): void {
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      inFlight += 1;
      store
        .append(batch.map((w) => w.webhook))
        .then(
          (results) => batch.forEach((waiting, i) => waiting.resolve(results[i] ?? { status: 'duplicate' })),
          (error: unknown) => batch.forEach((waiting) => waiting.reject(error)),
        )
        .finally(() => {
          inFlight -= 1;
          for (const waiting of batch) release(waiting.webhook);
          send();
        });
    }
  }

  return {
    write(webhook, deadline) {
      if (deadline?.aborted) return Promise.reject(new StoreUnavailableError('the webhook could not be stored before the request deadline'));
      if (waitingCount > 0 && (waitingCount >= maxWaiting || waitingBytes + webhook.body.length > maxWaitingBytes)) {
        return Promise.reject(new InboxFullError(waitingCount, waitingBytes));
      }
      waitingCount += 1;
      waitingBytes += webhook.body.length;
      return new Promise<AppendResult>((resolve, reject) => {
        const waiting: Waiting = { webhook, resolve, reject };
        if (deadline) {
          const expire = () => {
            // Still queued: it will never be sent, so it no longer waits. In a batch it waits until the batch ends.
            const before = queue.length;
            queue = queue.filter((w) => w !== waiting);
            if (queue.length < before) release(webhook);
            reject(new StoreUnavailableError('the webhook could not be stored before the request deadline'));
          };
          deadline.addEventListener('abort', expire, { once: true });
          const settled = () => deadline.removeEventListener('abort', expire);
          waiting.resolve = (result) => {
            settled();
            resolve(result);
          };
          waiting.reject = (error) => {
            settled();
            reject(error);
          };
        }
        queue.push(waiting);
        // Wait for the rest of this turn of the event loop: requests parsed together commit together.
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            send();
          });
        }
      });
    },
  };
}
