import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Standard Webhooks headers for a body, as Codat's (Svix) service sends them. */
export function signedHeaders(body: string, options: { secret?: string; id?: string; timestampMs?: number } = {}): Record<string, string> {
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = new Date(options.timestampMs ?? Date.now());
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(options.secret ?? TEST_SECRET).sign(id, timestamp, body),
  };
}
