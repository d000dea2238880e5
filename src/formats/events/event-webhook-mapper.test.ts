import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conversion, DomainEvent, FieldValue, KeyStrength } from '../../domain/domain-event.js';
import { isDomainEventType } from '../../domain/domain-event.js';
import { parseEventType } from './event-types.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

const SAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'codat-samples');

const COMPANY = '8a210b68-6988-11ed-a1eb-0242ac120002';
const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
const REPORT_ID = 'bb42ce7e-720a-4ac5-b640-f24f53ff47c8';

function loadSample(file: string): unknown {
  return JSON.parse(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as unknown;
}

/** A deep copy of a sample as a plain record, for building documented variants the samples lack. */
function sampleRecord(file: string): Record<string, unknown> {
  const sample = loadSample(file);
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw new Error(`${file} is not an object`);
  return sample as Record<string, unknown>;
}

function payloadOf(body: Record<string, unknown>): Record<string, unknown> {
  return body['payload'] as Record<string, unknown>;
}

function eventsOf(conversion: Conversion): readonly DomainEvent[] {
  if (conversion.kind !== 'converted') throw new Error(`expected converted, got ${conversion.kind}: ${conversion.reason}`);
  return conversion.events;
}

interface Expected {
  readonly type: string;
  readonly key: string;
  readonly strength: KeyStrength;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: Record<string, FieldValue>;
}

function summary(event: DomainEvent): Expected {
  return {
    type: event.type,
    key: event.correlationKey,
    strength: event.keyStrength,
    companyId: event.companyId,
    connectionId: event.connectionId,
    data: { ...event.data },
  };
}

const connectionEvent = (type: string, data: Record<string, FieldValue>): Expected => ({
  type,
  key: `${type}|${COMPANY}|${CONNECTION}`,
  strength: 'windowed',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data,
});

const datasetEvent = (type: string, dataType: string, status?: string): Expected => ({
  type,
  key: `${type}|${COMPANY}|${CONNECTION}|${dataType}`,
  strength: 'windowed',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data: status === undefined ? { dataType } : { dataType, status },
});

const writeEvent = (type: string, operation: string, dataType: string, status: string): Expected => ({
  type,
  key: `write|${operation}|${status}`,
  strength: 'strong',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data: { dataType, status },
});

const reportEvent = (type: string, reportType: string): Expected => ({
  type,
  key: `${type}|${reportType}|${REPORT_ID}`,
  strength: 'strong',
  companyId: COMPANY,
  connectionId: null,
  data: { reportType },
});

/** Every `event-*.json` sample, with the domain events docs/domain-mapping.md gives for it. */
const SAMPLE_EXPECTATIONS: Record<string, readonly Expected[]> = {
  'event-bankFeeds.sourceAccount.connected.json': [
    {
      type: 'bankFeeds.sourceAccountConnected',
      key: `bankFeeds.sourceAccountConnected|${COMPANY}|${CONNECTION}|acc-002`,
      strength: 'windowed',
      companyId: COMPANY,
      connectionId: CONNECTION,
      data: { sourceAccountId: 'acc-002', status: 'connected' },
    },
  ],
  'event-client.rateLimit.reached.json': [
    {
      type: 'client.rateLimitReached',
      key: 'client.rateLimitReached|2024-11-05T00:00:00.000Z',
      strength: 'strong',
      companyId: null,
      connectionId: null,
      data: { dailyQuota: 12000 },
    },
  ],
  'event-client.rateLimit.reset.json': [
    {
      type: 'client.rateLimitReset',
      key: 'client.rateLimitReset|2024-11-06T00:00:00.000Z',
      strength: 'strong',
      companyId: null,
      connectionId: null,
      data: { dailyQuota: 12000, quotaRemaining: 12000 },
    },
  ],
  'event-company.created.json': [
    { type: 'company.created', key: `company.created|${COMPANY}`, strength: 'strong', companyId: COMPANY, connectionId: null, data: { name: 'Toft stores' } },
  ],
  'event-company.deleted.json': [
    { type: 'company.deleted', key: `company.deleted|${COMPANY}`, strength: 'strong', companyId: COMPANY, connectionId: null, data: { name: 'Toft stores' } },
  ],
  'event-company.product.added.json': [
    {
      type: 'company.productAdded',
      key: `company.productAdded|${COMPANY}|lending`,
      strength: 'windowed',
      companyId: COMPANY,
      connectionId: null,
      data: { productId: 'lending' },
    },
  ],
  'event-company.product.removed.json': [
    {
      type: 'company.productRemoved',
      key: `company.productRemoved|${COMPANY}|lending`,
      strength: 'windowed',
      companyId: COMPANY,
      connectionId: null,
      data: { productId: 'lending' },
    },
  ],
  'event-connection.connected.json': [connectionEvent('connection.connected', { status: 'Linked', integrationKey: 'gbol' })],
  'event-connection.created.json': [connectionEvent('connection.created', { status: 'PendingAuth', integrationKey: 'gbol' })],
  'event-connection.deleted.json': [
    { type: 'connection.deleted', key: `connection.deleted|${COMPANY}|${CONNECTION}`, strength: 'windowed', companyId: COMPANY, connectionId: CONNECTION, data: {} },
  ],
  'event-connection.disconnected.json': [connectionEvent('connection.disconnected', { status: 'Deauthorized', integrationKey: 'gbol' })],
  'event-connection.failed.json': [connectionEvent('connection.failed', { status: 'PendingAuth' })],
  'event-connection.reconnected.json': [connectionEvent('connection.reconnected', { status: 'Linked', integrationKey: 'gbol' })],
  'event-dataType.write.successful-invoices.json': [
    writeEvent('write.succeeded', 'c2f8847d-3047-4619-a157-6d947d8e4a73', 'invoices', 'Success'),
  ],
  'event-dataType.write.unsuccessful-bills-failed.json': [
    writeEvent('write.failed', 'd7e1a2b3-4c5d-4e6f-8a9b-0c1d2e3f4a5b', 'bills', 'Failed'),
  ],
  'event-dataType.write.unsuccessful-invoices-timedout.json': [
    writeEvent('write.timedOut', 'e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b', 'invoices', 'TimedOut'),
  ],
  'event-expenses.sync.successful.json': [
    {
      type: 'expenses.syncFinished',
      key: 'expenses.sync|321363b4-efa9-4fbc-b71c-0b58d62f3248',
      strength: 'strong',
      companyId: COMPANY,
      connectionId: null,
      data: { outcome: 'succeeded' },
    },
  ],
  'event-expenses.sync.unsuccessful.json': [
    {
      type: 'expenses.syncFinished',
      key: 'expenses.sync|3bead2a1-1b3d-4d90-8077-cddc5ca68b01',
      strength: 'strong',
      companyId: COMPANY,
      connectionId: null,
      data: { outcome: 'failed' },
    },
  ],
  'event-read.completed.initial.json': [
    datasetEvent('dataset.synced', 'chartOfAccounts'),
    datasetEvent('dataset.synced', 'invoices'),
    datasetEvent('dataset.syncFailed', 'bills', 'FetchError'),
    {
      type: 'company.firstSynced',
      key: `company.firstSynced|${COMPANY}|${CONNECTION}`,
      strength: 'windowed',
      companyId: COMPANY,
      connectionId: CONNECTION,
      data: {},
    },
  ],
  'event-read.completed.json': [
    datasetEvent('dataset.synced', 'invoices'),
    datasetEvent('dataset.changed', 'invoices'),
    datasetEvent('dataset.synced', 'creditNotes'),
    datasetEvent('dataset.syncFailed', 'payments', 'ProcessingError'),
  ],
  'event-read.completed.unsuccessful.json': [
    datasetEvent('dataset.synced', 'invoices'),
    datasetEvent('dataset.syncFailed', 'bills', 'AuthError'),
  ],
  'event-reports.categorizedBankStatement.generate.successful.json': [reportEvent('report.generated', 'categorizedBankStatement')],
  'event-reports.categorizedBankStatement.generate.unsuccessful.json': [
    reportEvent('report.generationFailed', 'categorizedBankStatement'),
  ],
  'event-reports.creditModel.generate.successful.json': [reportEvent('report.generated', 'creditModel')],
  'event-reports.spendAnalysis.generate.successful.json': [reportEvent('report.generated', 'spendAnalysis')],
  'event-reports.spendAnalysis.generate.unsuccessful.json': [reportEvent('report.generationFailed', 'spendAnalysis')],
};

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

describe('convertEventWebhook over documented variants the samples do not show', () => {
  it('when a report event uses the singular `report.` prefix, then it converts like `reports.`', () => {
    const body = sampleRecord('event-reports.categorizedBankStatement.generate.successful.json');
    body['eventType'] = 'report.categorizedBankStatement.generate.successful';

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([reportEvent('report.generated', 'categorizedBankStatement')]);
  });

  it('when a report has no id, then the key falls back to company and report type, windowed', () => {
    const body = sampleRecord('event-reports.creditModel.generate.successful.json');
    delete payloadOf(body)['id'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe(`report.generated|${COMPANY}|creditModel`);
    expect(event?.keyStrength).toBe('windowed');
  });

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

  it('when the envelope says `type` instead of `eventType`, then `type` is used', () => {
    const body = sampleRecord('event-connection.connected.json');
    body['type'] = body['eventType'];
    delete body['eventType'];

    const conversion = convertEventWebhook(body);
    expect(conversion.source.type).toBe('connection.connected');
    expect(eventsOf(conversion).map(summary)).toEqual(SAMPLE_EXPECTATIONS['event-connection.connected.json']);
  });

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

  it('when an expenses sync has no syncId, then the key is `-`, windowed', () => {
    const body = sampleRecord('event-expenses.sync.successful.json');
    delete payloadOf(body)['syncId'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe('expenses.sync|-');
    expect(event?.keyStrength).toBe('windowed');
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
