/**
 * The OpenAPI 3.1 description of the HTTP endpoints, served at `GET /openapi.json` (docs/http-api.md).
 *
 * Built when the app is created, from the same zod schemas the service reads bodies with (`z.toJSONSchema`, in
 * `input` mode: what a sender may send, not what the service keeps of it) and from the schemas below for the
 * answers, which test/component/openapi.test.ts checks real answers against. The error codes are listed from
 * exhaustive records, so a new authentication or body reason does not compile until it is documented here.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { AuthFailureReason } from '../auth/webhook-authenticator.js';
import type { Channel } from '../domain/domain-event.js';
import {
  bankFeedSourceAccountPayloadSchema,
  companyPayloadSchema,
  companyProductPayloadSchema,
  connectionPayloadSchema,
  expensesSyncPayloadSchema,
  rateLimitPayloadSchema,
  readCompletedPayloadSchema,
  reportPayloadSchema,
  writePayloadSchema,
} from '../events/event-webhook-schema.js';
import type { WebhookFormat } from '../ingest/webhook-format.js';
import { MAX_JSON_DEPTH, type BodyProblem } from '../ingest/webhook-receiver.js';

// ── The answers' bodies ──────────────────────────────────────────────────────────────────────

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
  store: z.enum(['ok', 'unavailable']),
  flags: z.object({
    source: z.enum(['bootstrap', 'unleash']).describe('`bootstrap`: the flags from flags/ only; `unleash`: the server\'s data.'),
    serverReachable: z.boolean().nullable().describe('null when no Unleash server is configured.'),
    lastError: z.string().nullable(),
  }),
  warnings: z.array(z.string()).describe('E.g. an endpoint that refuses all traffic for want of a secret, or Unleash unreachable.'),
});

export const cutoverReportSchema = z.looseObject({
  generatedAt: z.string(),
  observationHours: z.number(),
  toggle: z.looseObject({ enabled: z.boolean(), rolloutPercent: z.number() }),
  readiness: z.looseObject({ verdict: z.enum(['not-ready', 'ready-to-flip', 'flipped', 'ready-to-contract']) }),
}).describe('The readiness report (docs/readiness.md); further fields may be added.');

export const deadLettersSchema = z.object({
  deadLetters: z.array(
    z.object({ occurrenceId: z.string(), attempts: z.number().int(), lastError: z.string().nullable(), payload: z.string() }),
  ).describe('At most 100.'),
});

export const quarantineSchema = z.object({
  webhooks: z.array(
    z.object({
      inboxId: z.number().int(),
      channel: z.enum(['legacy', 'events'] as const satisfies readonly Channel[]),
      state: z.enum(['unrecognised', 'quarantined']),
      detail: z.string().nullable().describe('The reason, e.g. `malformed_json` or `missing_company_id`.'),
      receivedAt: z.number().describe('Milliseconds since the epoch.'),
    }),
  ).describe('At most 100; ids and reasons, never bodies.'),
});

export const replayedSchema = z.object({ replayed: z.number().int().min(0) });

/** The new format's payloads, by event type family (the envelope's `payload` is read with one of these). */
const EVENT_PAYLOADS: readonly { name: string; eventTypes: string; schema: z.ZodType }[] = [
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

/** The schemas of `components.schemas` that answers are checked against, by component name. */
export const ANSWER_SCHEMAS = {
  Error: errorBodySchema,
  WebhookAccepted: webhookAcceptedSchema,
  WebhookDuplicate: webhookDuplicateSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  CutoverReport: cutoverReportSchema,
  DeadLetters: deadLettersSchema,
  Quarantine: quarantineSchema,
  Replayed: replayedSchema,
} as const satisfies Record<string, z.ZodType>;

// ── The codes, exhaustively ──────────────────────────────────────────────────────────────────

const AUTH_FAILURES: Readonly<Record<AuthFailureReason, string>> = {
  missing_credentials: 'no signature headers and no `Authorization`',
  invalid_signature: 'no secret of the endpoint signed these bytes (wrong secret, body changed after signing)',
  invalid_timestamp: 'the `webhook-timestamp` is not a number of seconds',
  stale_timestamp: 'the timestamp is further from now than the tolerance (default 300 s), either way',
  invalid_authorization: 'the legacy `Authorization` value is not the configured one',
  endpoint_not_configured: 'the endpoint has no credentials configured (with `NODE_ENV=production` it refuses everything)',
};

const BODY_PROBLEMS_400: Readonly<Record<Exclude<BodyProblem, 'nesting_too_deep'>, string>> = {
  empty_body: 'no body',
  invalid_utf8: 'not valid UTF-8',
  malformed_json: 'not valid JSON (a byte-order mark included)',
};

const codeList = (codes: Readonly<Record<string, string>>) =>
  Object.entries(codes).map(([code, meaning]) => `- \`${code}\`: ${meaning}`).join('\n');

// ── The document ─────────────────────────────────────────────────────────────────────────────

export interface OpenApiSources {
  readonly formats: readonly { readonly format: WebhookFormat }[];
  readonly adminToken: string | undefined;
  readonly metricsToken?: string | undefined;
}

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown> & { responses: Record<string, unknown> };
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly schemas: Record<string, JsonSchema>; readonly securitySchemes: Record<string, unknown> };
  readonly [key: string]: unknown;
}

