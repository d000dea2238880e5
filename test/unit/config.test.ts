import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration errors that teach (src/config.ts)', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT: got "abc"; expected a whole number from 0 to 65535'],
    [{ PORT: '70000' }, 'PORT: got "70000"; expected a whole number from 0 to 65535'],
    [{ DOWNSTREAM_URL: 'localhost:8080' }, 'DOWNSTREAM_URL: got "localhost:8080"; expected an http:// or https:// URL of the existing system, e.g. http://existing-system:8080/events (no scheme: did you mean http://localhost:8080?)'],
    [{ DOWNSTREAM_URL: 'ftp://files.example/in' }, 'DOWNSTREAM_URL: got "ftp://files.example/in"; expected an http:// or https:// URL of the existing system, e.g. http://existing-system:8080/events (not an http(s) URL with a host)'],
    [{ UNLEASH_URL: 'unleash:4242', UNLEASH_API_TOKEN: 'x' }, 'UNLEASH_URL: got "unleash:4242"; expected an http:// or https:// URL of the Unleash API, e.g. http://unleash:4242/api (no scheme: did you mean http://unleash:4242?)'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: got "verbose"; expected debug, info, warn or error'],
    [{ REQUEST_DEADLINE_MS: '20000' }, 'REQUEST_DEADLINE_MS: got "20000"; expected a whole number of milliseconds from 1000 to 14000 (Codat gives up after 15 s)'],
    [{ DATABASE_URL: 'mysql://app:hunter2@db/cutover' }, 'DATABASE_URL: got "mysql://app:***@db/cutover"; expected a PostgreSQL URL, postgres://user:password@host:5432/database'],
    [{ ADMIN_TOKEN: 'short-secret' }, 'ADMIN_TOKEN: got a value of 12 characters (not shown); expected a token of at least 16 characters'],
    [{ CODAT_EVENTS_SECRET: 'not-a-whsec-secret' }, 'CODAT_EVENTS_SECRET: got a value of 18 characters (not shown); expected one or more whsec_<base64> secrets, separated by spaces or commas'],
    [{ DOWNSTREAM_SECRET: 'plain' }, 'DOWNSTREAM_SECRET: got a value of 5 characters (not shown); expected a Standard Webhooks secret: whsec_ followed by base64'],
    [{ CORRELATION_WINDOW_SECONDS: '60' }, 'CORRELATION_WINDOW_SECONDS: got 60; expected more than CUTOVER_GRACE_SECONDS (120), or a copy rescued after the grace could be delivered twice'],
    [{ UNLEASH_URL: 'http://unleash:4242/api' }, 'UNLEASH_API_TOKEN: got nothing (unset); expected an Unleash backend token, as UNLEASH_URL is set'],
  ] as const)('when %j, then the problem reads %j', (env, problem) => {
    expect(problemsOf(env)).toEqual([problem]);
  });

  it('when several variables are wrong, then every problem is listed at once, the cross-variable ones included', () => {
    const problems = problemsOf({
      PORT: 'abc',
      DOWNSTREAM_URL: 'localhost:8080',
      CORRELATION_WINDOW_SECONDS: '60',
      NODE_ENV: 'production',
      ALLOW_UNSIGNED_WEBHOOKS: 'true',
      UNLEASH_URL: 'http://unleash:4242/api',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'DOWNSTREAM_URL', 'CORRELATION_WINDOW_SECONDS', 'ALLOW_UNSIGNED_WEBHOOKS', 'UNLEASH_API_TOKEN']);
  });

  it('when a secret or a password is refused, then the message never repeats it', () => {
    const message = (() => {
      try {
        loadConfig({ METRICS_TOKEN: 'tiny', UNLEASH_URL: 'unleash:4242', UNLEASH_API_TOKEN: 'default:development.unleash-insecure-api-token', DATABASE_URL: 'postgresql://cutover:s3cr3t-pw@db:5432' });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(message).toContain('METRICS_TOKEN: got a value of 4 characters (not shown)');
    expect(message).not.toContain('tiny');
    expect(message).not.toContain('insecure-api-token');
    expect(message).not.toContain('s3cr3t-pw');
  });

  it('when the values are right, then they are read with their defaults and http(s) URLs pass', () => {
    const config = loadConfig({ DOWNSTREAM_URL: 'https://existing.example/events', UNLEASH_URL: 'http://unleash:4242/api', UNLEASH_API_TOKEN: 't' });
    expect(config.PORT).toBe(3000);
    expect(config.DOWNSTREAM_URL).toBe('https://existing.example/events');
    expect(config.DOWNSTREAM_SECRET).toBeUndefined();
    expect(config.CODAT_EVENTS_SECRET).toEqual([]);
  });
});
