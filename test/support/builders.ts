/**
 * Small builders for store-level tests: domain events, webhooks, conversions and ledger policies
 * built directly, without going through the wire-format mappers.
 */
import type { Channel, Conversion, DomainEvent, WebhookSource } from '../../src/domain/domain-event.js';
import type { LedgerPolicy, NewWebhook, StoredWebhook } from '../../src/cutover-store.js';

/** A fixed, recognisable epoch (2023-11-14T22:13:20Z) for tests that do not depend on the wall clock. */
export const T0 = 1_700_000_000_000;

let sequence = 0;
const next = (): number => {
  sequence += 1;
  return sequence;
};

/**
 * A `write.succeeded` event (both channels, strong key) with a correlation key of its own unless
 * one is given: two copies of one occurrence share an event (or at least its type and key).
 */
export function buildDomainEvent(overrides: Partial<DomainEvent> = {}): DomainEvent {
  const n = next();
  return {
    type: 'write.succeeded',
    correlationKey: `push-operation-${n}`,
    keyStrength: 'strong',
    occurredAt: '2023-11-14T22:13:20.000Z',
    companyId: 'company-1',
    connectionId: 'connection-1',
    data: { dataType: 'invoices', status: 'Success' },
    ...overrides,
  };
}

/** A pending webhook on the legacy channel with a dedupe key of its own unless one is given. */
export function buildNewWebhook(overrides: Partial<NewWebhook> = {}): NewWebhook {
  const n = next();
  const channel = overrides.channel ?? 'legacy';
  return {
    channel,
    endpoint: channel,
    dedupeKey: `webhook-${n}`,
    receivedAt: T0,
    headers: { 'content-type': 'application/json', 'webhook-id': `msg_${n}` },
    body: Buffer.from(JSON.stringify({ id: `webhook-${n}` })),
    state: 'pending',
    detail: null,
    ...overrides,
  };
}

/** What `claimPending` would hand out for `webhook` once stored as `inboxId`. */
export function toStored(webhook: NewWebhook, inboxId: number): StoredWebhook {
  return {
    inboxId,
    channel: webhook.channel,
    endpoint: webhook.endpoint,
    dedupeKey: webhook.dedupeKey,
    receivedAt: webhook.receivedAt,
    body: webhook.body,
  };
}

function sourceOf(source: Channel | WebhookSource): WebhookSource {
  if (typeof source !== 'string') return source;
  return source === 'legacy'
    ? { channel: 'legacy', id: `alert-${next()}`, type: 'PushOperationStatusChanged' }
    : { channel: 'events', id: `event-${next()}`, type: 'invoices.write.successful' };
}

export function buildConversion(events: readonly DomainEvent[], source: Channel | WebhookSource): Conversion {
  return { kind: 'converted', source: sourceOf(source), events };
}

export function buildUnrecognised(source: Channel | WebhookSource, reason = 'unknown_type'): Conversion {
  return { kind: 'unrecognised', source: sourceOf(source), reason };
}

export function buildInvalid(source: Channel | WebhookSource, reason = 'missing_company_id'): Conversion {
  return { kind: 'invalid', source: sourceOf(source), reason };
}

/** A ledger policy whose toggle says `primary` (for every company, or per company). */
export function policy(primary: Channel | ((companyId: string | null) => Channel), graceMs: number, windowMs: number): LedgerPolicy {
  return {
    primaryFor: typeof primary === 'function' ? primary : () => primary,
    graceMs,
    windowMs,
  };
}
