/**
 * Sends webhooks to a running codat-cutover, signed the way Codat's webhook service signs them (Standard
 * Webhooks). Used by `codat-cutover send`, `npm run send-sample` and `npm run demo`.
 *
 * Fresh ids (the default): a sample's ids and times are fixed, so sending it twice is rightly absorbed as a
 * duplicate. Freshening gives every UUID in the bodies of one run a new UUID (the same new one wherever the same
 * old one appears, so a legacy copy and its new-event twin sent together still pair), moves every timestamp by
 * the same amount, so that the newest one is now (rate-limit keys are times: twins keep equal ones), and dates each
 * new event's `generatedDate` now.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { DEV_SECRET_FILE } from '../webhooks/webhook-credentials.js';
import type { Channel } from '../domain/domain-event.js';

export const SAMPLES_DIR = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'codat-samples');

export function sampleNames(dir: string = SAMPLES_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('signed-')).map((f) => f.replace(/\.json$/, '')).sort();
}

export const channelOfSample = (name: string): Channel => (name.startsWith('legacy-') ? 'legacy' : 'events');

export function sampleBody(name: string, dir: string = SAMPLES_DIR): string {
  return JSON.stringify(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')));
}

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
// The seconds part only: fractions and zones are kept as they are, since the shift is in whole seconds.
const DATETIME = /\b(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/g;

const secondsOf = (m: RegExpMatchArray | string[]) =>
  Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;

/** New ids and times for the bodies of one run (see the module comment). */
export function freshen(bodies: readonly string[], nowMs: number): string[] {
  const ids = new Map<string, string>();
  let newest = -Infinity;
  for (const body of bodies) for (const m of body.matchAll(DATETIME)) newest = Math.max(newest, secondsOf(m));
  const shift = Number.isFinite(newest) ? Math.floor(nowMs / 1000) - newest : 0;
  return bodies.map((body) =>
    body
      .replace(UUID, (id) => {
        const key = id.toLowerCase();
        const fresh = ids.get(key) ?? randomUUID();
        ids.set(key, fresh);
        return fresh;
      })
      .replace(DATETIME, (...m: string[]) => new Date((secondsOf(m) + shift) * 1000).toISOString().slice(0, 19)),
  ).map((body) => withGeneratedDate(body, nowMs));
}

/**
 * A new event's `generatedDate` is when it happened; the ledger pairs such a copy around that time (up to two
 * weeks back). The samples' dates are days apart, while their legacy twins arrive now: each one happens now.
 */
function withGeneratedDate(body: string, nowMs: number): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null || !('generatedDate' in parsed)) return body;
  return JSON.stringify({ ...parsed, generatedDate: new Date(nowMs).toISOString() });
}

export interface SecretSource {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly dataDir: string;
}

export function secretFor(channel: Channel, { env, dataDir }: SecretSource): string {
  const configured = (channel === 'events' ? env.CODAT_EVENTS_SECRET : env.CODAT_LEGACY_SECRET)?.split(/[\s,]+/).find((s) => s !== '');
  if (configured) return configured;
  const devSecret = join(dataDir, DEV_SECRET_FILE);
  if (existsSync(devSecret)) return readFileSync(devSecret, 'utf8').trim();
  throw new Error(`no signing secret: set ${channel === 'events' ? 'CODAT_EVENTS_SECRET' : 'CODAT_LEGACY_SECRET'} or start the service once so that it creates ${devSecret}`);
}

export interface SendResult {
  readonly status: number;
  readonly webhookId: string;
  readonly answer: string;
}

/** `now`: the signature's time (the demo's clock runs ahead of the wall clock). */
export async function sendWebhook(url: string, channel: Channel, body: string, secret: string, webhookId = `msg_${randomUUID()}`, now = new Date()): Promise<SendResult> {
  const response = await fetch(`${url}/webhooks/codat/${channel}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(webhookId, now, body),
    },
    body,
  });
  return { status: response.status, webhookId, answer: await response.text() };
}
