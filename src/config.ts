/**
 * Every setting of the service, read from the environment through one schema. A bad value fails
 * start-up with the full list of problems, never a NaN discovered at 3 a.m.
 * README.md's configuration table mirrors this file.
 */
import { z } from 'zod';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/**
 * http or https with a host. `z.url()` alone takes `localhost:8080` as a URL of scheme `localhost:`, and
 * `unleash:4242` as one of scheme `unleash:`: both are refused here, with the likely fix.
 */
const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // Not a URL at all: the expectation says what one looks like.
  }
  if (url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return;
  const schemeless = /^[A-Za-z0-9.-]+:\d+(\/.*)?$/.test(value);
  ctx.addIssue({ code: 'custom', message: schemeless ? `no scheme: did you mean http://${value}?` : 'not an http(s) URL with a host' });
});

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Several secrets (rotation) are separated by spaces or commas. */
const secretList = optionalText.pipe(
  z
    .string()
    .optional()
    .transform((value) => (value === undefined ? [] : value.split(/[\s,]+/).filter(Boolean)))
    .pipe(z.array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be whsec_<base64>'))),
);

const variables = {
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('.data'),
  FLAGS_FILE: z.string().default('flags/unleash-export.json'),
  UNLEASH_URL: optionalText.pipe(httpUrl.optional()),
  UNLEASH_API_TOKEN: optionalText,
  UNLEASH_APP_NAME: z.string().default('codat-cutover'),
  UNLEASH_ENVIRONMENT: z.string().default('development'),
  UNLEASH_REFRESH_MS: z.coerce.number().int().min(100).default(1000),
  UNLEASH_START_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  DOWNSTREAM_URL: optionalText.pipe(httpUrl.optional()),
  DOWNSTREAM_FILE: optionalText,
  DOWNSTREAM_SECRET: optionalText.pipe(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be whsec_<base64>').optional()),
  DOWNSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  CODAT_EVENTS_SECRET: secretList,
  CODAT_LEGACY_SECRET: secretList,
  CODAT_LEGACY_AUTH: optionalText,
  ALLOW_UNSIGNED_WEBHOOKS: flag,
  WEBHOOK_TOLERANCE_SECONDS: seconds(300),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  CUTOVER_GRACE_SECONDS: seconds(120),
  CORRELATION_WINDOW_SECONDS: seconds(900),
  RETENTION_DAYS: seconds(30),
  DATABASE_URL: optionalText.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  STORE_START_TIMEOUT_SECONDS: seconds(120),
  // Codat gives up on a webhook after 15 s: an answer after that is no answer.
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(1000).max(14_000).default(10_000),
  READYZ_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
  READINESS_MIN_COVERAGE: z.coerce.number().min(0).max(1).default(0.995),
  READINESS_MIN_OCCURRENCES: z.coerce.number().int().min(0).default(100),
  READINESS_OBSERVATION_HOURS: seconds(24),
  ADMIN_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
};

/** Only its type is used: each variable is parsed on its own, so that every problem is listed at once. */
type EnvironmentSchema = ReturnType<typeof z.object<typeof variables>>;

type Variable = keyof typeof variables;

/** What each variable takes, said with the value received when it is refused (README.md's table says more). */
const EXPECTED: Readonly<Record<Variable, string>> = {
  NODE_ENV: 'a name such as production or development',
  PORT: 'a whole number from 0 to 65535',
  HOST: 'an address to listen on, e.g. 0.0.0.0',
  DATA_DIR: 'a folder path',
  FLAGS_FILE: 'the path of an Unleash export file',
  UNLEASH_URL: 'an http:// or https:// URL of the Unleash API, e.g. http://unleash:4242/api',
  UNLEASH_API_TOKEN: 'an Unleash backend token',
  UNLEASH_APP_NAME: 'an application name',
  UNLEASH_ENVIRONMENT: 'an Unleash environment name',
  UNLEASH_REFRESH_MS: 'a whole number of milliseconds, at least 100',
  UNLEASH_START_TIMEOUT_MS: 'a whole number of milliseconds, at least 100',
  DOWNSTREAM_URL: 'an http:// or https:// URL of the existing system, e.g. http://existing-system:8080/events',
  DOWNSTREAM_FILE: 'a file path',
  DOWNSTREAM_SECRET: 'a Standard Webhooks secret: whsec_ followed by base64',
  DOWNSTREAM_TIMEOUT_MS: 'a whole number of milliseconds, more than 0',
  DELIVERY_MAX_ATTEMPTS: 'a whole number from 1 to 100',
  CODAT_EVENTS_SECRET: 'one or more whsec_<base64> secrets, separated by spaces or commas',
  CODAT_LEGACY_SECRET: 'one or more whsec_<base64> secrets, separated by spaces or commas',
  CODAT_LEGACY_AUTH: 'the Authorization header value the legacy rules service sends',
  ALLOW_UNSIGNED_WEBHOOKS: 'true, false, 1, 0, yes or no',
  WEBHOOK_TOLERANCE_SECONDS: 'a whole number of seconds, more than 0',
  BODY_LIMIT_BYTES: 'a whole number of bytes, at least 1024',
  CUTOVER_GRACE_SECONDS: 'a whole number of seconds, more than 0',
  CORRELATION_WINDOW_SECONDS: 'a whole number of seconds, more than 0',
  RETENTION_DAYS: 'a whole number of days, more than 0',
  DATABASE_URL: 'a PostgreSQL URL, postgres://user:password@host:5432/database',
  DATABASE_CONNECT_TIMEOUT_MS: 'a whole number of milliseconds, at least 100',
  DATABASE_STATEMENT_TIMEOUT_MS: 'a whole number of milliseconds, at least 100',
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 'a whole number of milliseconds, at least 100',
  STORE_START_TIMEOUT_SECONDS: 'a whole number of seconds, more than 0',
  REQUEST_DEADLINE_MS: 'a whole number of milliseconds from 1000 to 14000 (Codat gives up after 15 s)',
  READYZ_TIMEOUT_MS: 'a whole number of milliseconds, at least 100',
  READINESS_MIN_COVERAGE: 'a fraction from 0 to 1, e.g. 0.995',
  READINESS_MIN_OCCURRENCES: 'a whole number, 0 or more',
  READINESS_OBSERVATION_HOURS: 'a whole number of hours, more than 0',
  ADMIN_TOKEN: 'a token of at least 16 characters',
  METRICS_TOKEN: 'a token of at least 16 characters',
  LOG_LEVEL: 'debug, info, warn or error',
};

/** Never repeated in a message: only their length is. */
const SECRETS: ReadonlySet<Variable> = new Set<Variable>([
  'UNLEASH_API_TOKEN', 'DOWNSTREAM_SECRET', 'CODAT_EVENTS_SECRET', 'CODAT_LEGACY_SECRET', 'CODAT_LEGACY_AUTH', 'ADMIN_TOKEN', 'METRICS_TOKEN',
]);

/** The value as a message may show it: secrets by their length, a database URL without its password. */
export function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'nothing (unset)';
  if (SECRETS.has(name as Variable)) return `a value of ${value.length} characters (not shown)`;
  if (name === 'DATABASE_URL') return JSON.stringify(value.replace(/^([^:/]+:\/\/[^:@/]*:)[^@]*@/, '$1***@'));
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

type Parsed = Partial<z.output<EnvironmentSchema>>;

/** Problems across variables; each runs when the variables it reads were read, whatever else failed. */
const CROSS_CHECKS: readonly ((env: Parsed, raw: Readonly<Record<string, string | undefined>>) => string | null)[] = [
  // A windowed copy must still find its partner when the held one is rescued, or it would be delivered twice.
  ({ CORRELATION_WINDOW_SECONDS: window, CUTOVER_GRACE_SECONDS: grace }) =>
    window !== undefined && grace !== undefined && window <= grace
      ? `CORRELATION_WINDOW_SECONDS: got ${window}; expected more than CUTOVER_GRACE_SECONDS (${grace}), or a copy rescued after the grace could be delivered twice`
      : null,
  // Unsigned webhooks are for local use: in production they would let anyone inject events.
  ({ ALLOW_UNSIGNED_WEBHOOKS: unsigned, NODE_ENV: nodeEnv }, raw) =>
    unsigned === true && nodeEnv === 'production'
      ? `ALLOW_UNSIGNED_WEBHOOKS: got ${shownValue('ALLOW_UNSIGNED_WEBHOOKS', raw.ALLOW_UNSIGNED_WEBHOOKS)}; expected false or unset when NODE_ENV=production (unsigned webhooks are for local use only)`
      : null,
  // Set but refused is still set: the token it needs is missing either way.
  ({ UNLEASH_API_TOKEN: token }, raw) =>
    (raw.UNLEASH_URL ?? '').trim() !== '' && token === undefined ? `UNLEASH_API_TOKEN: got nothing (unset); expected an Unleash backend token, as UNLEASH_URL is set` : null,
];

export type Config = z.output<EnvironmentSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Every problem at once, one line each: `NAME: got <value>; expected <what>` (and the likely fix when there is one).
 * Each variable is read on its own, so that one refused value hides no other problem, cross-variable ones included.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, schema] of Object.entries(variables) as [Variable, z.ZodType][]) {
    const result = schema.safeParse(env[name]);
    if (result.success) {
      parsed[name] = result.data;
      continue;
    }
    const hints = result.error.issues.filter((issue) => issue.code === 'custom').map((issue) => issue.message);
    problems.push(`${name}: got ${shownValue(name, env[name])}; expected ${EXPECTED[name]}${hints.length > 0 ? ` (${hints.join('; ')})` : ''}`);
  }
  for (const check of CROSS_CHECKS) {
    const problem = check(parsed, env);
    if (problem !== null) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed as Config;
}
