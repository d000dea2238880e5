import { describe, expect, it } from 'vitest';
import { COMPANY, CONNECTION, datasetEvent, eventsOf, payloadOf, SAMPLE_EXPECTATIONS, sampleRecord, summary } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over read.completed variants the samples do not show', () => {
  it.each(['read.completed.successful', 'read.completed.unsuccessful', 'lending.read.completed', 'lending.read.completed.unsuccessful'])(
    'when the eventType is %s, then the entries fan out like read.completed and no company.firstSynced is added',
    (eventType) => {
      const body = sampleRecord('event-read.completed.json');
      body['eventType'] = eventType;

      expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual(SAMPLE_EXPECTATIONS['event-read.completed.json']);
    },
  );

  it.each(['read.completed.successful.initial', 'read.completed.initial.successful', 'lending.read.completed.successful.initial'])(
    'when the eventType is %s, then company.firstSynced is added after the per-entry events',
    (eventType) => {
      const body = sampleRecord('event-read.completed.initial.json');
      body['eventType'] = eventType;

      expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual(SAMPLE_EXPECTATIONS['event-read.completed.initial.json']);
    },
  );

  it('when an initial read spans two connections, then one company.firstSynced is made per distinct connection', () => {
    const body = sampleRecord('event-read.completed.initial.json');
    payloadOf(body)['dataTypes'] = [
      { connectionId: 'conn-a', dataType: 'invoices', status: 'Complete' },
      { connectionId: 'conn-b', dataType: 'invoices', status: 'Complete' },
      { connectionId: 'conn-a', dataType: 'bills', status: 'Complete' },
    ];

    const firstSynced = eventsOf(convertEventWebhook(body)).filter((event) => event.type === 'company.firstSynced');
    expect(firstSynced.map((event) => event.correlationKey)).toEqual([
      `company.firstSynced|${COMPANY}|conn-a`,
      `company.firstSynced|${COMPANY}|conn-b`,
    ]);
  });

  it('when a read entry has a data type Codat adds later, then it is carried through as a string', () => {
    const body = sampleRecord('event-read.completed.json');
    payloadOf(body)['dataTypes'] = [{ connectionId: CONNECTION, dataType: 'commerce-subscriptions', recordsModified: false, status: 'Complete' }];

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([datasetEvent('dataset.synced', 'commerce-subscriptions')]);
  });

  it.each([
    ['Cancelled', 'dataset.readEnded'],
    ['NotSupported', 'dataset.readEnded'],
    ['Throttled', 'dataset.readEnded'],
    ['PrerequisiteNotMet', 'dataset.syncFailed'],
    ['QuotaError', 'dataset.syncFailed'],
  ])('when a read entry has status %s, then it becomes %s carrying the status', (status, type) => {
    const body = sampleRecord('event-read.completed.json');
    payloadOf(body)['dataTypes'] = [{ connectionId: CONNECTION, dataType: 'invoices', recordsModified: true, status }];

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([datasetEvent(type, 'invoices', status)]);
  });

  it('when read entries are malformed, then bad entries are skipped and bad fields degrade to absent', () => {
    const body = sampleRecord('event-read.completed.json');
    payloadOf(body)['dataTypes'] = [
      'not an entry',
      { connectionId: 42, dataType: 'invoices', recordsModified: 'true', status: 'Complete' },
      { dataType: 'bills' },
    ];

    expect(eventsOf(convertEventWebhook(body)).map((event) => [event.type, event.correlationKey, event.data])).toEqual([
      ['dataset.synced', `dataset.synced|${COMPANY}|-|invoices`, { dataType: 'invoices' }],
      ['dataset.readEnded', `dataset.readEnded|${COMPANY}|-|bills`, { dataType: 'bills', status: null }],
    ]);
  });
});
