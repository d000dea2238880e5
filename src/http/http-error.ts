import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../domain/ports.js';

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
}

const fromBodyParser = (error: BodyParserError): HttpError | null => {
  switch (error.type) {
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', 'The request body is larger than this endpoint accepts.');
    case 'request.aborted':
      return new HttpError(400, 'request_aborted', 'The client closed the request before the body was complete.');
    case 'request.size.invalid':
      return new HttpError(400, 'invalid_content_length', 'The body does not match its Content-Length.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_encoding', 'The body encoding or charset is not supported.');
    default:
      return null;
  }
};

/** The one place where errors become HTTP: the same body in every environment, never a stack trace. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    const known = error instanceof HttpError ? error : fromBodyParser((error ?? {}) as BodyParserError);
    if (!known) logger.error('unhandled error while answering a request', { error: String(error) });
    const answer = known ?? new HttpError(500, 'internal_error', 'The request could not be handled.');
    if (res.headersSent) return;
    res.status(answer.status).set(answer.headers).json({ error: { code: answer.code, message: answer.message } });
  };
}
