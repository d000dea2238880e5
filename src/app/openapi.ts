/**
 * The OpenAPI 3.1 description of the HTTP endpoints, served at `GET /openapi.json` (docs/http-api.md).
 *
 * Built when the app is created, from the same zod schemas the service reads bodies with (`z.toJSONSchema`, in
 * `input` mode: what a sender may send, not what the service keeps of it) and from the answer schemas
 * (openapi/answer-schemas.ts), which test/component/openapi.test.ts checks real answers against. The endpoints
 * are described by audience, one file each in openapi/: webhooks (for Codat), operations (for probes,
 * Prometheus and people), operators (behind `ADMIN_TOKEN`).
 */
import type { RequestHandler } from 'express';
import type { WebhookFormat } from '../formats/webhook-format.js';
import { SESSION_COOKIE } from './cutover-session.js';
import { ANSWER_SCHEMAS } from './openapi/answer-schemas.js';
import { jsonSchemaOf, type JsonSchema, type Operation } from './openapi/openapi-parts.js';
import { operationsPaths } from './openapi/operations-paths.js';
import { operatorPaths } from './openapi/operator-paths.js';
import { webhookPaths } from './openapi/webhook-paths.js';

export interface OpenApiSources {
  readonly formats: readonly { readonly format: WebhookFormat }[];
  readonly adminToken: string | undefined;
  readonly metricsToken?: string | undefined;
}

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly schemas: Record<string, JsonSchema>; readonly securitySchemes: Record<string, unknown> };
  readonly [key: string]: unknown;
}

/** The document for an app configured with these formats and tokens. Pure: no I/O, nothing kept. */
export function buildOpenApiDocument(sources: OpenApiSources): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(ANSWER_SCHEMAS)) schemas[name] = jsonSchemaOf(schema);
  const webhooks = webhookPaths(sources.formats);
  Object.assign(schemas, webhooks.schemas);
  const paths = { ...webhooks.paths, ...operationsPaths(sources), ...operatorPaths() };

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
