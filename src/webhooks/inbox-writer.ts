import type { AppendResult, InboxStore, NewWebhook } from './inbox-store.js';
import { StoreUnavailableError } from '../store/store-unavailable.js';

export interface InboxWriter {
  /**
   * Resolves once the webhook is committed to the store (or found to be a redelivery). Rejects with
   * `StoreUnavailableError` when `deadline` aborts first: a webhook still queued is then never sent;
   * one already in a batch may still commit, and Codat's retry finds it stored (a duplicate).
   */
  write(webhook: NewWebhook, deadline?: AbortSignal): Promise<AppendResult>;
}

/**
 * Group commit: the webhooks parsed in one turn of the event loop are committed together, so
 * durability costs one sync per batch, not one per request. Several batches may be in flight at
 * once: while one commits, the next turn's requests are parsed and sent instead of waiting behind
 * it (with one in flight, every connection ended up waiting on the same commit and the HTTP thread
 * idled). The store orders them; a redelivery in a later batch is a duplicate.
 */
export function createInboxWriter(store: Pick<InboxStore, 'append'>, options: { maxBatch?: number; maxInFlight?: number } = {}): InboxWriter {
  const maxBatch = options.maxBatch ?? 500;
  const maxInFlight = options.maxInFlight ?? 4;
  type Waiting = { webhook: NewWebhook; resolve: (r: AppendResult) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

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
          send();
        });
    }
  }

  return {
    write(webhook, deadline) {
      return new Promise<AppendResult>((resolve, reject) => {
        const waiting: Waiting = { webhook, resolve, reject };
        if (deadline) {
          const expire = () => {
            queue = queue.filter((w) => w !== waiting);
            reject(new StoreUnavailableError('the webhook could not be stored before the request deadline'));
          };
          if (deadline.aborted) return expire();
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
