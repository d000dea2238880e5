import { describe, expect, it } from 'vitest';
import { eventsOf, payloadOf, sampleRecord } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over expenses sync variants the samples do not show', () => {
  it('when an expenses sync has no syncId, then the key is `-`, windowed', () => {
    const body = sampleRecord('event-expenses.sync.successful.json');
    delete payloadOf(body)['syncId'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe('expenses.sync|-');
    expect(event?.keyStrength).toBe('windowed');
  });
});
