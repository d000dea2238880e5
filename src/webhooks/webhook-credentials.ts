/**
 * Secure by default: an endpoint with no secret refuses traffic unless the operator explicitly
 * allows unsigned webhooks. Outside production, a development secret is generated once into the
 * data folder so that a fresh `npm start` works with `npm run send-sample`, still signed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ensureWritableDirectory } from '../writable-directory.js';
import type { EndpointCredentials } from './webhook-authenticator.js';

export const DEV_SECRET_FILE = 'dev-webhook-secret';

export interface ResolvedCredentials {
  readonly legacy: EndpointCredentials;
  readonly events: EndpointCredentials;
  readonly warnings: readonly string[];
}

export function readOrCreateDevSecret(dataDir: string): string {
  const path = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  ensureWritableDirectory('DATA_DIR', dataDir, `the development webhook secret (${DEV_SECRET_FILE})`);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function resolveWebhookCredentials(config: Config): ResolvedCredentials {
  const warnings: string[] = [];
  const allowUnsigned = config.ALLOW_UNSIGNED_WEBHOOKS;
  let legacy: EndpointCredentials = { secrets: config.CODAT_LEGACY_SECRET, authorization: config.CODAT_LEGACY_AUTH, allowUnsigned };
  let events: EndpointCredentials = { secrets: config.CODAT_EVENTS_SECRET, allowUnsigned };
  const legacyMissing = legacy.secrets.length === 0 && legacy.authorization === undefined;
  const eventsMissing = events.secrets.length === 0;

  if ((legacyMissing || eventsMissing) && !allowUnsigned && config.NODE_ENV !== 'production') {
    const devSecret = readOrCreateDevSecret(config.DATA_DIR);
    if (legacyMissing) legacy = { ...legacy, secrets: [devSecret] };
    if (eventsMissing) events = { ...events, secrets: [devSecret] };
    warnings.push(
      `development secret in ${join(config.DATA_DIR, DEV_SECRET_FILE)} signs the ${[legacyMissing && 'legacy', eventsMissing && 'events'].filter(Boolean).join(' and ')} endpoint: set CODAT_EVENTS_SECRET / CODAT_LEGACY_AUTH / CODAT_LEGACY_SECRET for real traffic`,
    );
  } else {
    if (legacyMissing) warnings.push(allowUnsigned ? 'legacy endpoint accepts UNSIGNED webhooks (ALLOW_UNSIGNED_WEBHOOKS)' : 'legacy endpoint has no credentials configured: it refuses all traffic');
    if (eventsMissing) warnings.push(allowUnsigned ? 'events endpoint accepts UNSIGNED webhooks (ALLOW_UNSIGNED_WEBHOOKS)' : 'events endpoint has no secret configured: it refuses all traffic');
  }
  return { legacy, events, warnings };
}
