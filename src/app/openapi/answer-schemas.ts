/**
 * The schemas of the answers' bodies, listed in /openapi.json under `components.schemas` and checked by
 * test/component/openapi.test.ts against the answers the service really gives.
 */
import { z } from 'zod';
import type { Channel } from '../../domain/domain-event.js';
import type { ToggleSourceStatus } from '../../domain/ports.js';
import { VERDICTS } from '../../domain/readiness.js';
import { MAX_JSON_DEPTH } from '../../webhooks/webhook-receiver.js';
import {
  MAX_PAGE,
  type DeadLetterDetail,
  type DeadLetterSummary,
  type QuarantineDetail,
  type QuarantineSummary,
} from '../../cutover-store.js';
import { DEFAULT_PAGE } from '../operator-routes.js';

/** Every answer that is not a success (src/http/http-error.ts). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().min(1).describe('Stable and machine-readable: branch on this, not on the message.'),
    message: z.string().describe('For people; may change.'),
  }),
});

export const webhookAcceptedSchema = z.union([
  z.object({ status: z.literal('accepted') }).describe('Stored; converted and delivered after this answer.'),
  z
    .object({ status: z.literal('quarantined'), reason: z.string() })
    .describe(`Stored in quarantine, never processed: readable but unusable (e.g. \`nesting_too_deep\`, deeper than ${MAX_JSON_DEPTH} levels).`),
]);

export const webhookDuplicateSchema = z.object({ status: z.literal('duplicate') });

export const healthSchema = z.object({ status: z.literal('ok') });

export const readinessSchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  store: z.enum(['ok', 'starting', 'unavailable']).describe('`starting`: still waiting for the store at start-up (migrations, first connection).'),
  storeError: z.string().nullable().describe('Why the store is not `ok`; null when it is.'),
  flags: z.object({
    source: z.enum(['bootstrap', 'unleash']).describe('`bootstrap`: the flags from flags/ only; `unleash`: the server\'s data.'),
    serverReachable: z.boolean().nullable().describe('null when no Unleash server is configured.'),
    lastError: z.string().nullable(),
  }) satisfies z.ZodType<ToggleSourceStatus>,
  warnings: z.array(z.string()).describe('E.g. an endpoint that refuses all traffic for want of a secret, or Unleash unreachable.'),
});

export const cutoverReportSchema = z.looseObject({
  generatedAt: z.string(),
  observationHours: z.number(),
  toggle: z.looseObject({ enabled: z.boolean(), rolloutPercent: z.number() }),
  readiness: z.looseObject({ verdict: z.enum(VERDICTS) }),
}).describe('The readiness report (docs/readiness.md); further fields may be added.');

// Typed against the store's answers (as src/cutover-store.ts exports them): a field added there does not compile until it is here.
const deadLetterSummarySchema = z.object({
  occurrenceId: z.string(),
  type: z.string().nullable().describe('The domain event type; null when the occurrence is gone.'),
  companyId: z.string().nullable(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime().describe('ISO 8601: when the delivery was first queued.'),
}) satisfies z.ZodType<DeadLetterSummary>;

const quarantineSummarySchema = z.object({
  inboxId: z.number().int(),
  channel: z.enum(['legacy', 'events'] as const satisfies readonly Channel[]),
  state: z.enum(['unrecognised', 'quarantined']),
  detail: z.string().nullable().describe('The reason, e.g. `malformed_json`, `missing_company_id` or `unknown_event_type:…`.'),
  receivedAt: z.iso.datetime().describe('ISO 8601.'),
  bytes: z.number().int().min(0).describe('The size of the body as stored.'),
}) satisfies z.ZodType<QuarantineSummary>;

const nextCursor = z.string().nullable().describe('Pass as `after` for the next page; null on the last one.');

export const deadLettersSchema = z.object({
  deadLetters: z.array(deadLetterSummarySchema).describe(`Oldest first; at most \`limit\` (default ${DEFAULT_PAGE}, at most ${MAX_PAGE}); ids and reasons, never payloads.`),
  next: nextCursor,
});

export const deadLetterSchema = z.object({
  deadLetter: deadLetterSummarySchema.extend({
    payload: z
      .looseObject({
        id: z.string().describe('The occurrence id, also sent as `Idempotency-Key` (and `webhook-id` when deliveries are signed).'),
        type: z.string().describe('The domain event type.'),
        occurredAt: z.iso.datetime(),
        companyId: z.string().nullable(),
        connectionId: z.string().nullable(),
        data: z.unknown().describe('The event type\'s fields (docs/domain-mapping.md).'),
        source: z.object({ channel: z.enum(['legacy', 'events']), id: z.string().nullable(), type: z.string().nullable() }),
        delivery: z.object({ reason: z.string() }),
      })
      .describe('What the downstream would receive: the JSON object of the delivery, as sent.'),
  }) satisfies z.ZodType<DeadLetterDetail>,
});

export const quarantineSchema = z.object({
  webhooks: z.array(quarantineSummarySchema).describe(`By inboxId; at most \`limit\` (default ${DEFAULT_PAGE}, at most ${MAX_PAGE}); ids and reasons, never bodies.`),
  next: nextCursor,
});

export const quarantineEntrySchema = z.object({
  webhook: quarantineSummarySchema.extend({
    body: z.string().describe('The body as received, as UTF-8 text (lossy where it was not UTF-8).'),
    bodyBase64: z.base64().describe('The exact bytes received.'),
  }) satisfies z.ZodType<QuarantineDetail>,
});

export const replayedSchema = z.object({ replayed: z.number().int().min(0) });

/** The schemas of `components.schemas` that answers are checked against, by component name. */
export const ANSWER_SCHEMAS = {
  Error: errorBodySchema,
  WebhookAccepted: webhookAcceptedSchema,
  WebhookDuplicate: webhookDuplicateSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  CutoverReport: cutoverReportSchema,
  DeadLetters: deadLettersSchema,
  DeadLetter: deadLetterSchema,
  Quarantine: quarantineSchema,
  QuarantineEntry: quarantineEntrySchema,
  Replayed: replayedSchema,
} as const satisfies Record<string, z.ZodType>;
