import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDomainEventType } from '../../domain/domain-event.js';
import {
  COMPANY,
  CONNECTION,
  SAMPLE_EXPECTATIONS,
  SAMPLES_DIR,
  connectionEvent,
  eventsOf,
  loadSample,
  payloadOf,
  sampleRecord,
  summary,
} from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over the Codat samples', () => {
  it('when the samples folder is listed, then every event-*.json sample has an expectation here', () => {
    const files = readdirSync(SAMPLES_DIR).filter((file) => file.startsWith('event-') && file.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(SAMPLE_EXPECTATIONS).sort());
  });

  it.each(Object.entries(SAMPLE_EXPECTATIONS))('when %s is converted, then it yields the mapped domain events', (file, expected) => {
    const body = sampleRecord(file);
    const conversion = convertEventWebhook(body);

    expect(conversion.source).toEqual({ channel: 'events', id: body['id'], type: body['eventType'] });
    const events = eventsOf(conversion);
    expect(events.map(summary)).toEqual(expected);
    for (const event of events) {
      expect(isDomainEventType(event.type)).toBe(true);
      expect(event.occurredAt).toBe(body['generatedDate']);
    }
  });
});

describe('convertEventWebhook over envelope variants the samples do not show', () => {
  it('when the envelope says `type` instead of `eventType`, then `type` is used', () => {
    const body = sampleRecord('event-connection.connected.json');
    body['type'] = body['eventType'];
    delete body['eventType'];

    const conversion = convertEventWebhook(body);
    expect(conversion.source.type).toBe('connection.connected');
    expect(eventsOf(conversion).map(summary)).toEqual(SAMPLE_EXPECTATIONS['event-connection.connected.json']);
  });

  it('when an optional field has the wrong type, then only that field degrades to absent', () => {
    const body = sampleRecord('event-connection.connected.json');
    const connection = payloadOf(body)['connection'] as Record<string, unknown>;
    connection['integrationKey'] = 42;
    connection['lastSync'] = { not: 'a date' };
    body['generatedDate'] = 1730715765;

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.data).toEqual({ status: 'Linked', integrationKey: null });
    expect(event?.occurredAt).toBeNull();
  });

  it('when generatedDate has Codat’s seven fraction digits, then occurredAt keeps the raw string', () => {
    const body = sampleRecord('event-connection.created.json');
    body['generatedDate'] = '2022-10-27T10:22:43.6464237Z';

    expect(eventsOf(convertEventWebhook(body))[0]?.occurredAt).toBe('2022-10-27T10:22:43.6464237Z');
  });
});

