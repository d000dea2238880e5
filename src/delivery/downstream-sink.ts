import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';

/** One value of a response header (a repeated header: its first). */
function headerOf(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** How the downstream took a delivery it accepted (an HTTP status), when it says. */
export interface DeliveryReceipt {
  readonly status: number;
}

/** The existing system. `deliver` resolves when it accepted the event and throws otherwise. */
export interface DownstreamSink {
  readonly description: string;
  deliver(payload: string, idempotencyKey: string): Promise<DeliveryReceipt | void>;
}

/**
 * What one HTTP status means for a delivery (docs/http-api.md has the table):
 * - 2xx, and 409: delivered (a 409 answers an `Idempotency-Key` the downstream has already seen);
 * - 408, 425, 429, 5xx: the downstream may take it later: retried with backoff, or when `Retry-After` says;
 * - 3xx: retried like an outage (redirects are never followed; the operator fixes DOWNSTREAM_URL meanwhile);
 * - any other 4xx (400, 401, 403, 404, 410, 413, 422 …): it will never be taken as it is: dead-lettered at once.
 */
export type StatusVerdict = 'delivered' | 'retry' | 'dead-letter';

const RETRIED_CLIENT_ERRORS = new Set([408, 425, 429]);

export function statusVerdict(status: number): StatusVerdict {
  if ((status >= 200 && status < 300) || status === 409) return 'delivered';
  if (status >= 400 && status < 500 && !RETRIED_CLIENT_ERRORS.has(status)) return 'dead-letter';
  return 'retry';
}

/** A `Retry-After` beyond this is taken as this: a downstream cannot park a delivery for days. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** `Retry-After` as a wait in ms from `now` (RFC 9110: delay-seconds or an HTTP date), bounded; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  let wait: number;
  if (/^\d+$/.test(text)) wait = Number(text) * 1000;
  else {
    // An HTTP date names its day and month; anything else (e.g. `-5`) is unreadable, not a date.
    const at = /[A-Za-z]/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(at)) return null;
    wait = at - now;
  }
  return Math.min(Math.max(0, wait), MAX_RETRY_AFTER_MS);
}

export class DownstreamRejected extends Error {
  readonly verdict: StatusVerdict;
  constructor(
    readonly status: number,
    /** For a 3xx: where the downstream pointed, so that a misconfigured DOWNSTREAM_URL shows in the dead letter. */
    readonly location: string | null = null,
    /** The downstream's `Retry-After`, in ms from when it answered. */
    readonly retryAfterMs: number | null = null,
  ) {
    const verdict = statusVerdict(status);
    super(
      location !== null
        ? `downstream answered HTTP ${status} redirecting to ${location}: redirects are not followed, set DOWNSTREAM_URL to the final address`
        : verdict === 'dead-letter'
          ? `downstream answered HTTP ${status}: refused as it is, not retried`
          : `downstream answered HTTP ${status}${retryAfterMs === null ? '' : ` (Retry-After: ${Math.round(retryAfterMs / 1000)} s)`}`,
    );
    this.name = 'DownstreamRejected';
    this.verdict = verdict;
  }
}

/** Long enough for any sane URL, short enough for a log line and the dead-letter list. */
const MAX_LOCATION_LENGTH = 500;

/** The `Location` of a redirect, absolute (a relative one is resolved against the URL posted to), or `(none)`. */
function redirectTarget(location: string | null, url: string): string {
  if (location === null || location === '') return '(none)';
  let target: string;
  try {
    target = new URL(location, url).href;
  } catch {
    target = location;
  }
  return target.length > MAX_LOCATION_LENGTH ? `${target.slice(0, MAX_LOCATION_LENGTH)}…` : target;
}

export interface HttpSinkOptions {
  readonly url: string;
  readonly timeoutMs: number;
  /** `codat-cutover/<version>`: the downstream can tell this service's requests from anyone's. */
  readonly userAgent: string;
  /** DOWNSTREAM_SECRET (`whsec_…`): each delivery is signed with Standard Webhooks, as Codat signs its webhooks. */
  readonly secret?: string | undefined;
  readonly now?: () => number;
}

/**
 * POSTs one JSON event per request, on kept-alive connections, with undici's `request`: the delivery of every
 * occurrence is an outgoing request, and `fetch` (undici too, under web streams, an abort controller and a
 * Response per call) costs about as much CPU as taking the webhook in. What each status means is
 * `statusVerdict`'s. A redirect is never followed (`request` follows none): following a 301/302/303 as a GET
 * without the body, the landing page's 200 would count as delivered while the event was lost. Every 3xx is a
 * failed attempt, retried and in the end dead-lettered like an outage, with the status and the `Location` in
 * its error.
 *
 * Signed (DOWNSTREAM_SECRET): `webhook-id` is the occurrence id (the same as `Idempotency-Key`, the same on
 * every attempt), `webhook-timestamp` the attempt's time, `webhook-signature` over id, timestamp and body.
 */
export function createHttpSink(options: HttpSinkOptions): DownstreamSink {
  const { url, timeoutMs, userAgent } = options;
  const signer = options.secret === undefined ? null : new Webhook(options.secret);
  const now = options.now ?? Date.now;
  return {
    description: url,
    async deliver(payload, idempotencyKey) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': userAgent };
      if (signer) {
        const at = new Date(now());
        headers['webhook-id'] = idempotencyKey;
        headers['webhook-timestamp'] = String(Math.floor(at.getTime() / 1000));
        headers['webhook-signature'] = signer.sign(idempotencyKey, at, payload);
      }
      const response = await request(url, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
      // Drain the body so the connection can be reused.
      await response.body.dump().catch(() => undefined);
      const status = response.statusCode;
      if (status >= 300 && status < 400) {
        throw new DownstreamRejected(status, redirectTarget(headerOf(response.headers, 'location'), url));
      }
      if (statusVerdict(status) !== 'delivered') {
        throw new DownstreamRejected(status, null, retryAfterMs(headerOf(response.headers, 'retry-after'), now()));
      }
      return { status };
    },
  };
}

/**
 * With no downstream configured: one JSON line per event in a file a person can `tail -f`.
 * The delivery worker sends a claimed batch at once; the lines that are waiting are written with one
 * `appendFile` (one open/write/close for the batch instead of one per event), and each `deliver`
 * resolves once its own line is written.
 */
export function createJsonLinesSink(path: string): DownstreamSink {
  let ready: Promise<unknown> | null = null;
  let waiting: { line: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let writing = false;

  async function writeWaiting(): Promise<void> {
    writing = true;
    try {
      ready ??= mkdir(dirname(path), { recursive: true });
      await ready;
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        try {
          await appendFile(path, batch.map((w) => w.line).join(''));
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } catch (error) {
      // The folder could not be made: fail what is waiting, try again on the next delivery.
      ready = null;
      for (const w of waiting.splice(0)) w.reject(error);
    } finally {
      writing = false;
    }
  }

  return {
    description: `file ${path}`,
    deliver(payload) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ line: `${payload}\n`, resolve, reject });
        if (!writing) void writeWaiting();
      });
    },
  };
}
