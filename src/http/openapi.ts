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
import { CHANNELS, type Channel } from '../domain/domain-event.js';
import type { ToggleSourceStatus } from '../domain/ports.js';
import { VERDICTS } from '../domain/readiness.js';
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
import {
  MAX_PAGE,
  type DeadLetterDetail,
  type DeadLetterSummary,
  type QuarantineDetail,
  type QuarantineSummary,
} from '../store/operator-queries.js';
import { SESSION_COOKIE } from './cutover-session.js';
import { DEFAULT_PAGE, MAX_REPLAY_IDS, QUARANTINE_STATES } from './operator-routes.js';

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

// Typed against the store's answers (src/store/operator-queries.ts): a field added there does not compile until it is here.
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
  DeadLetter: deadLetterSchema,
  Quarantine: quarantineSchema,
  QuarantineEntry: quarantineEntrySchema,
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

const STORE_UNAVAILABLE = '`store_unavailable`: the store cannot take work now (connection lost, database down or frozen); nothing was changed.';
const DEADLINE_EXCEEDED = '`deadline_exceeded`: not answered within `REQUEST_DEADLINE_MS` (default 10 s)';

/** A 503 the client should retry, after `Retry-After` seconds. */
function retryLater(description: string) {
  return { ...error(description), headers: { 'Retry-After': { description: 'Seconds (5).', schema: { type: 'integer' } } } };
}

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
      ...(format.channel === 'legacy'
        ? {
            '403': error(
              '`credential_not_allowed_for_format`: a new-format body authenticated only by the static `Authorization`, ' +
                'which admits legacy-format bodies alone; never stored. Sign it (`CODAT_LEGACY_SECRET`) instead (docs/security.md).',
            ),
          }
        : {}),
      '413': error('`payload_too_large`: larger than `BODY_LIMIT_BYTES` (after inflating); never read, so never stored.'),
      '415': error('`unsupported_encoding`: an unknown `Content-Encoding` or charset; never read, so never stored.'),
      '500': INTERNAL,
      '503': retryLater(
        '`store_unavailable`: the webhook could not be stored; nothing was acknowledged. Retry (both Codat services do).\n' +
          `${DEADLINE_EXCEEDED} (e.g. a body still arriving); nothing was stored.`,
      ),
    },
  };
}

const UNAUTHORIZED_ADMIN = error('`invalid_admin_token`: no or a wrong `Authorization: Bearer <ADMIN_TOKEN>`.');
const BODY_UNREAD = 'Refused before it was read: `request_aborted`, `invalid_content_length`, `bad_request`.';

interface AdminAnswers {
  /** Extra 400 codes, with their meaning, besides a body that could not be read. */
  readonly invalid?: Readonly<Record<string, string>>;
  readonly notFound?: string;
  /** The operation reads a body (a replay selection): it can be too large or in an unknown encoding. */
  readonly readsBody?: boolean;
}

function adminOperation(operationId: string, summary: string, answer: string, description: string, extra: AdminAnswers & { parameters?: unknown[]; requestBody?: unknown } = {}): Operation {
  const { invalid, notFound, readsBody, ...rest } = extra;
  const invalidCodes = invalid === undefined ? '' : codeList(invalid);
  const bad = readsBody === true ? [invalidCodes, BODY_UNREAD].filter((text) => text !== '').join('\n') : invalidCodes;
  return {
    operationId,
    tags: ['operators'],
    summary,
    description,
    security: [{ adminToken: [] }],
    ...rest,
    responses: {
      '200': json(answer, 'Done.'),
      ...(bad === '' ? {} : { '400': error(bad) }),
      '401': UNAUTHORIZED_ADMIN,
      '403': error('`admin_disabled`: `ADMIN_TOKEN` is not set, so the operator endpoints are off.'),
      ...(notFound === undefined ? {} : { '404': error(notFound) }),
      ...(readsBody === true
        ? {
            '413': error('`payload_too_large`: a body larger than 256 KiB; never read.'),
            '415': error('`unsupported_encoding`: an unknown `Content-Encoding` or charset; never read.'),
          }
        : {}),
      '500': INTERNAL,
      '503': retryLater(`${STORE_UNAVAILABLE}\n${DEADLINE_EXCEEDED}`),
    },
  };
}

const queryParameter = (name: string, description: string, schema: JsonSchema) => ({ name, in: 'query', required: false, description, schema });
const idParameter = (description: string, schema: JsonSchema) => ({ name: 'id', in: 'path', required: true, description, schema });

const PAGE_PARAMETERS = [
  queryParameter('limit', `Entries per page (default ${DEFAULT_PAGE}).`, { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE }),
  queryParameter('after', 'The `next` of the previous page; absent for the first.', { type: 'string' }),
];
const PAGE_INVALID = {
  invalid_query: `a parameter out of range (\`limit\` not a whole number from 1 to ${MAX_PAGE}) or not one of its values`,
  invalid_cursor: '`after` is not a cursor this service gave out',
};

