import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../domain/ports.js';
import { isStoreUnavailable } from '../store/store-unavailable.js';

/** An answer that is not a success: a stable machine-readable `code` and a human message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

interface BodyParserError {
  type?: unknown;
  status?: unknown;
  expose?: unknown;
}

/**
 * What the raw-body reader refuses before the webhook can be authenticated, as an answer; null
 * for any other error. A body that is never read is never verified and never stored.
 */
export function bodyReadFailure(error: unknown): HttpError | null {
  if (typeof error !== 'object' || error === null) return null;
  switch ((error as BodyParserError).type) {
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', 'The request body is larger than this endpoint accepts.');
    case 'request.aborted':
      return new HttpError(400, 'request_aborted', 'The client closed the request before the body was complete.');
    case 'request.size.invalid':
      return new HttpError(400, 'invalid_content_length', 'The body does not match its Content-Length.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_encoding', 'The body encoding or charset is not supported.');
    default: {
      // Any other client error raised by Express or its readers (http-errors with `expose`): a 4xx, never a 500.
      const { status, expose } = error as BodyParserError;
      return expose === true && typeof status === 'number' && status >= 400 && status < 500
        ? new HttpError(status, 'bad_request', 'The request could not be read.')
        : null;
    }
  }
}

/** A store that cannot take work now (lost connection, frozen database, full disk): retried, not a 500. */
export const storeUnavailable = () =>
  new HttpError(503, 'store_unavailable', 'The store is unavailable; retry later.', { 'retry-after': '5' });

export function sendError(res: Response, answer: HttpError): void {
  res.status(answer.status).set(answer.headers).json({ error: { code: answer.code, message: answer.message } });
}

/** The one place where errors become HTTP: the same body in every environment, never a stack trace. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const known = error instanceof HttpError ? error : isStoreUnavailable(error) ? storeUnavailable() : bodyReadFailure(error);
    if (!known) logger.error('unhandled error while answering a request', { error: String(error) });
    // Already answered (e.g. the request deadline passed first): no one is left to tell.
    if (res.headersSent) return;
    sendError(res, known ?? new HttpError(500, 'internal_error', 'The request could not be handled.'));
  };
}
