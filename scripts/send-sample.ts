/**
 * Sends Codat sample webhooks, signed the way Codat's webhook service signs them, to a running
 * codat-cutover. Codat's own migration guide has you "send test events" before you switch.
 *
 *   npm run send-sample                          # lists the samples
 *   npm run send-sample -- legacy-DataSyncCompleted event-read.completed
 *   npm run send-sample -- --all                 # every sample, in name order
 *   npm run send-sample -- --file my-body.json --channel events
 *
 * The secret is CODAT_EVENTS_SECRET / CODAT_LEGACY_SECRET when set, else the development secret
 * the service generated in DATA_DIR (default .data). The target is SERVICE_URL (default
 * http://127.0.0.1:${PORT:-3000}). Each send gets a fresh webhook-id unless --id is given.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { DEV_SECRET_FILE } from '../src/auth/webhook-credentials.js';

const SAMPLES = join(import.meta.dirname, '..', 'test', 'fixtures', 'codat-samples');

function secretFor(channel: 'legacy' | 'events'): string {
  const configured = (channel === 'events' ? process.env.CODAT_EVENTS_SECRET : process.env.CODAT_LEGACY_SECRET)?.split(/[\s,]+/)[0];
  if (configured) return configured;
  const devSecret = join(process.env.DATA_DIR ?? '.data', DEV_SECRET_FILE);
  if (existsSync(devSecret)) return readFileSync(devSecret, 'utf8').trim();
  throw new Error(`no secret: set ${channel === 'events' ? 'CODAT_EVENTS_SECRET' : 'CODAT_LEGACY_SECRET'} or start the service once so that it creates ${devSecret}`);
}

async function send(url: string, channel: 'legacy' | 'events', body: string, id: string | undefined): Promise<void> {
  const webhookId = id ?? `msg_${randomUUID()}`;
  const now = new Date();
  const response = await fetch(`${url}/webhooks/codat/${channel}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secretFor(channel)).sign(webhookId, now, body),
    },
    body,
  });
  console.log(`${response.status} ${channel.padEnd(6)} ${webhookId} ${await response.text()}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { all: { type: 'boolean' }, file: { type: 'string' }, channel: { type: 'string' }, id: { type: 'string' } },
  });
  const url = process.env.SERVICE_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`;
  const names = readdirSync(SAMPLES).filter((f) => f.endsWith('.json') && !f.startsWith('signed-')).map((f) => f.replace(/\.json$/, '')).sort();
  if (values.file) {
    const channel = values.channel === 'legacy' ? 'legacy' : 'events';
    await send(url, channel, readFileSync(values.file, 'utf8'), values.id);
    return;
  }
  const chosen = values.all ? names : positionals;
  if (chosen.length === 0) {
    console.log(`Samples (send with: npm run send-sample -- <name> …, or --all):\n  ${names.join('\n  ')}`);
    return;
  }
  for (const name of chosen) {
    if (!names.includes(name)) throw new Error(`unknown sample ${name}`);
    const body = JSON.stringify(JSON.parse(readFileSync(join(SAMPLES, `${name}.json`), 'utf8')));
    await send(url, name.startsWith('legacy-') ? 'legacy' : 'events', body, values.id);
  }
}

main().catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error));
  process.exit(1);
});
