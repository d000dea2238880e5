/**
 * The request path of both webhook endpoints: authenticate the raw bytes, parse, store durably,
 * and only then answer. Conversion and delivery happen after the answer, from the store.
 *
 * The answers (docs/security.md has the table and the reasons):
 * - not authentic → 401 with the reason; nothing is parsed, stored or delivered;
 * - authentic by the static legacy header only, but a new-format body → 403
 *   `credential_not_allowed_for_format`; nothing is stored;
 * - authentic but unreadable (empty, not UTF-8, not JSON) → kept in quarantine, 400 with the reason;
 * - authentic, readable but unusable (nested deeper than any Codat body) → kept in quarantine, 202;
 * - authentic and readable → stored, 202 (200 `duplicate` for a redelivery), converted later;
 * - the store failing → 503 `store_unavailable`, which both Codat services retry;
 * - too many webhooks already waiting for the store → 503 `inbox_full`, retried the same way.
 */
import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { WebhookAuthenticator } from './webhook-authenticator.js';
import { identifierProblem } from '../domain/conversion-screening.js';
import type { Channel } from '../domain/domain-event.js';
import type { Clock, Logger } from '../domain/ports.js';
import { HttpError, bodyReadFailure } from '../http/http-error.js';
import { deadlineOf } from '../http/request-deadline.js';
import { fixedJsonAnswer } from '../http/fixed-answer.js';
import type { Metrics } from '../observability/metrics.js';
import type { NewWebhook } from './inbox-store.js';
import { InboxFullError, type InboxWriter } from './inbox-writer.js';
import { REQUEST_ID_HEADER } from '../http/access-log.js';

/** The id src/http/access-log.ts gave the request (a fresh one when the route runs without it, in a unit test). */
function requestIdFor(req: { id?: unknown; headers: Record<string, unknown> }): string {
  if (typeof req.id === 'string') return req.id;
  if (typeof req.id === 'number') return String(req.id);
  const header = req.headers[REQUEST_ID_HEADER];
  return typeof header === 'string' ? header : 'none';
}

/** The headers kept with each webhook for audit and re-verification (never `Authorization`). */
export const AUDIT_HEADERS = [
  'webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature',
  'content-type', 'content-encoding', 'user-agent', 'x-codat-clientid',
] as const;

/**
 * Deeper than any Codat body (their deepest is about 6 levels). `JSON.parse` itself copes with
 * hundreds of thousands of levels, but `JSON.stringify`, `structuredClone` and any recursive
 * walk overflow the stack at about 10,000: such a body is kept in quarantine, never processed.
 */
export const MAX_JSON_DEPTH = 64;

/** Identifiers longer than this are hashed before they become a dedupe key. */
const MAX_DEDUPE_KEY_LENGTH = 200;

/**
 * `ignoreBOM`: a byte-order mark is kept, so JSON.parse refuses it here exactly as the processor
 * (which reads the stored bytes) would; the body is then kept in quarantine, never half-accepted.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type BodyProblem = 'empty_body' | 'invalid_utf8' | 'malformed_json' | 'nesting_too_deep';

export type ParsedBody = { ok: true; value: unknown } | { ok: false; code: BodyProblem };

/** The deepest nesting of arrays and objects in a JSON text (strings are skipped). */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i += 1;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth -= 1;
    }
  }
  return deepest;
}

/**
 * Strict: UTF-8 that does not decode is refused rather than repaired (a repaired body is not
 * the body that was signed). `JSON.parse` never gives `__proto__` a meaning: it creates an own
 * property of that name, so parsing cannot pollute a prototype.
 */
export function parseJsonBody(raw: Buffer): ParsedBody {
  if (raw.length === 0) return { ok: false, code: 'empty_body' };
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, code: 'invalid_utf8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'malformed_json' };
  }
  if (jsonNestingDepth(text) > MAX_JSON_DEPTH) return { ok: false, code: 'nesting_too_deep' };
  return { ok: true, value };
}

