import { describe, expect, it } from 'vitest';
import { COMPANY, CONNECTION, eventsOf, summary } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over bank feed variants the samples do not show', () => {
  it('when a bank feed body has the pre-2025 shape (companyId, connectionId, bankAccount), then it converts like the current shape', () => {
    const body = {
      id: '5d0c2b5e-1a7f-4c39-9f0e-000000000019',
      eventType: 'bankFeeds.sourceAccount.disconnected',
      generatedDate: '2024-11-04T10:22:45.123Z',
      payload: {
        companyId: COMPANY,
        connectionId: CONNECTION,
        bankAccount: { id: 'acc-002', accountName: 'Business Current Account', status: 'disconnected' },
      },
    };

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([
      {
        type: 'bankFeeds.sourceAccountDisconnected',
        key: `bankFeeds.sourceAccountDisconnected|${COMPANY}|${CONNECTION}|acc-002`,
        strength: 'windowed',
        companyId: COMPANY,
        connectionId: CONNECTION,
        data: { sourceAccountId: 'acc-002', status: 'disconnected' },
      },
    ]);
  });
});
