import type { DomainEvent, WebhookSource } from './domain-event.js';
import type { DeliveryReason } from './ledger.js';

/**
 * What the existing system receives, one per occurrence. `id` is the occurrence id, the same
 * whichever channel delivered it, and is also sent as the `Idempotency-Key` header.
 */
export interface DeliveryPayload {
  readonly id: string;
  readonly type: DomainEvent['type'];
  readonly occurredAt: string;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: DomainEvent['data'];
  readonly source: { readonly channel: WebhookSource['channel']; readonly id: string | null; readonly type: string | null };
  readonly delivery: { readonly reason: DeliveryReason };
}

/** One channel's copy of an occurrence, as the ledger keeps it. */
export interface RecordedCopy {
  readonly event: DomainEvent;
  readonly source: WebhookSource;
  readonly arrivedAt: number;
  /** The request that brought this copy (src/http/access-log.ts): a rescued delivery logs it too. */
  readonly requestId?: string;
}

export function toDeliveryPayload(occurrenceId: string, copy: RecordedCopy, reason: DeliveryReason): DeliveryPayload {
  const { event, source } = copy;
  return {
    id: occurrenceId,
    type: event.type,
    // Legacy bodies carry no time: the arrival time is the best account of when it happened.
    occurredAt: event.occurredAt ?? new Date(copy.arrivedAt).toISOString(),
    companyId: event.companyId,
    connectionId: event.connectionId,
    data: event.data,
    source: { channel: source.channel, id: source.id, type: source.type },
    delivery: { reason },
  };
}
