import { describe, expect, it } from 'vitest';
import { COMPANY, CONNECTION, eventsOf } from './event-samples.fixtures.js';
import { parseEventType } from './event-types.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('parseEventType', () => {
  it.each([
    ['read.completed', { kind: 'read.completed', outcome: null, initial: false, product: null }],
    ['read.completed.initial', { kind: 'read.completed', outcome: null, initial: true, product: null }],
    ['read.completed.initial.unsuccessful', { kind: 'read.completed', outcome: 'unsuccessful', initial: true, product: null }],
    ['lending.read.completed.successful.initial', { kind: 'read.completed', outcome: 'successful', initial: true, product: 'lending' }],
    ['bills.write.unsuccessful', { kind: 'write', dataType: 'bills', outcome: 'unsuccessful' }],
    ['reports.creditModel.generate.unsuccessful', { kind: 'report', reportType: 'creditModel', outcome: 'unsuccessful' }],
    ['report.categorizedBankStatement.generate.successful', { kind: 'report', reportType: 'categorizedBankStatement', outcome: 'successful' }],
    ['client.rateLimit.reset', { kind: 'client.rateLimit', action: 'reset' }],
  ])('when the eventType is %s, then it parses to the matching kind', (eventType, kind) => {
    expect(parseEventType(eventType)).toEqual(kind);
  });

  it.each([
    'read.completed.initial.initial',
    'read.completed.successful.unsuccessful',
    'read.completed.',
    'a.b.read.completed',
    '.write.successful',
    'invoices.write.pending',
    'reports.generate.successful',
    'Connection.Created',
    'connection.created ',
    'constructor',
    '',
  ])('when the eventType is %j, then it is unknown', (eventType) => {
    expect(parseEventType(eventType)).toEqual({ kind: 'unknown' });
  });
});

describe('write event types as Codat\'s guides spell them', () => {
  it.each([
    ['bill.write.successful', 'bills'],
    ['invoice.write.unsuccessful', 'invoices'],
    ['bills.write.successful', 'bills'],
    ['chartOfAccounts.write.successful', 'chartOfAccounts'],
    ['widget.write.successful', 'widget'],
  ])('when the event type is %s, then the write is of %s', (eventType, dataType) => {
    const body = {
      id: 'e1', eventType, generatedDate: '2024-11-04T12:00:00Z',
      payload: { id: 'push-1', referenceCompany: { id: COMPANY }, connectionId: CONNECTION, status: 'Success' },
    };
    expect(eventsOf(convertEventWebhook(body))[0]?.data['dataType']).toBe(dataType);
  });
});
