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

function wrap(instance: PinoLogger): PinoBackedLogger {
  return {
    pino: instance,
    debug: (message, fields) => instance.debug(fields ?? {}, message),
    info: (message, fields) => instance.info(fields ?? {}, message),
    warn: (message, fields) => instance.warn(fields ?? {}, message),
    error: (message, fields) => instance.error(fields ?? {}, message),
    child: (bindings) => wrap(instance.child(bindings)),
  };
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
  return wrap(instance);
}

const ignore = () => {};
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore, child: () => silentLogger };

/** The pino logger behind a port built here, for the access log; undefined for any other Logger (a test's fake). */
export function pinoOf(logger: Logger): PinoLogger | undefined {
  return 'pino' in logger ? (logger as PinoBackedLogger).pino : undefined;
}
