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

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Several secrets (rotation) are separated by spaces or commas. */
const secretList = optionalText.pipe(
  z
    .string()
    .optional()
    .transform((value) => (value === undefined ? [] : value.split(/[\s,]+/).filter(Boolean)))
    .pipe(z.array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be whsec_<base64>'))),
);

const environmentSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    DATA_DIR: z.string().default('.data'),
    FLAGS_FILE: z.string().default('flags/unleash-export.json'),
    UNLEASH_URL: optionalText.pipe(z.url().optional()),
    UNLEASH_API_TOKEN: optionalText,
    UNLEASH_APP_NAME: z.string().default('codat-cutover'),
    UNLEASH_ENVIRONMENT: z.string().default('development'),
    UNLEASH_REFRESH_MS: z.coerce.number().int().min(100).default(1000),
    UNLEASH_START_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
    DOWNSTREAM_URL: optionalText.pipe(z.url().optional()),
    DOWNSTREAM_FILE: optionalText,
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
  })
  .superRefine((env, ctx) => {
    // A windowed copy must still find its partner when the held one is rescued, or it would be delivered twice.
    if (env.CORRELATION_WINDOW_SECONDS <= env.CUTOVER_GRACE_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['CORRELATION_WINDOW_SECONDS'],
        message: 'must be greater than CUTOVER_GRACE_SECONDS',
      });
    }
    // Unsigned webhooks are for local use: in production they would let anyone inject events.
    if (env.ALLOW_UNSIGNED_WEBHOOKS && env.NODE_ENV === 'production') {
      ctx.addIssue({ code: 'custom', path: ['ALLOW_UNSIGNED_WEBHOOKS'], message: 'is for local use only and refused when NODE_ENV=production' });
    }
    if (env.UNLEASH_URL && !env.UNLEASH_API_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['UNLEASH_API_TOKEN'], message: 'is required when UNLEASH_URL is set' });
    }
  });

export type Config = z.output<typeof environmentSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  return result.data;
}
