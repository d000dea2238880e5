/**
 * One access-log line per request (pino-http) and the request id every line of a webhook's life carries:
 * the caller's `x-request-id` when it is a sane token, else a new UUID; echoed in the response header and
 * stored with the webhook (src/ingest/webhook-receiver.ts), so the later stages log it too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pino, type LevelWithSilent, type Logger as PinoLogger } from 'pino';
import { pinoHttp } from 'pino-http';

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

/**
 * `logger` absent (component tests with no logger of their own): request ids are still given and echoed,
 * nothing is written.
 */
export function accessLog(logger: PinoLogger | undefined): RequestHandler {
  const middleware = pinoHttp<IncomingMessage, ServerResponse, never>({
    logger: logger ?? pino({ enabled: false }),
    genReqId(req, res) {
      const id = requestIdOf(req);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customAttributeKeys: { reqId: 'requestId' },
    // The request's own lines (src/ingest/webhook-receiver.ts) carry the id through the port's child logger.
    quietReqLogger: true,
    customLogLevel(req: IncomingMessage, res: ServerResponse, error?: Error): LevelWithSilent {
      const probe = PROBES.has(pathOf(req.url));
      // A probe answering 503 is the readiness it reports (a database still starting), not a failure of the request.
      if (probe && res.statusCode < 400) return 'debug';
      if (probe) return 'warn';
      if (error || res.statusCode >= 500) return 'error';
      return 'info';
    },
    customSuccessMessage: (req, res) => `${req.method ?? ''} ${pathOf(req.url)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method ?? ''} ${pathOf(req.url)} ${res.statusCode}`,
    serializers: {
      req(req: { method?: string; url?: string; headers?: Record<string, unknown>; remoteAddress?: string }) {
        const headers: Record<string, unknown> = {};
        for (const name of LOGGED_HEADERS) if (req.headers?.[name] !== undefined) headers[name] = req.headers[name];
        return { method: req.method, path: pathOf(req.url), remoteAddress: req.remoteAddress, headers };
      },
      res(res: { statusCode?: number }) {
        return { statusCode: res.statusCode };
      },
      // pino-http makes an error of every 5xx; the status says it all, a stack of its own internals says nothing.
      err(err: { type?: string; name?: string; message?: string }) {
        return { type: err.type ?? err.name, message: err.message };
      },
    },
  });
  return (req, res, next) => middleware(req, res, next);
}