/** `AlertId` or `id` of a body, the per-channel dedupe key when no `webhook-id` header came. */
function bodyId(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const record = body as Record<string, unknown>;
  const id = Object.hasOwn(record, 'AlertId') ? record.AlertId : Object.hasOwn(record, 'id') ? record.id : null;
  // An id with a NUL could not be stored on PostgreSQL (a 503 for ever) and one with a lone surrogate is stored
  // differently by the two databases: the body's hash is the key instead.
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_DEDUPE_KEY_LENGTH && identifierProblem(id) === null ? id : null;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function dedupeKeyOf(webhookId: string | null, parsed: ParsedBody, raw: Buffer): string {
  if (webhookId !== null && webhookId.length > 0) {
    return webhookId.length <= MAX_DEDUPE_KEY_LENGTH ? webhookId : `sha256-id:${sha256(webhookId)}`;
  }
  return (parsed.ok ? bodyId(parsed.value) : null) ?? `sha256:${sha256(raw)}`;
}

export interface WebhookReceiverDeps {
  readonly endpoint: Channel;
  readonly authenticate: WebhookAuthenticator;
  /** Which format a body is in: a legacy body can arrive on the events URL and vice versa. */
  readonly detectChannel: (body: unknown, endpoint: Channel) => Channel;
  readonly inbox: InboxWriter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly onStored: () => void;
}

/** How each unusable body is answered. Only what cannot be read at all is a 4xx. */
const BODY_PROBLEMS: Readonly<Record<BodyProblem, { status: 400 | 202; message: string }>> = {
  empty_body: { status: 400, message: 'The request has no body.' },
  invalid_utf8: { status: 400, message: 'The body is not valid UTF-8.' },
  malformed_json: { status: 400, message: 'The body is not valid JSON.' },
  nesting_too_deep: { status: 202, message: `The body nests deeper than ${MAX_JSON_DEPTH} levels.` },
};

const answerAccepted = fixedJsonAnswer(202, { status: 'accepted' });
const answerDuplicate = fixedJsonAnswer(200, { status: 'duplicate' });

export function createWebhookReceiver(deps: WebhookReceiverDeps): RequestHandler {
  const { endpoint, metrics } = deps;

  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const requestId = requestIdFor(req);
    const log = deps.logger.child({ requestId });
    log.debug('webhook received', { endpoint, bytes: raw.length });
    const auth = deps.authenticate(req.headers, raw);
    if (!auth.ok) {
      log.warn('webhook refused', { endpoint, status: 401, reason: auth.reason });
      // Never stored, never parsed: an unauthenticated sender costs one HMAC and one counter.
      metrics.authFailures.inc({ endpoint, reason: auth.reason });
      metrics.webhooks.inc({ endpoint, outcome: 'unauthorized' });
      throw new HttpError(401, auth.reason, 'The webhook could not be authenticated.');
    }
    const parsed = parseJsonBody(raw);
    const channel = parsed.ok ? deps.detectChannel(parsed.value, endpoint) : endpoint;
    if (auth.method === 'authorization' && channel !== 'legacy') {
      // The static legacy header is a bearer secret with no timestamp: it admits what the legacy rules
      // service sends, legacy-format bodies, and nothing else. A new-format body needs a signature.
      // Refused, never stored: the legacy service does not retry a 403; Codat's new service does,
      // for a day, so setting CODAT_LEGACY_SECRET then loses nothing (docs/security.md).
      metrics.authFailures.inc({ endpoint, reason: 'credential_not_allowed_for_format' });
      metrics.webhooks.inc({ endpoint, outcome: 'unauthorized' });
      log.warn('refused a new-format body authenticated only by the static legacy Authorization; Codat signs new-format bodies, set CODAT_LEGACY_SECRET if it sends them here', { endpoint, status: 403, reason: 'credential_not_allowed_for_format' });
      throw new HttpError(403, 'credential_not_allowed_for_format', 'The legacy Authorization header admits legacy-format bodies only; this body needs a signature.');
    }
    const headers: Record<string, string> = {};
    for (const name of AUDIT_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // The processing and the delivery run later, maybe on another thread: they read the id from here.
    headers[REQUEST_ID_HEADER] = requestId;
    const webhook: NewWebhook = {
      channel,
      endpoint,
      dedupeKey: dedupeKeyOf(auth.webhookId, parsed, raw),
      receivedAt: deps.clock.now(),
      headers,
      body: raw,
      // Authentic but unusable: kept in quarantine so nothing Codat sent is lost.
      state: parsed.ok ? 'pending' : 'quarantined',
      detail: parsed.ok ? null : parsed.code,
    };
    let stored;
    try {
      stored = await deps.inbox.write(webhook, deadlineOf(req));
    } catch (error) {
      if (error instanceof InboxFullError) {
        // Back-pressure, not a fault: the store is behind the arrivals. Nothing was acknowledged; Codat retries.
        log.warn('too many webhooks waiting for the store; answering 503 so Codat retries', { endpoint, status: 503, reason: 'inbox_full', waiting: error.waiting });
        metrics.webhooks.inc({ endpoint, outcome: 'inbox_full' });
        throw new HttpError(503, 'inbox_full', 'Too many webhooks are waiting to be stored; retry later.', { 'retry-after': '5' });
      }
      log.error('could not store a webhook; answering 503 so Codat retries', { endpoint, status: 503, reason: 'store_unavailable', error: String(error) });
      metrics.webhooks.inc({ endpoint, outcome: 'store_unavailable' });
      throw new HttpError(503, 'store_unavailable', 'The webhook could not be stored; retry later.', { 'retry-after': '5' });
    }
    if (stored.status === 'duplicate') metrics.duplicates.inc({ channel, layer: 'transport' });
    log.debug(stored.status === 'stored' ? 'webhook stored' : 'webhook already stored (redelivery)', {
      endpoint, channel, dedupeKey: webhook.dedupeKey, ...(stored.status === 'stored' ? { inboxId: stored.inboxId } : {}), ...(parsed.ok ? {} : { reason: parsed.code }),
    });
    // Stored after the deadline had answered 503: Codat's retry will find it stored and hear `duplicate`.
    if (res.headersSent) {
      deps.onStored();
      return;
    }
    if (!parsed.ok) {
      metrics.webhooks.inc({ endpoint, outcome: parsed.code });
      if (stored.status === 'stored') metrics.quarantined.inc({ channel, reason: parsed.code });
      const problem = BODY_PROBLEMS[parsed.code];
      if (problem.status === 202) {
        res.status(202).json({ status: 'quarantined', reason: parsed.code });
        return;
      }
      throw new HttpError(problem.status, parsed.code, problem.message);
    }
    metrics.webhooks.inc({ endpoint, outcome: stored.status });
    if (stored.status === 'duplicate') {
      answerDuplicate(res);
      return;
    }
    deps.onStored();
    answerAccepted(res);
  };
}

/**
 * After the raw-body reader on a webhook route: counts bodies refused before they could be
 * authenticated (too large, aborted, unsupported encoding) by endpoint and outcome, then hands
 * the error on to the error handler, which answers it.
 */
export function countUnreadableBodies(endpoint: Channel, metrics: Metrics, logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, _res, next) => {
    const refused = error instanceof HttpError ? null : bodyReadFailure(error);
    if (refused) {
      metrics.webhooks.inc({ endpoint, outcome: refused.code });
      logger.warn('webhook refused', { requestId: requestIdFor(req), endpoint, status: refused.status, reason: refused.code });
    }
    next(error);
  };
}
