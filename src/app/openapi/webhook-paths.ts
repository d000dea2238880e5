/**
 * The webhook endpoints of /openapi.json, one per configured format, with the body schema each is read with.
 * The error codes are listed from exhaustive records, so a new authentication or body reason does not compile
 * until it is documented here.
 */
import type { AuthFailureReason } from '../../webhooks/webhook-authenticator.js';
import type { Channel } from '../../domain/domain-event.js';
import type { WebhookFormat } from '../../formats/webhook-format.js';
import type { BodyProblem } from '../../webhooks/webhook-receiver.js';
import { DEADLINE_EXCEEDED, INTERNAL, codeList, error, json, jsonSchemaOf, ref, retryLater, type JsonSchema, type Operation, type Paths } from './openapi-parts.js';

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
          '`inbox_full`: more webhooks are waiting to be stored than the service holds (the store is behind the arrivals); nothing was acknowledged. Retry.\n' +
          `${DEADLINE_EXCEEDED} (e.g. a body still arriving); nothing was stored.`,
      ),
    },
  };
}

/** Each format's endpoint, and the schemas of its body and of the payloads it documents, in that order. */
export function webhookPaths(formats: readonly { readonly format: WebhookFormat }[]): { paths: Paths; schemas: Record<string, JsonSchema> } {
  const schemas: Record<string, JsonSchema> = {};
  const paths: Paths = {};
  for (const { format } of formats) {
    schemas[bodySchemaName(format.channel)] = { ...jsonSchemaOf(format.wireSchema), description: WEBHOOK_TITLES[format.channel].summary.replace(/^Receive an? /, 'A ') };
    paths[format.path] = { post: webhookOperation(format) };
    for (const payload of format.documentedPayloads ?? []) {
      schemas[payload.name] = { ...jsonSchemaOf(payload.schema), description: `The \`payload\` of \`${payload.eventTypes}\`.` };
    }
  }
  return { paths, schemas };
}