describe('convertEventWebhook for bodies it cannot convert', () => {
  it.each([
    ['totally.new.event', 'unknown_event_type:totally.new.event'],
    ['read.completed.partial', 'unknown_event_type:read.completed.partial'],
    ['DataSyncCompleted', 'unknown_event_type:DataSyncCompleted'],
    ['__proto__', 'unknown_event_type:__proto__'],
  ])('when the eventType is %s, then the body is unrecognised', (eventType, reason) => {
    const body = { id: 'evt-1', eventType, generatedDate: '2024-11-04T10:22:45Z', payload: {} };

    expect(convertEventWebhook(body)).toEqual({ kind: 'unrecognised', source: { channel: 'events', id: 'evt-1', type: eventType }, reason });
  });

  it.each([
    ['empty', []],
    ['missing', undefined],
    ['unreadable entries', ['x', 3, null]],
  ])('when a read.completed has %s dataTypes, then it is invalid (no_data_types) and kept in quarantine', (_label, dataTypes) => {
    const body = { id: 'evt-2', eventType: 'read.completed', payload: { referenceCompany: { id: 'c-1' }, dataTypes } };
    expect(convertEventWebhook(body)).toMatchObject({ kind: 'invalid', reason: 'no_data_types' });
  });

  it('when the body has no eventType nor type, then it is unrecognised', () => {
    expect(convertEventWebhook({ id: 'evt-1', payload: {} })).toEqual({
      kind: 'unrecognised',
      source: { channel: 'events', id: 'evt-1', type: null },
      reason: 'missing_event_type',
    });
  });

  it.each([
    ['an array', []],
    ['a string', 'read.completed'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
  ])('when the body is %s, then it is invalid', (_label, body) => {
    expect(convertEventWebhook(body)).toEqual({
      kind: 'invalid',
      source: { channel: 'events', id: null, type: null },
      reason: 'not_a_json_object',
    });
  });

  it.each([
    ['absent', undefined],
    ['null', null],
    ['an array', [{ referenceCompany: { id: COMPANY } }]],
    ['a string', 'payload'],
  ])('when the payload of a known type is %s, then the body is invalid (missing_payload)', (_label, payload) => {
    const body = { id: 'evt-1', eventType: 'connection.created', payload };

    expect(convertEventWebhook(body)).toMatchObject({ kind: 'invalid', reason: 'missing_payload' });
  });

  it.each([
    'event-connection.created.json',
    'event-read.completed.json',
    'event-dataType.write.successful-invoices.json',
    'event-expenses.sync.successful.json',
    'event-bankFeeds.sourceAccount.connected.json',
    'event-reports.creditModel.generate.successful.json',
  ])('when %s has no referenceCompany, then the body is invalid (missing_company_id)', (file) => {
    const body = sampleRecord(file);
    delete payloadOf(body)['referenceCompany'];

    expect(convertEventWebhook(body)).toMatchObject({ kind: 'invalid', reason: 'missing_company_id' });
  });

  it.each(['event-company.created.json', 'event-company.product.added.json'])(
    'when %s has no payload.id, then the body is invalid (missing_company_id)',
    (file) => {
      const body = sampleRecord(file);
      delete payloadOf(body)['id'];

      expect(convertEventWebhook(body)).toMatchObject({ kind: 'invalid', reason: 'missing_company_id' });
    },
  );

  it('when a client rate-limit event has no company, then it still converts', () => {
    expect(convertEventWebhook(loadSample('event-client.rateLimit.reached.json')).kind).toBe('converted');
  });
});

describe('convertEventWebhook against hostile input', () => {
  it('when payload objects hold `__proto__` keys, then Object.prototype is not polluted and data holds no extra keys', () => {
    const raw = `{
      "id": "evt-1", "eventType": "connection.connected", "generatedDate": "2024-11-04T10:22:45Z",
      "__proto__": { "polluted": "envelope" },
      "payload": {
        "__proto__": { "polluted": "payload" },
        "referenceCompany": { "id": "${COMPANY}", "__proto__": { "polluted": "company" }, "tags": { "__proto__": { "polluted": "tags" } } },
        "connection": { "id": "${CONNECTION}", "status": "Linked", "__proto__": { "polluted": "connection", "integrationKey": "evil" } }
      }
    }`;

    const events = eventsOf(convertEventWebhook(JSON.parse(raw) as unknown));

    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
    expect(events.map(summary)).toEqual([connectionEvent('connection.connected', { status: 'Linked', integrationKey: null })]);
    expect(Object.getPrototypeOf(events[0]?.data)).toBe(Object.prototype);
  });

  it('when read entries hold `__proto__` as values, then they are plain strings in keys and data', () => {
    const body = sampleRecord('event-read.completed.json');
    payloadOf(body)['dataTypes'] = [{ connectionId: '__proto__', dataType: '__proto__', status: 'Complete' }];

    expect(eventsOf(convertEventWebhook(body))[0]?.correlationKey).toBe(`dataset.synced|${COMPANY}|__proto__|__proto__`);
  });

  it('when arbitrary values are converted, then the mapper never throws and always returns a conversion', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withObjectString: true }), (body) => {
        const conversion = convertEventWebhook(body);
        expect(['converted', 'unrecognised', 'invalid']).toContain(conversion.kind);
      }),
      { numRuns: 500 },
    );
  });

  it('when arbitrary payloads arrive under known event types, then the mapper never throws', () => {
    const eventTypes = [
      ...Object.keys(SAMPLE_EXPECTATIONS).map((file) => (sampleRecord(file)['eventType'] as string)),
      'read.completed.successful.initial',
      'report.x.generate.unsuccessful',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...eventTypes), fc.jsonValue(), (eventType, payload) => {
        const conversion = convertEventWebhook({ eventType, payload });
        expect(conversion.source.type).toBe(eventType);
      }),
      { numRuns: 500 },
    );
  });
});
