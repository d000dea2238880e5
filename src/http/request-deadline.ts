/**
 * Every request is answered within a deadline, below the 15 s after which Codat gives up on a
 * webhook: a store that is frozen rather than down (no error, no answer) becomes a prompt 503 the
 * sender retries, not a socket held open until the sender's own timeout.
 */
import type { Request, RequestHandler } from 'express';
import { HttpError, sendError } from './http-error.js';

// On the request itself rather than in a WeakMap: an entry per request in a WeakMap is an ephemeron that every
// garbage collection has to trace, and the request lives only as long as its answer anyway.
const DEADLINE = Symbol('request deadline');
type WithDeadline = Request & { [DEADLINE]?: AbortSignal };

/** Aborts when the request's deadline passes: what the handler waits for can stop waiting. */
export function deadlineOf(req: Request): AbortSignal | undefined {
  return (req as WithDeadline)[DEADLINE];
}

export function requestDeadline(ms: number): RequestHandler {
  return (req, res, next) => {
    const controller = new AbortController();
    (req as WithDeadline)[DEADLINE] = controller.signal;
    const timer = setTimeout(() => {
      controller.abort();
      // After the handlers listening to the signal had their turn: a webhook's own 503 store_unavailable
      // (answered from the rejected write, in microtasks) wins over this generic one.
      setImmediate(() => {
        if (res.headersSent) return;
        sendError(res, new HttpError(503, 'deadline_exceeded', `The request could not be answered within ${ms} ms; retry later.`, { 'retry-after': '5' }));
      });
    }, ms);
    // 'close' comes once for every response, after 'finish' or when the client went away.
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
