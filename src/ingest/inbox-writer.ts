import type { AppendResult, CutoverStore, NewWebhook } from '../store/cutover-store.js';

export interface InboxWriter {
  /** Resolves once the webhook is committed to the store (or found to be a redelivery). */
  write(webhook: NewWebhook): Promise<AppendResult>;
}

/**
 * Group commit: the webhooks parsed in one turn of the event loop are committed together, so
 * durability costs one sync per batch, not one per request. Several batches may be in flight at
 * once: while one commits, the next turn's requests are parsed and sent instead of waiting behind
 * it (with one in flight, every connection ended up waiting on the same commit and the HTTP thread
 * idled, docs/performance.md). The store orders them; a redelivery in a later batch is a duplicate.
 */
export function createInboxWriter(store: CutoverStore, options: { maxBatch?: number; maxInFlight?: number } = {}): InboxWriter {
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
    write(webhook) {
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ webhook, resolve, reject });
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
