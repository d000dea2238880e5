import type { WebhookFormat } from '../ingest/webhook-format.js';
import { convertEventWebhook } from './event-webhook-mapper.js';
import { eventEnvelopeSchema } from './event-webhook-schema.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Codat's new event types: `{ id, eventType, generatedDate, payload }`. */
export const eventsFormat: WebhookFormat = {
  channel: 'events',
  path: '/webhooks/codat/events',
  wireSchema: eventEnvelopeSchema,
  // `type` stands in for `eventType` in one of Codat's own samples.
  looksLike: (body) => isRecord(body) && (typeof body.eventType === 'string' || (typeof body.type === 'string' && isRecord(body.payload))),
  convert: convertEventWebhook,
};
