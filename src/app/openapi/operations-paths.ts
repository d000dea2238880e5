/**
 * The endpoints of /openapi.json for probes, Prometheus and people: liveness, readiness, metrics, the cutover
 * report with its sign-in, and the document itself. What they answer depends on which tokens are configured.
 */
import { BODY_UNREAD, DEADLINE_EXCEEDED, INTERNAL, STORE_UNAVAILABLE, error, json, ref, retryLater, type Paths } from './openapi-parts.js';

const REDIRECT_TO_CUTOVER = {
  description: 'To `/cutover`.',
  headers: { Location: { description: '`/cutover`', schema: { type: 'string' } } },
  content: { 'text/plain': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
};
const LOGIN_PAGE = { 'text/html': { schema: { type: 'string' }, example: '<form method="post" action="/cutover/login">…' } };

export function operationsPaths(tokens: { readonly adminToken: string | undefined; readonly metricsToken?: string | undefined }): Paths {
  const metricsSecured = tokens.metricsToken !== undefined;
  const cutoverSecured = tokens.adminToken !== undefined;
  const paths: Paths = {};
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
  return paths;
}
