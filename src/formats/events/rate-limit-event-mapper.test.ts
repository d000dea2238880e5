import { describe, expect, it } from 'vitest';
import { eventsOf, payloadOf, sampleRecord } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over rate-limit variants the samples do not show', () => {
  it('when a rate-limit expiry has seven fraction digits, then the key holds it ISO-normalised', () => {
    const body = sampleRecord('event-client.rateLimit.reached.json');
    payloadOf(body)['expiryDate'] = '2024-11-05T00:00:00.0000000Z';

    expect(eventsOf(convertEventWebhook(body))[0]?.correlationKey).toBe('client.rateLimitReached|2024-11-05T00:00:00.000Z');
  });

  it('when a rate-limit expiry cannot be parsed, then the key keeps the raw string', () => {
    const body = sampleRecord('event-client.rateLimit.reset.json');
    payloadOf(body)['expiryDate'] = '2024-09-01T23:59:99Z';

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe('client.rateLimitReset|2024-09-01T23:59:99Z');
    expect(event?.keyStrength).toBe('strong');
  });

  it('when a rate-limit event has no expiry, then the key is `-`, windowed', () => {
    const body = sampleRecord('event-client.rateLimit.reached.json');
    delete payloadOf(body)['expiryDate'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe('client.rateLimitReached|-');
    expect(event?.keyStrength).toBe('windowed');
  });
});
