/**
 * The Node HTTP server around the app, with the limits that protect it from slow or stalled
 * clients. src/main.ts listens with it; test/component/hostile-input.test.ts starts one with the
 * same function (and shorter limits) to show a stalled client is cut off and a slow one is not.
 */
import { createServer, type RequestListener, type Server } from 'node:http';

export interface ServerTimeouts {
  /** The whole request (headers and body) must arrive within this; then `408` and the socket is closed. */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** An idle kept-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /**
   * How often Node checks the two limits above (its default is 30 s, which would let a stalled
   * client hold a socket up to 30 s past the limit).
   */
  readonly checkIntervalMs: number;
}

/** Codat gives up after 15 s: a client that has not sent its request within 10 s is cut off. */
export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = {
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
};

export function createHttpServer(app: RequestListener, timeouts: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS): Server {
  const server = createServer(
    {
      requestTimeout: timeouts.requestTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    app,
  );
  return server;
}
