import type { DocumentedPayload, WebhookFormat } from '../webhook-format.js';
import { convertEventWebhook } from './event-webhook-mapper.js';
import {
  bankFeedSourceAccountPayloadSchema,
  companyPayloadSchema,
  companyProductPayloadSchema,
  connectionPayloadSchema,
  eventEnvelopeSchema,
  expensesSyncPayloadSchema,
  rateLimitPayloadSchema,
  readCompletedPayloadSchema,
  reportPayloadSchema,
  writePayloadSchema,
} from './event-webhook-schema.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The new format's payloads, by event type family (the envelope's `payload` is read with one of these). */
const EVENT_PAYLOADS: readonly DocumentedPayload[] = [
  { name: 'ConnectionPayload', eventTypes: 'connection.{created,connected,disconnected,reconnected,deleted,failed}', schema: connectionPayloadSchema },
  { name: 'ReadCompletedPayload', eventTypes: '[{product}.]read.completed[.initial][.successful|.unsuccessful]', schema: readCompletedPayloadSchema },
  { name: 'WritePayload', eventTypes: '{dataType}.write.{successful,unsuccessful}', schema: writePayloadSchema },
  { name: 'CompanyPayload', eventTypes: 'company.{created,deleted}', schema: companyPayloadSchema },
  { name: 'CompanyProductPayload', eventTypes: 'company.product.{added,removed}', schema: companyProductPayloadSchema },
  { name: 'ExpensesSyncPayload', eventTypes: 'expenses.sync.{successful,unsuccessful}', schema: expensesSyncPayloadSchema },
  { name: 'RateLimitPayload', eventTypes: 'client.rateLimit.{reached,reset}', schema: rateLimitPayloadSchema },
  { name: 'BankFeedSourceAccountPayload', eventTypes: 'bankFeeds.sourceAccount.{connected,disconnected}', schema: bankFeedSourceAccountPayloadSchema },
  { name: 'ReportPayload', eventTypes: 'reports.{reportType}.generate.{successful,unsuccessful}', schema: reportPayloadSchema },
];

/** Codat's new event types: `{ id, eventType, generatedDate, payload }`. */
export const eventsFormat: WebhookFormat = {
  channel: 'events',
  path: '/webhooks/codat/events',
  wireSchema: eventEnvelopeSchema,
  // `type` stands in for `eventType` in one of Codat's own samples.
  looksLike: (body) => isRecord(body) && (typeof body.eventType === 'string' || (typeof body.type === 'string' && isRecord(body.payload))),
  convert: convertEventWebhook,
  documentedPayloads: EVENT_PAYLOADS,
};