const LENIENT_NOTE = 'Read leniently: a value of another type is read as absent, not refused.';

/** JSON Schema of what a zod schema accepts, without `$schema` (the document says 3.1, i.e. draft 2020-12). */
function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    // `.catch()` fields accept anything; the type shown is the one that is used, so say what happens to others.
    override: (ctx) => {
      if (ctx.zodSchema._zod.def.type === 'catch' && ctx.jsonSchema.description === undefined) ctx.jsonSchema.description = LENIENT_NOTE;
    },
  });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);
const INTERNAL = error('`internal_error`: an unexpected failure (logged); the body never holds a stack trace.');

const WEBHOOK_TITLES: Readonly<Record<Channel, { summary: string; description: string }>> = {
  legacy: {
    summary: 'Receive a legacy Codat "rules" webhook',
    description:
      'Codat\'s legacy rules service posts here (`AlertId`, `RuleType`, `CompanyId`, …, `Data`). Authenticated by the exact ' +
      '`Authorization` value configured as `CODAT_LEGACY_AUTH`, or by a Standard Webhooks signature with `CODAT_LEGACY_SECRET`.',
  },
  events: {
    summary: 'Receive a Codat event webhook',
    description:
      'Codat\'s webhook service (Svix) posts here (`id`, `eventType`, `generatedDate`, `payload`), signed with the Standard ' +
      'Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`, or the `svix-*` set) and a `CODAT_EVENTS_SECRET`. ' +
      'The `payload` is read per event type: see the `*Payload` schemas.',
  },
};

const bodySchemaName = (channel: Channel) => `${channel[0]?.toUpperCase() ?? ''}${channel.slice(1)}WebhookBody`;

function webhookOperation(format: WebhookFormat): Operation {
  const title = WEBHOOK_TITLES[format.channel];
  return {
    operationId: `receive${bodySchemaName(format.channel).replace(/Body$/, '')}`,
    tags: ['webhooks'],
    summary: title.summary,
    description:
      `${title.description}\n\nVerified on the raw bytes before anything is parsed; stored durably before the answer. ` +
      'Any `Content-Type` is accepted (the signature, not the label, says it is Codat\'s); `gzip`, `deflate` and `br` ' +
      'bodies are inflated first. A body in the other format is recognised by its shape and handled as that format.',
    security: [{ standardWebhooks: [] }, ...(format.channel === 'legacy' ? [{ legacyAuthorization: [] }] : [])],
    requestBody: {
      required: true,
      description:
        'The lenient schema the body is read with: every field optional, extra fields ignored. Any authentic body is ' +
        'stored: one that does not fit is kept in quarantine for an operator, never lost.',
      content: { 'application/json': { schema: ref(bodySchemaName(format.channel)) } },
    },
    responses: {
      '200': json('WebhookDuplicate', 'A redelivery (same `webhook-id`, or same `AlertId`/`id`/body without one): already stored, goes no further.'),
      '202': json('WebhookAccepted', 'Authentic and stored.'),
      '400': error(
        `Authentic but unreadable: kept in quarantine, and the sender sees a failure.\n${codeList(BODY_PROBLEMS_400)}\n` +
          'Refused before it could be read (never stored): `request_aborted`, `invalid_content_length`, `bad_request`.',
      ),
      '401': error(`Not authentic: nothing parsed, stored or delivered.\n${codeList(AUTH_FAILURES)}`),
      '413': error('`payload_too_large`: larger than `BODY_LIMIT_BYTES` (after inflating); never read, so never stored.'),
      '415': error('`unsupported_encoding`: an unknown `Content-Encoding` or charset; never read, so never stored.'),
      '500': INTERNAL,
      '503': {
        ...error('`store_unavailable`: the webhook could not be stored; nothing was acknowledged. Retry (both Codat services do).'),
        headers: { 'Retry-After': { description: 'Seconds', schema: { type: 'integer' } } },
      },
    },
  };
}

function adminOperation(operationId: string, summary: string, answer: string, description: string): Operation {
  return {
    operationId,
    tags: ['operators'],
    summary,
    description,
    security: [{ adminToken: [] }],
    responses: {
      '200': json(answer, 'Done.'),
      '401': error('`invalid_admin_token`: no or a wrong `Authorization: Bearer <ADMIN_TOKEN>`.'),
      '403': error('`admin_disabled`: `ADMIN_TOKEN` is not set, so the operator endpoints are off.'),
      '500': INTERNAL,
    },
  };
}

