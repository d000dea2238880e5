/**
 * The Logger port on pino: one JSON object per line on stdout (what log shippers expect, readable with `jq`),
 * `time` as ISO text and `level` as its name, so a line reads the same with or without pino-pretty.
 */
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from '../domain/ports.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Whatever path a secret could reach a line by: request headers (the access log), fields a caller passed.
 * The access log's request serializer keeps a few named headers only; this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'req.headers["svix-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["webhook-signature"]',
  'headers["svix-signature"]',
  'authorization',
  'signature',
  'token',
  'secret',
  'password',
  '*.authorization',
  '*.signature',
  '*.token',
  '*.secret',
  '*.password',
];

/** The port, and the pino logger behind it for the access log (src/http/access-log.ts). */
export interface PinoBackedLogger extends Logger {
  readonly pino: PinoLogger;
}

/**
 * `child` makes no pino child until a line at an enabled level is written: a pino child serialises and redacts
 * its bindings when it is made, and the request path and the pipeline make one per webhook for lines that,
 * at the default level, are mostly debug ones never written.
 */
function wrap(root: PinoLogger, instance: () => PinoLogger): PinoBackedLogger {
  const line = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (root.isLevelEnabled(level)) instance()[level](fields ?? {}, message);
  };
  return {
    get pino() {
      return instance();
    },
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (bindings) => wrap(root, once(() => instance().child(bindings))),
  };
}

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

export function createPinoLogger(level: LogLevel, destination?: DestinationStream): PinoBackedLogger {
  const instance = pino(
    {
      level,
      messageKey: 'message',
      base: null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
  return wrap(instance, () => instance);
}

const ignore = () => {};
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore, child: () => silentLogger };

/** The pino logger behind a port built here, for the access log; undefined for any other Logger (a test's fake). */
export function pinoOf(logger: Logger): PinoLogger | undefined {
  return 'pino' in logger ? (logger as PinoBackedLogger).pino : undefined;
}
