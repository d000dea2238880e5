/**
 * The request path of both webhook endpoints: authenticate the raw bytes, parse, store durably,
 * and only then answer. Conversion and delivery happen after the answer, from the store.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { WebhookAuthenticator } from '../auth/webhook-authenticator.js';
import type { Channel } from '../domain/domain-event.js';
import type { Clock, Logger } from '../domain/ports.js';
import { HttpError } from '../http/http-error.js';
import type { Metrics } from '../observability/metrics.js';
import type { NewWebhook } from '../store/cutover-store.js';
import type { InboxWriter } from './inbox-writer.js';

/** The headers kept with each webhook for audit and re-verification (never `Authorization`). */
const AUDIT_HEADERS = [
  'webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature',
  'content-type', 'user-agent', 'x-codat-clientid',
] as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type ParsedBody = { ok: true; value: unknown } | { ok: false; code: 'empty_body' | 'invalid_utf8' | 'malformed_json' };

export function parseJsonBody(raw: Buffer): ParsedBody {
  if (raw.length === 0) return { ok: false, code: 'empty_body' };
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, code: 'invalid_utf8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, code: 'malformed_json' };
  }
}

/** `AlertId` or `id` of a body, the per-channel dedupe key when no `webhook-id` header came. */
function bodyId(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const record = body as Record<string, unknown>;
  const id = Object.hasOwn(record, 'AlertId') ? record.AlertId : Object.hasOwn(record, 'id') ? record.id : null;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : null;
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

export function createWebhookReceiver(deps: WebhookReceiverDeps): RequestHandler {
  const { endpoint, metrics } = deps;
  const MESSAGES = {
    empty_body: 'The request has no body.',
    invalid_utf8: 'The body is not valid UTF-8.',
    malformed_json: 'The body is not valid JSON.',
  } as const;

  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const auth = deps.authenticate(req.headers, raw);
    if (!auth.ok) {
      metrics.authFailures.inc({ endpoint, reason: auth.reason });
      metrics.webhooks.inc({ endpoint, outcome: 'unauthorized' });
      throw new HttpError(401, auth.reason, 'The webhook could not be authenticated.');
    }
    const parsed = parseJsonBody(raw);
    const channel = parsed.ok ? deps.detectChannel(parsed.value, endpoint) : endpoint;
    const headers: Record<string, string> = {};
    for (const name of AUDIT_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const webhook: NewWebhook = {
      channel,
      endpoint,
      dedupeKey: auth.webhookId ?? (parsed.ok ? bodyId(parsed.value) : null) ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`,
      receivedAt: deps.clock.now(),
      headers,
      body: raw,
      // Authentic but unreadable: kept in quarantine so nothing Codat sent is lost.
      state: parsed.ok ? 'pending' : 'quarantined',
      detail: parsed.ok ? null : parsed.code,
    };
    let stored;
    try {
      stored = await deps.inbox.write(webhook);
    } catch (error) {
      deps.logger.error('could not store a webhook; answering 503 so Codat retries', { endpoint, error: String(error) });
      metrics.webhooks.inc({ endpoint, outcome: 'store_unavailable' });
      throw new HttpError(503, 'store_unavailable', 'The webhook could not be stored; retry later.', { 'retry-after': '5' });
    }
    if (!parsed.ok) {
      metrics.webhooks.inc({ endpoint, outcome: parsed.code });
      metrics.quarantined.inc({ channel, reason: parsed.code });
      throw new HttpError(400, parsed.code, MESSAGES[parsed.code]);
    }
    metrics.webhooks.inc({ endpoint, outcome: stored.status });
    if (stored.status === 'duplicate') {
      res.status(200).json({ status: 'duplicate' });
      return;
    }
    deps.onStored();
    res.status(202).json({ status: 'accepted' });
  };
}
