/**
 * Converts one new-format Codat webhook body (`{id, eventType, generatedDate, payload}`) into
 * domain events, following docs/domain-mapping.md.
 *
 * Pure and total: no I/O, and it never throws, whatever the body (it runs on unauthenticated
 * input and under fuzzers). Anything it cannot convert is returned as `unrecognised` or
 * `invalid` with a reason, so the caller can keep and count it.
 */
import type { Conversion, WebhookSource } from '../../domain/domain-event.js';
import { convertBankFeedSourceAccount } from './bank-feed-event-mapper.js';
import { convertCompany, convertCompanyProduct } from './company-event-mapper.js';
import { convertConnection } from './connection-event-mapper.js';
import { INVALID_REASONS, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { parseEventType } from './event-types.js';
import type { EventKind } from './event-types.js';
import { eventEnvelopeSchema } from './event-webhook-schema.js';
import { convertExpensesSync } from './expenses-sync-event-mapper.js';
import { convertRateLimit } from './rate-limit-event-mapper.js';
import { convertReadCompleted } from './read-event-mapper.js';
import { convertReport } from './report-event-mapper.js';
import { convertWrite } from './write-event-mapper.js';

export const MISSING_EVENT_TYPE = 'missing_event_type';

/** Cap on how much of an unknown `eventType` goes into a reason: the sender controls its length. */
const MAX_REASON_TYPE_LENGTH = 200;

export function convertEventWebhook(body: unknown): Conversion {
  try {
    return convert(body);
  } catch {
    // Defence in depth: the code below is written not to throw, but a body reaching this service
    // must always end up stored with a reason rather than as a 500 that Codat retries for a day.
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.conversionError };
  }
}

function convert(body: unknown): Conversion {
  if (!isJsonObject(body)) {
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.notAnObject };
  }
  const parsed = eventEnvelopeSchema.safeParse(body);
  // Every envelope field is lenient, so this cannot fail today; it keeps a future stricter field
  // from turning into a throw.
  if (!parsed.success) {
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.notAnObject };
  }
  const envelope = parsed.data;
  const rawType = envelope.eventType ?? envelope.type ?? null;
  const source: WebhookSource = { channel: 'events', id: envelope.id ?? null, type: rawType };

  if (rawType === null) return { kind: 'unrecognised', source, reason: MISSING_EVENT_TYPE };
  const kind = parseEventType(rawType);
  if (kind.kind === 'unknown') {
    return { kind: 'unrecognised', source, reason: `unknown_event_type:${rawType.slice(0, MAX_REASON_TYPE_LENGTH)}` };
  }

  const payload = envelope.payload;
  if (!isJsonObject(payload)) return { kind: 'invalid', source, reason: INVALID_REASONS.missingPayload };

  const result = convertPayload(kind, payload, { occurredAt: envelope.generatedDate ?? null });
  if (typeof result === 'string') return { kind: 'invalid', source, reason: result };
  return { kind: 'converted', source, events: result };
}

function convertPayload(kind: Exclude<EventKind, { kind: 'unknown' }>, payload: object, ctx: Context): PayloadResult {
  switch (kind.kind) {
    case 'connection':
      return convertConnection(kind.transition, payload, ctx);
    case 'read.completed':
      return convertReadCompleted(kind.initial, payload, ctx);
    case 'write':
      return convertWrite(kind.dataType, kind.outcome, payload, ctx);
    case 'company':
      return convertCompany(kind.action, payload, ctx);
    case 'company.product':
      return convertCompanyProduct(kind.action, payload, ctx);
    case 'expenses.sync':
      return convertExpensesSync(kind.outcome, payload, ctx);
    case 'client.rateLimit':
      return convertRateLimit(kind.action, payload, ctx);
    case 'bankFeeds.sourceAccount':
      return convertBankFeedSourceAccount(kind.action, payload, ctx);
    case 'report':
      return convertReport(kind.reportType, kind.outcome, payload, ctx);
  }
}

function isJsonObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function emptySource(): WebhookSource {
  return { channel: 'events', id: null, type: null };
}
