/**
 * Delivers from the store's outbox, not from memory: at-least-once towards the downstream with the
 * occurrence id as `Idempotency-Key`, retries with exponential backoff, dead letters after a bounded
 * number of attempts. Also runs the ledger's rescue of held occurrences whose grace period is over.
 */
import { errorText } from './error-text.js';
import type { Clock, Logger } from '../domain/ports.js';
import type { Metrics } from '../observability/metrics.js';
import type { DomainEventType } from '../domain/domain-event.js';
import type { DueDelivery, OutboxStore } from './outbox-store.js';

/**
 * The ledger's rescue of held occurrences, run on the delivery's beat (a rescue queues a delivery). A port,
 * so delivery does not depend on the ledger that depends on its outbox.
 */
export interface RescueDue {
  rescueDue(now: number, limit: number): Promise<readonly { readonly type: DomainEventType }[]>;
}
import { DownstreamRejected, type DownstreamSink } from './downstream-sink.js';

export interface DeliveryWorker {
  /**
   * One pass: rescue what is due, deliver what is due, batch after batch; ends after the batch in flight once
   * `signal` aborts. Returns the number of delivery attempts. The scheduler runs it (src/jobs/).
   */
  tick(signal?: AbortSignal): Promise<number>;
}

/** 1 s, 2 s, 4 s … capped at 15 min, with ±20 % jitter so a recovering downstream is not stampeded. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(1000 * 2 ** Math.max(0, attempt - 1), 15 * 60 * 1000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export function createDeliveryWorker(deps: {
  store: OutboxStore & RescueDue;
  sink: DownstreamSink;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  maxAttempts: number;
  batchSize?: number;
  /** Longer than the sink's timeout, so no other worker re-sends a delivery still in flight. */
  leaseMs?: number;
}): DeliveryWorker {
  const { store, sink, metrics, logger, clock, maxAttempts } = deps;
  const batchSize = deps.batchSize ?? 50;
  const leaseMs = deps.leaseMs ?? 120_000;

  /**
   * Sends one delivery; failures are recorded at once, successes are returned to be marked together.
   * A refusal the downstream will repeat (statusVerdict's `dead-letter`) is dead-lettered at once; a
   * `Retry-After` sets the next attempt instead of the backoff.
   */
  async function attempt({ occurrenceId, payload, attempts: previousAttempts, requestId }: DueDelivery): Promise<string | null> {
    const log = logger.child({ occurrenceId, ...(requestId ? { requestId } : {}) });
    const attempts = previousAttempts + 1;
    try {
      const receipt = await sink.deliver(payload, occurrenceId);
      log.info('delivered', { attempts, ...(receipt ? { status: receipt.status } : {}) });
      return occurrenceId;
    } catch (error) {
      const refused = error instanceof DownstreamRejected;
      const dead = attempts >= maxAttempts || (refused && error.verdict === 'dead-letter');
      const waitMs = refused && error.retryAfterMs !== null ? error.retryAfterMs : backoffMs(attempts);
      const text = errorText(error);
      await store.markDeliveryFailed(occurrenceId, text, dead ? null : clock.now() + waitMs);
      metrics.deliveries.inc({ outcome: dead ? 'dead' : 'failed' });
      const fields = { attempts, maxAttempts, ...(refused ? { status: error.status } : {}), error: text };
      if (dead) log.error('delivery dead-lettered', fields);
      else log.warn('delivery attempt failed; will retry', { ...fields, retryInMs: waitMs });
      return null;
    }
  }

  async function tick(signal?: AbortSignal): Promise<number> {
    for (const rescued of await store.rescueDue(clock.now(), 500)) metrics.rescued.inc({ type: rescued.type });
    let attempted = 0;
    while (!signal?.aborted) {
      const due = await store.claimDueDeliveries(clock.now(), batchSize, leaseMs);
      if (due.length === 0) return attempted;
      const delivered = (await Promise.all(due.map((d) => attempt(d)))).filter((id): id is string => id !== null);
      // One transaction for the batch: a sync per delivery would cap throughput on the embedded store.
      await store.markDelivered(delivered, clock.now());
      metrics.deliveries.inc({ outcome: 'delivered' }, delivered.length);
      attempted += due.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return attempted;
  }

  return { tick };
}
