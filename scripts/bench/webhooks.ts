/**
 * The load: an endless stream of unique, correctly signed Codat webhooks built from the simulations'
 * occurrence generator, every occurrence as a legacy copy followed by its new-format twin (so the service
 * does real correlation work, and 2 × N webhooks are N occurrences, each delivered once downstream).
 *
 * Signing uses node:crypto's HMAC (checked once against tools/signing.ts, i.e. the
 * `standardwebhooks` library) so the load generator, which shares two cores with the servers,
 * spends as little CPU as possible.
 */
import { createHmac } from 'node:crypto';
import { generateOccurrence, seededRandom, type WireCopy } from '../../tools/occurrence-generator.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';

export const BENCH_SECRET = TEST_SECRET;

export interface OutgoingWebhook {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

export interface WebhookStream {
  next(): OutgoingWebhook;
  /** Webhooks handed out so far, by channel. */
  readonly counts: { legacy: number; events: number };
}

const PATHS = { legacy: '/webhooks/codat/legacy', events: '/webhooks/codat/events' } as const;

export function createSigner(secret: string = BENCH_SECRET) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return (id: string, timestampSeconds: number, body: Buffer | string): string =>
    `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64')}`;
}

/** Fails loudly if the fast signer ever disagrees with the Standard Webhooks library. */
export function checkSignerAgainstLibrary(): void {
  const body = '{"hello":"world"}';
  const timestampMs = 1_700_000_000_000;
  const expected = signedHeaders(body, { id: 'msg_check', timestampMs })['webhook-signature'];
  const actual = createSigner()('msg_check', timestampMs / 1000, Buffer.from(body));
  if (expected !== actual) throw new Error(`bench signer disagrees with standardwebhooks: ${actual} != ${expected}`);
}

export function createWebhookStream(seed = 20_250_101): WebhookStream {
  const random = seededRandom(seed);
  const sign = createSigner();
  const pending: WireCopy[] = [];
  let sequence = 0;
  const counts = { legacy: 0, events: 0 };
  return {
    counts,
    next() {
      while (pending.length === 0) {
        // One-sided kinds (legacy-only, events-only) are left out: a lone shadow copy waits out the grace period.
        const { copies } = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
        if (copies.length === 2) pending.push(...copies);
      }
      const copy = pending.shift() as WireCopy;
      counts[copy.channel] += 1;
      // The generator's ids are random UUIDs already; the sequence makes uniqueness obvious.
      const id = `${copy.webhookId}_${(sequence += 1)}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const body = Buffer.from(copy.body);
      return {
        path: PATHS[copy.channel],
        body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': sign(id, timestamp, body),
        },
      };
    },
  };
}