const DEAD_LETTER_ID = idParameter('The `occurrenceId`.', { type: 'string', minLength: 1, maxLength: 200 });
const QUARANTINE_ID = idParameter('The `inboxId`.', { type: 'integer', minimum: 1 });
const DEAD_LETTER_GONE = '`dead_letter_not_found`: no dead letter has this `occurrenceId` (it may have been replayed).';
const QUARANTINE_GONE = '`quarantine_entry_not_found`: no quarantined webhook has this `inboxId` (it may have been replayed).';
const INVALID_ID = (what: string) => ({ invalid_id: what });

function replaySelection(idSchema: JsonSchema, what: string): { requestBody: unknown; invalid: Record<string, string> } {
  return {
    requestBody: {
      required: false,
      description: `No body or \`{}\`: every entry. \`{"ids": [...]}\`: those ${what} (1 to ${MAX_REPLAY_IDS}); ids that are not (or no longer) there are skipped, and \`replayed\` says how many were.`,
      content: {
        'application/json': {
          schema: { type: 'object', properties: { ids: { type: 'array', items: idSchema, minItems: 1, maxItems: MAX_REPLAY_IDS } } },
        },
      },
    },
    invalid: {
      malformed_json: 'the body is not JSON',
      invalid_body: `not an object, or \`ids\` not a list of 1 to ${MAX_REPLAY_IDS}`,
      invalid_id: `an id in \`ids\` is not ${what}`,
    },
  };
}

