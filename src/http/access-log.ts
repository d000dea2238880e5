/**
 * One access-log line per request and the request id every line of a webhook's life carries:
 * the caller's `x-request-id` when it is a sane token, else a new UUID; echoed in the response header and
 * stored with the webhook (src/webhooks/webhook-receiver.ts), so the later stages log it too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../observability/json-logger.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable, short and without spaces or quotes: anything else could forge or break a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Polled every few seconds by probes and Prometheus: logged at debug unless they fail. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

const pathOf = (url: string | undefined) => (url ?? '').split('?')[0] ?? '';

/** Headers an operator needs to read an access line; never Authorization, cookies or signatures. */
const LOGGED_HEADERS = ['user-agent', 'content-type', 'content-length', 'webhook-id', 'svix-id'] as const;

function levelOf(path: string, res: ServerResponse): LogLevel {
  const probe = PROBES.has(path);
  // A probe answering 503 is the readiness it reports (a database still starting), not a failure of the request.
  if (probe && res.statusCode < 400) return 'debug';
  if (probe) return 'warn';
  if (res.statusCode >= 500) return 'error';
  return 'info';
}

function loggedHeaders(req: IncomingMessage): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  return headers;
}

/**
 * Written here rather than with pino-http, which makes two pino children per request (serialising and redacting
 * the request into one) before it knows whether the line's level is enabled: on the request path, that is work
 * for every webhook at any level. Here nothing is built unless the line is written.
 *
 * `logger` absent (component tests with no logger of their own): request ids are still given and echoed,
 * nothing is written.
 */
export function accessLog(logger: PinoLogger | undefined): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdOf(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Read by the receiver (src/webhooks/webhook-receiver.ts), which stores it with the webhook.
    (req as { id?: string }).id = requestId;
    if (logger) {
      const started = performance.now();
      // Read on arrival: a router mounted on a prefix rewrites req.url while it runs, and the socket of a client
      // that went away has no address any more.
      const method = req.method;
      const path = pathOf(req.url);
      const remoteAddress = req.socket.remoteAddress;
      // 'close' comes once for every response, finished or cut off by the client.
      res.once('close', () => {
        const level = levelOf(path, res);
        if (!logger.isLevelEnabled(level)) return;
        const line = {
          requestId,
          req: { method, path, remoteAddress, headers: loggedHeaders(req) },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
          ...(res.writableFinished ? {} : { aborted: true }),
        };
        logger[level](line, `${method} ${path} ${res.statusCode}`);
      });
    }
    next();
  };
}
