import { describe, expect, it } from 'vitest';
import { COMPANY, CONNECTION, eventsOf, payloadOf, SAMPLE_EXPECTATIONS, sampleRecord, summary, writeEvent } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over write variants the samples do not show', () => {
  it('when `{dataType}.write.successful` carries status TimedOut, then it is write.timedOut with the TimedOut key', () => {
    const body = sampleRecord('event-dataType.write.unsuccessful-invoices-timedout.json');
    body['eventType'] = 'invoices.write.successful';

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual(
      SAMPLE_EXPECTATIONS['event-dataType.write.unsuccessful-invoices-timedout.json'],
    );
  });

  it.each([
    ['invoices.write.successful', 'write.succeeded', 'Success'],
    ['invoices.write.unsuccessful', 'write.failed', 'Failed'],
  ])('when %s has no payload.status, then the status is inferred from the suffix (%s)', (eventType, type, status) => {
    const body = sampleRecord('event-dataType.write.successful-invoices.json');
    body['eventType'] = eventType;
    delete payloadOf(body)['status'];

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([
      writeEvent(type, 'c2f8847d-3047-4619-a157-6d947d8e4a73', 'invoices', status),
    ]);
  });

  it.each(['Pending', 'PartiallyApplied'])(
    'when a write event carries status %s, then it is write.statusChanged (write.pending is legacy-only)',
    (status) => {
      const body = sampleRecord('event-dataType.write.successful-invoices.json');
      payloadOf(body)['status'] = status;

      expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([
        writeEvent('write.statusChanged', 'c2f8847d-3047-4619-a157-6d947d8e4a73', 'invoices', status),
      ]);
    },
  );

  it('when a write event has no operation id, then the key falls back to company, connection, data type and status, windowed', () => {
    const body = sampleRecord('event-dataType.write.unsuccessful-bills-failed.json');
    delete payloadOf(body)['id'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe(`write|${COMPANY}|${CONNECTION}|bills|Failed`);
    expect(event?.keyStrength).toBe('windowed');
  });
});
