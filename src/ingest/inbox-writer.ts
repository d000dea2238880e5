import type { AppendResult, CutoverStore, NewWebhook } from '../store/cutover-store.js';

export interface InboxWriter {
  /** Resolves once the webhook is committed to the store (or found to be a redelivery). */
  write(webhook: NewWebhook): Promise<AppendResult>;
}

/**
 * Group commit: webhooks that arrive while a commit is in flight wait and are committed together
 * in the next transaction, so durability costs one sync per batch, not one per request.
 */
export function createInboxWriter(store: CutoverStore, maxBatch = 500): InboxWriter {
  type Waiting = { webhook: NewWebhook; resolve: (r: AppendResult) => void; reject: (e: unknown) => void };
  let queue: Waiting[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          const results = await store.append(batch.map((w) => w.webhook));
          batch.forEach((waiting, i) => waiting.resolve(results[i] ?? { status: 'duplicate' }));
        } catch (error) {
          batch.forEach((waiting) => waiting.reject(error));
        }
      }
    } finally {
      flushing = false;
    }
  }

  return {
    write(webhook) {
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ webhook, resolve, reject });
        // Wait for the rest of this turn of the event loop: requests parsed together commit together.
        if (queue.length === 1) setImmediate(() => void flush());
      });
    },
  };
}