/** The document for an app configured with these formats and tokens. Pure: no I/O, nothing kept. */
export function buildOpenApiDocument(sources: OpenApiSources): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(ANSWER_SCHEMAS)) schemas[name] = jsonSchemaOf(schema);
  const paths: Record<string, Record<string, Operation>> = {};
  for (const { format } of sources.formats) {
    schemas[bodySchemaName(format.channel)] = { ...jsonSchemaOf(format.wireSchema), description: WEBHOOK_TITLES[format.channel].summary.replace(/^Receive an? /, 'A ') };
    paths[format.path] = { post: webhookOperation(format) };
  }
  if (sources.formats.some(({ format }) => format.channel === 'events')) {
    for (const payload of EVENT_PAYLOADS) {
      schemas[payload.name] = { ...jsonSchemaOf(payload.schema), description: `The \`payload\` of \`${payload.eventTypes}\`.` };
    }
  }

  const metricsSecured = sources.metricsToken !== undefined;
  const cutoverSecured = sources.adminToken !== undefined;
  paths['/healthz'] = {
    get: {
      operationId: 'health', tags: ['operations'], summary: 'Liveness',
      description: 'Answers while the process serves HTTP; checks nothing else. For restarts (the image\'s HEALTHCHECK).',
      responses: { '200': json('Health', 'The process is up.') },
    },
  };
  paths['/readyz'] = {
    get: {
      operationId: 'readiness', tags: ['operations'], summary: 'Readiness',
      description: 'Pings the store. For routing traffic: a `503` instance cannot store webhooks, and restarting it would not help.',
      responses: {
        '200': json('Readiness', 'Ready: the store answers.'),
        '503': json('Readiness', 'Not ready: the store is unavailable (`store: unavailable`).'),
      },
    },
  };
  paths['/metrics'] = {
    get: {
      operationId: 'metrics', tags: ['operations'], summary: 'Prometheus metrics',
      description: 'The Prometheus text format; every label from a closed set (no ids). Scrape it on a private network.',
      ...(metricsSecured ? { security: [{ metricsToken: [] }] } : {}),
      responses: {
        '200': { description: 'The metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...(metricsSecured ? { '401': error('`invalid_metrics_token`: no or a wrong `Authorization: Bearer <METRICS_TOKEN>`.') } : {}),
        '500': INTERNAL,
      },
    },
  };
  paths['/cutover'] = {
    get: {
      operationId: 'cutoverReport', tags: ['operations'], summary: 'The cutover readiness report',
      description: 'JSON, or an HTML page when the client prefers `text/html` (a browser). Read-only and free of ids.',
      ...(cutoverSecured ? { security: [{ adminToken: [] }] } : {}),
      responses: {
        '200': {
          description: 'The report.',
          content: { 'application/json': { schema: ref('CutoverReport') }, 'text/html': { schema: { type: 'string' } } },
        },
        ...(cutoverSecured ? { '401': error('`invalid_admin_token`: no or a wrong `Authorization: Bearer <ADMIN_TOKEN>`.') } : {}),
        '500': INTERNAL,
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openApi', tags: ['operations'], summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };
  paths['/admin/dead-letters'] = {
    get: adminOperation('listDeadLetters', 'Deliveries that gave up', 'DeadLetters', 'Occurrences whose delivery failed `DELIVERY_MAX_ATTEMPTS` times.'),
  };
  paths['/admin/dead-letters/replay'] = {
    post: adminOperation('replayDeadLetters', 'Deliver the dead letters again', 'Replayed', 'Puts every dead letter back in the delivery queue.'),
  };
  paths['/admin/quarantine'] = {
    get: adminOperation('listQuarantine', 'Webhooks kept aside', 'Quarantine', 'Authentic webhooks that could not be read or converted, and unrecognised types.'),
  };
  paths['/admin/quarantine/replay'] = {
    post: adminOperation('replayQuarantine', 'Process the quarantine again', 'Replayed', 'E.g. after the mapping was fixed: every quarantined and unrecognised webhook goes back in the queue.'),
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'codat-cutover',
      version: '1',
      description:
        'Receives Codat\'s legacy rules webhooks and its new event webhooks, and delivers each occurrence once across the ' +
        'cutover between them. Every error has the body `{"error": {"code", "message"}}` with a stable `code`; an unknown ' +
        'route is a 404 with the code `not_found`. docs/http-api.md describes the endpoints for integrators.',
    },
    tags: [
      { name: 'webhooks', description: 'For Codat.' },
      { name: 'operations', description: 'For probes, Prometheus and people.' },
      { name: 'operators', description: 'Behind `ADMIN_TOKEN`.' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        standardWebhooks: {
          type: 'apiKey', in: 'header', name: 'webhook-signature',
          description: 'Standard Webhooks: `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` with a `whsec_` secret; `webhook-id` and `webhook-timestamp` are required with it.',
        },
        legacyAuthorization: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The exact value configured as `CODAT_LEGACY_AUTH`.' },
        adminToken: { type: 'http', scheme: 'bearer', description: '`ADMIN_TOKEN`.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: '`METRICS_TOKEN`.' },
      },
    },
  };
}

/** `GET /openapi.json`: the document, built once when the app is created. */
export function serveOpenApi(sources: OpenApiSources): RequestHandler {
  const body = JSON.stringify(buildOpenApiDocument(sources));
  return (_req, res) => {
    res.type('application/json').send(body);
  };
}