const REDIRECT_TO_CUTOVER = {
  description: 'To `/cutover`.',
  headers: { Location: { description: '`/cutover`', schema: { type: 'string' } } },
  content: { 'text/plain': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
};
const LOGIN_PAGE = { 'text/html': { schema: { type: 'string' }, example: '<form method="post" action="/cutover/login">…' } };

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
        '503': json(
          'Readiness',
          'Not ready: the store is still starting (`store: starting`) or unavailable (`store: unavailable`), with `storeError`. ' +
            '(Only if `READYZ_TIMEOUT_MS` is set above `REQUEST_DEADLINE_MS` can the deadline answer first, with the Error `deadline_exceeded`.)',
        ),
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
        '503': retryLater(DEADLINE_EXCEEDED),
      },
    },
  };
  paths['/cutover'] = {
    get: {
      operationId: 'cutoverReport', tags: ['operations'], summary: 'The cutover readiness report',
      description:
        'JSON, or an HTML page when the client prefers `text/html` (a browser). Read-only and free of ids.' +
        (cutoverSecured ? ' A browser signs in at `POST /cutover/login` and is then let in by the `cutover_session` cookie.' : ''),
      ...(cutoverSecured ? { security: [{ adminToken: [] }, { cutoverSession: [] }] } : {}),
      responses: {
        '200': {
          description: 'The report.',
          content: { 'application/json': { schema: ref('CutoverReport') }, 'text/html': { schema: { type: 'string' } } },
        },
        ...(cutoverSecured
          ? {
              '401': {
                description:
                  '`invalid_admin_token`: neither `Authorization: Bearer <ADMIN_TOKEN>` nor a valid `cutover_session` cookie. ' +
                  'A client that prefers `text/html` gets the sign-in form instead of the JSON error.',
                content: { ...error('').content, ...LOGIN_PAGE },
              },
            }
          : {}),
        '500': INTERNAL,
        '503': retryLater(`${STORE_UNAVAILABLE}\n${DEADLINE_EXCEEDED}`),
      },
    },
  };
  paths['/cutover/login'] = {
    post: {
      operationId: 'cutoverLogin', tags: ['operations'], summary: 'Sign a browser in to /cutover',
      description: cutoverSecured
        ? 'The sign-in form posts `ADMIN_TOKEN` here and gets an HttpOnly, SameSite=Strict `cutover_session` cookie scoped to ' +
          '`/cutover` (12 hours; derived from the token, so rotating `ADMIN_TOKEN` ends every session). The cookie opens the ' +
          'report and nothing else: the /admin endpoints still want the bearer token.'
        : '`ADMIN_TOKEN` is not set, so `/cutover` is open and there is nothing to sign in to.',
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { token: { type: 'string', description: '`ADMIN_TOKEN`.' } } } },
        },
      },
      responses: {
        ...(cutoverSecured
          ? {
              '303': {
                ...REDIRECT_TO_CUTOVER,
                description: 'Signed in: to `/cutover`, with the session cookie.',
                headers: {
                  ...REDIRECT_TO_CUTOVER.headers,
                  'Set-Cookie': { description: '`cutover_session=…; HttpOnly; SameSite=Strict; Path=/cutover; Max-Age=43200` (and `Secure` over HTTPS).', schema: { type: 'string' } },
                },
              },
              '401': { description: 'A missing or wrong token: the sign-in form again, saying so (a page, not the JSON error).', content: LOGIN_PAGE },
            }
          : { '404': error('`not_found`: no sign-in is needed, `ADMIN_TOKEN` is not set.') }),
        '400': error(BODY_UNREAD),
        '413': error('`payload_too_large`: a form larger than 8 KiB; never read.'),
        '415': error('`unsupported_encoding`: an unknown `Content-Encoding` or charset; never read.'),
        '500': INTERNAL,
        '503': retryLater(`${DEADLINE_EXCEEDED} (a form still arriving)`),
      },
    },
  };
  paths['/cutover/logout'] = {
    post: {
      operationId: 'cutoverLogout', tags: ['operations'], summary: 'Sign a browser out of /cutover',
      description: 'Clears the `cutover_session` cookie of this browser (other sessions end when `ADMIN_TOKEN` changes).',
      responses: {
        '303': {
          ...REDIRECT_TO_CUTOVER,
          headers: { ...REDIRECT_TO_CUTOVER.headers, 'Set-Cookie': { description: '`cutover_session=; …; Max-Age=0`', schema: { type: 'string' } } },
        },
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
  const deadLetterReplay = replaySelection({ type: 'string', minLength: 1, maxLength: 200 }, 'occurrenceIds');
  const quarantineReplay = replaySelection({ type: 'integer', minimum: 1 }, 'inboxIds');
  paths['/admin/dead-letters'] = {
    get: adminOperation('listDeadLetters', 'Deliveries that gave up', 'DeadLetters', 'Occurrences whose delivery failed `DELIVERY_MAX_ATTEMPTS` times, a page at a time.', {
      parameters: [...PAGE_PARAMETERS, queryParameter('type', 'Only this domain event type.', { type: 'string' })],
      invalid: PAGE_INVALID,
    }),
  };
  paths['/admin/dead-letters/replay'] = {
    post: adminOperation('replayDeadLetters', 'Deliver dead letters again', 'Replayed', 'Puts every dead letter, or the selected ones, back in the delivery queue.', {
      requestBody: deadLetterReplay.requestBody,
      invalid: deadLetterReplay.invalid,
      readsBody: true,
    }),
  };
  paths['/admin/dead-letters/{id}'] = {
    get: adminOperation('getDeadLetter', 'One dead letter, with its payload', 'DeadLetter', 'For the operator who asks by id: the only answer that carries the payload.', {
      parameters: [DEAD_LETTER_ID],
      invalid: INVALID_ID('the id is longer than 200 characters'),
      notFound: DEAD_LETTER_GONE,
    }),
  };
  paths['/admin/dead-letters/{id}/replay'] = {
    post: adminOperation('replayDeadLetter', 'Deliver one dead letter again', 'Replayed', 'Puts this dead letter back in the delivery queue: `{"replayed": 1}`.', {
      parameters: [DEAD_LETTER_ID],
      invalid: INVALID_ID('the id is longer than 200 characters'),
      notFound: DEAD_LETTER_GONE,
    }),
  };
  paths['/admin/quarantine'] = {
    get: adminOperation('listQuarantine', 'Webhooks kept aside', 'Quarantine', 'Authentic webhooks that could not be read or converted, and unrecognised types, a page at a time.', {
      parameters: [
        ...PAGE_PARAMETERS,
        queryParameter('channel', 'Only webhooks received on this channel.', { type: 'string', enum: [...CHANNELS] }),
        queryParameter('state', 'Only webhooks in this state.', { type: 'string', enum: [...QUARANTINE_STATES] }),
        queryParameter('reason', 'Only webhooks whose reason (`detail`) starts with this text, taken literally.', { type: 'string' }),
      ],
      invalid: PAGE_INVALID,
    }),
  };
  paths['/admin/quarantine/replay'] = {
    post: adminOperation('replayQuarantine', 'Process quarantined webhooks again', 'Replayed', 'E.g. after the mapping was fixed: every quarantined and unrecognised webhook, or the selected ones, goes back in the queue.', {
      requestBody: quarantineReplay.requestBody,
      invalid: quarantineReplay.invalid,
      readsBody: true,
    }),
  };
  paths['/admin/quarantine/{id}'] = {
    get: adminOperation('getQuarantined', 'One quarantined webhook, with its body', 'QuarantineEntry', 'For the operator who asks by id: the only answer that carries the body.', {
      parameters: [QUARANTINE_ID],
      invalid: INVALID_ID('the id is not a positive whole number'),
      notFound: QUARANTINE_GONE,
    }),
  };
  paths['/admin/quarantine/{id}/replay'] = {
    post: adminOperation('replayQuarantined', 'Process one quarantined webhook again', 'Replayed', 'Puts this webhook back in the inbox queue: `{"replayed": 1}`.', {
      parameters: [QUARANTINE_ID],
      invalid: INVALID_ID('the id is not a positive whole number'),
      notFound: QUARANTINE_GONE,
    }),
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
        cutoverSession: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Set by `POST /cutover/login`; opens `GET /cutover` only.' },
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
