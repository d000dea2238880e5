import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, it, expect } from 'vitest';
import {
  isDomainEventType,
  type Conversion,
  type DomainEvent,
  type DomainEventType,
  type FieldValue,
  type KeyStrength,
} from '../../domain/domain-event.js';
import {
  LEGACY_RULE_NAMES,
  lookupLegacyRule,
  normaliseRuleType,
  type LegacyRule,
} from './legacy-rule-types.js';
import { convertLegacyWebhook, isLegacyShapedBody } from './legacy-webhook-mapper.js';

const SAMPLES_DIR = fileURLToPath(new URL('../../../test/fixtures/codat-samples/', import.meta.url));

const COMPANY = '8a210b68-6988-11ed-a1eb-0242ac120002';
const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
const ALERT = '0f5b7c1e-2d3a-4b8e-9c61-7a2f4e9d1bff';
const PUSH_KEY = 'c2f8847d-3047-4619-a157-6d947d8e4a73';

type Body = Record<string, unknown>;

function loadSample(file: string): Body {
  return JSON.parse(readFileSync(`${SAMPLES_DIR}${file}`, 'utf8')) as Body;
}

/** A company-scoped legacy body with the usual top-level fields. */
function body(ruleType: string, data?: Body, overrides: Body = {}): Body {
  return {
    AlertId: ALERT,
    RuleType: ruleType,
    RuleId: '70af3071-65d9-4ec3-b3cb-5283e8d55dac',
    ClientId: 'bae71d36-ff47-420a-b4a6-f8c9ddf41140',
    ClientName: 'Bank of Dave',
    CompanyId: COMPANY,
    DataConnectionId: CONNECTION,
    Message: 'never parsed',
    ...(data === undefined ? {} : { Data: data }),
    ...overrides,
  };
}

function without(source: Body, ...keys: string[]): Body {
  return Object.fromEntries(Object.entries(source).filter(([key]) => !keys.includes(key)));
}

/** The single domain event of a converted body (every legacy rule yields exactly one). */
function onlyEvent(conversion: Conversion): DomainEvent {
  expect(conversion.kind).toBe('converted');
  if (conversion.kind !== 'converted') throw new Error(`expected converted, got ${conversion.kind}`);
  expect(conversion.events).toHaveLength(1);
  const [event] = conversion.events;
  if (event === undefined) throw new Error('no event');
  return event;
}

function convertOne(input: unknown): DomainEvent {
  return onlyEvent(convertLegacyWebhook(input));
}

interface SampleExpectation {
  readonly file: string;
  readonly type: DomainEventType;
  readonly key: string;
  readonly strength: KeyStrength;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: Record<string, FieldValue>;
}

const SAMPLE_EXPECTATIONS: readonly SampleExpectation[] = [
  {
    file: 'legacy-AccountCategoriesUpdated.json',
    type: 'company.accountCategoriesUpdated',
    key: `company.accountCategoriesUpdated|${COMPANY}|${CONNECTION}`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { modifiedDate: '2024-11-04T14:15:22Z' },
  },
  {
    file: 'legacy-ClientRateLimitReached.json',
    type: 'client.rateLimitReached',
    key: 'client.rateLimitReached|2024-11-05T00:00:00.000Z',
    strength: 'strong',
    companyId: null,
    connectionId: null,
    data: { dailyQuota: 12000 },
  },
  {
    file: 'legacy-ClientRateLimitReset.json',
    type: 'client.rateLimitReset',
    key: 'client.rateLimitReset|2024-11-06T00:00:00.000Z',
    strength: 'strong',
    companyId: null,
    connectionId: null,
    data: { dailyQuota: 12000, quotaRemaining: 12000 },
  },
  {
    file: 'legacy-DataConnectionStatusChanged.json',
    type: 'connection.connected',
    key: `connection.connected|${COMPANY}|${CONNECTION}`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { status: 'Linked', integrationKey: 'gbol' },
  },
  {
    file: 'legacy-DataSyncCompleted.json',
    type: 'dataset.synced',
    key: `dataset.synced|${COMPANY}|${CONNECTION}|invoices`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'invoices' },
  },
  {
    file: 'legacy-DataSyncStatusChangedToError.json',
    type: 'dataset.syncFailed',
    key: `dataset.syncFailed|${COMPANY}|${CONNECTION}|payments`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'payments', status: 'ProcessingError' },
  },
  {
    file: 'legacy-DatasetDataChanged.json',
    type: 'dataset.changed',
    key: `dataset.changed|${COMPANY}|${CONNECTION}|invoices`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'invoices' },
  },
  {
    file: 'legacy-NewCompanySynchronized.json',
    type: 'company.firstSynced',
    key: `company.firstSynced|${COMPANY}|${CONNECTION}`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: {},
  },
  {
    file: 'legacy-PushOperationStatusChanged-Failed.json',
    type: 'write.failed',
    key: 'write|d7e1a2b3-4c5d-4e6f-8a9b-0c1d2e3f4a5b|Failed',
    strength: 'strong',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'bills', status: 'Failed' },
  },
  {
    file: 'legacy-PushOperationStatusChanged.json',
    type: 'write.succeeded',
    key: `write|${PUSH_KEY}|Success`,
    strength: 'strong',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'invoices', status: 'Success' },
  },
  {
    file: 'legacy-PushOperationTimedOut.json',
    type: 'write.timedOut',
    key: 'write|e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b|TimedOut',
    strength: 'strong',
    companyId: COMPANY,
    connectionId: CONNECTION,
    data: { dataType: 'invoices', status: 'TimedOut' },
  },
  {
    file: 'legacy-SyncCompleted.json',
    type: 'expenses.syncFinished',
    key: 'expenses.sync|321363b4-efa9-4fbc-b71c-0b58d62f3248',
    strength: 'strong',
    companyId: COMPANY,
    connectionId: null,
    data: { outcome: 'completed' },
  },
  {
    file: 'legacy-SyncConnectionDeleted.json',
    type: 'connection.deleted',
    key: `connection.deleted|${COMPANY}|-`,
    strength: 'windowed',
    companyId: COMPANY,
    connectionId: null,
    data: {},
  },
  {
    file: 'legacy-SyncFailed.json',
    type: 'expenses.syncFinished',
    key: 'expenses.sync|3bead2a1-1b3d-4d90-8077-cddc5ca68b01',
    strength: 'strong',
    companyId: COMPANY,
    connectionId: null,
    data: { outcome: 'failed' },
  },
  {
    file: 'legacy-SyncStarted.json',
    type: 'expenses.syncStarted',
    key: 'expenses.syncStarted|321363b4-efa9-4fbc-b71c-0b58d62f3248',
    strength: 'strong',
    companyId: COMPANY,
    connectionId: null,
    data: { syncType: 'Expense' },
  },
];

describe('convertLegacyWebhook over the legacy samples', () => {
  it('when a legacy sample file exists, then this table has an expectation for it', () => {
    const files = readdirSync(SAMPLES_DIR).filter((file) => file.startsWith('legacy-') && file.endsWith('.json'));
    expect(SAMPLE_EXPECTATIONS.map((expectation) => expectation.file).sort()).toEqual(files.sort());
  });

  it.each(SAMPLE_EXPECTATIONS)('when $file is converted, then it yields one $type event', (expected) => {
    const sample = loadSample(expected.file);
    const conversion = convertLegacyWebhook(sample);

    expect(conversion.source).toEqual({ channel: 'legacy', id: sample['AlertId'], type: sample['RuleType'] });
    // What pairs copies (pairing key and qualifiers) is checked against the other channel in domain-mapping.test.ts.
    const { pairingKey: _pairingKey, keyQualifiers: _keyQualifiers, ...event } = onlyEvent(conversion);
    expect(event).toEqual({
      type: expected.type,
      correlationKey: expected.key,
      keyStrength: expected.strength,
      occurredAt: null,
      companyId: expected.companyId,
      connectionId: expected.connectionId,
      data: expected.data,
    });
  });
});

describe('convertLegacyWebhook envelope variants', () => {
  it('when the rule type is in `Type` (older OAS) instead of `RuleType`, then it converts the same and reports `Type` as the source type', () => {
    const sample = loadSample('legacy-PushOperationStatusChanged.json');
    const oldShape = { ...without(sample, 'RuleType'), Type: sample['RuleType'] };

    const conversion = convertLegacyWebhook(oldShape);

    expect(conversion.source.type).toBe('Push Operation Status Changed()');
    expect(onlyEvent(conversion)).toEqual(convertOne(sample));
  });

  it('when both `RuleType` and `Type` are present, then `RuleType` wins', () => {
    const conversion = convertLegacyWebhook({ ...loadSample('legacy-DataSyncCompleted.json'), Type: 'Sync Failed' });

    expect(conversion.source.type).toBe('Data sync completed');
    expect(onlyEvent(conversion).type).toBe('dataset.synced');
  });

  it('when `RuleType` is not a string, then `Type` is used instead', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');
    const conversion = convertLegacyWebhook({ ...sample, RuleType: 42, Type: 'Data sync completed' });

    expect(onlyEvent(conversion)).toEqual(convertOne(sample));
  });

  it.each([
    ['missing', (sample: Body) => without(sample, 'RuleId')],
    ['null', (sample: Body) => ({ ...sample, RuleId: null })],
    ['not a string', (sample: Body) => ({ ...sample, RuleId: { id: 1 } })],
  ])('when RuleId is %s (deprecated), then the body still converts', (_label, change) => {
    const sample = loadSample('legacy-DataConnectionStatusChanged.json');

    expect(convertOne(change(sample))).toEqual(convertOne(sample));
  });

  it('when only the fields the conversion needs are present, then the body converts (no field is required)', () => {
    const event = convertOne({ RuleType: 'Data sync completed', CompanyId: COMPANY });

    expect(event.correlationKey).toBe(`dataset.synced|${COMPANY}|-|-`);
    expect(event.data).toEqual({ dataType: null });
  });

  it('when AlertId is missing or not a string, then the source id is null', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');

    expect(convertLegacyWebhook(without(sample, 'AlertId')).source.id).toBeNull();
    expect(convertLegacyWebhook({ ...sample, AlertId: 123 }).source.id).toBeNull();
  });

  it('when unknown top-level fields are present, then they are ignored', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');

    expect(convertOne({ ...sample, SomethingNew: { nested: true }, Extra: [1, 2] })).toEqual(convertOne(sample));
  });
});

describe('convertLegacyWebhook rule type spellings', () => {
  it('when the rule type is "New company synchronized" (with z, docs after 2025-06), then it is company.firstSynced like the s spelling', () => {
    const sample = loadSample('legacy-NewCompanySynchronized.json');
    const zSpelling = { ...sample, RuleType: 'New company synchronized' };

    expect(convertOne(zSpelling)).toEqual(convertOne(sample));
  });

  const minimalBodies: Record<LegacyRule, { readonly data?: Body; readonly type: DomainEventType }> = {
    DataConnectionStatusChanged: { data: { oldStatus: 'PendingAuth', newStatus: 'Linked' }, type: 'connection.connected' },
    NewCompanySynchronized: { type: 'company.firstSynced' },
    DataSyncCompleted: { data: { dataType: 'invoices' }, type: 'dataset.synced' },
    DatasetDataChanged: { data: { dataType: 'invoices' }, type: 'dataset.changed' },
    DataSyncStatusChangedToError: { data: { dataType: 'invoices', datasetStatus: 'FetchError' }, type: 'dataset.syncFailed' },
    PushOperationStatusChanged: { data: { status: 'Success', pushOperationKey: PUSH_KEY }, type: 'write.succeeded' },
    PushOperationTimedOut: { data: { pushOperationKey: PUSH_KEY }, type: 'write.timedOut' },
    AccountCategoriesUpdated: { data: { modifiedDate: '2024-11-04' }, type: 'company.accountCategoriesUpdated' },
    SyncConnectionDeleted: { type: 'connection.deleted' },
    SyncStarted: { data: { syncId: 's1' }, type: 'expenses.syncStarted' },
    SyncCompleted: { data: { syncId: 's1' }, type: 'expenses.syncFinished' },
    SyncFailed: { data: { syncId: 's1' }, type: 'expenses.syncFinished' },
    ClientRateLimitReached: { data: { DailyQuota: 1 }, type: 'client.rateLimitReached' },
    ClientRateLimitReset: { data: { DailyQuota: 1 }, type: 'client.rateLimitReset' },
  };

  const everySpelling = (Object.entries(LEGACY_RULE_NAMES) as [LegacyRule, readonly string[]][]).flatMap(
    ([rule, names]) => names.map((name) => ({ rule, name, ...minimalBodies[rule] })),
  );

  it.each(everySpelling)(
    'when RuleType is "$name" (a $rule spelling), then it converts to $type',
    ({ name, data, type }) => {
      expect(convertOne(body(name, data)).type).toBe(type);
    },
  );

  it.each(['PushOperationStatusChanged', 'DataSyncCompleted', 'ClientRateLimitReached', 'SyncStarted'])(
    'when RuleType is the PascalCase subscription name %s, then it converts exactly like the body string',
    (pascal) => {
      const bodyString = LEGACY_RULE_NAMES[pascal as LegacyRule][1];
      const { data } = minimalBodies[pascal as LegacyRule];

      expect(convertOne(body(pascal, data))).toEqual(convertOne(body(bodyString, data)));
    },
  );

  it.each([
    'Push Operation Status Changed',
    'push operation status changed()',
    '  PUSH-OPERATION_status Changed ( ) ',
    'Push\tOperation\nStatus Changed()',
  ])('when RuleType is "%s" (no `()`, other case or separators), then it is the push status rule', (ruleType) => {
    const event = convertOne(body(ruleType, { status: 'Success', pushOperationKey: PUSH_KEY, dataType: 'invoices' }));

    expect(event.type).toBe('write.succeeded');
    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|Success`);
  });

  it('when normalising, then case, non-alphanumerics and the s/z of synchronise are folded', () => {
    expect(normaliseRuleType('New Company Synchronised!')).toBe('newcompanysynchronized');
    expect(normaliseRuleType('Push Operation Status Changed()')).toBe('pushoperationstatuschanged');
    expect(lookupLegacyRule('new-company-synchronis-ed')).toBe('NewCompanySynchronized');
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'when RuleType is the inherited name "%s", then it is unrecognised (nothing inherited is looked up)',
    (ruleType) => {
      expect(lookupLegacyRule(ruleType)).toBeUndefined();
      expect(convertLegacyWebhook(body(ruleType)).kind).toBe('unrecognised');
    },
  );
});

describe('convertLegacyWebhook Data key casing', () => {
  it('when connection Data keys are PascalCase (NewStatus, OldStatus, PlatformKey, DataConnectionId), then they read like camelCase', () => {
    const sample = loadSample('legacy-DataConnectionStatusChanged.json');
    const pascal = {
      ...sample,
      Data: { DataConnectionId: CONNECTION, NewStatus: 'Linked', OldStatus: 'PendingAuth', PlatformKey: 'gbol' },
    };

    expect(convertOne(pascal)).toEqual(convertOne(sample));
  });

  it('when write Data keys are PascalCase (PushOperationKey, DataType, Status), then they read like camelCase', () => {
    const sample = loadSample('legacy-PushOperationStatusChanged.json');
    const pascal = { ...sample, Data: { DataType: 'invoices', Status: 'Success', PushOperationKey: PUSH_KEY } };

    expect(convertOne(pascal)).toEqual(convertOne(sample));
  });

  it('when rate-limit Data keys are camelCase (dailyQuota, expiresUtc, quotaRemaining), then they read like the PascalCase sample', () => {
    const sample = loadSample('legacy-ClientRateLimitReset.json');
    const camel = {
      ...sample,
      Data: { quotaRemaining: 12000, resetReason: 'new day', dailyQuota: 12000, expiresUtc: '2024-11-06T00:00:00Z' },
    };

    expect(convertOne(camel)).toEqual(convertOne(sample));
  });

  it('when Expenses Data keys are PascalCase (SyncId, SyncType), then they read like camelCase', () => {
    const sample = loadSample('legacy-SyncStarted.json');

    expect(convertOne({ ...sample, Data: { SyncId: '321363b4-efa9-4fbc-b71c-0b58d62f3248', SyncType: 'Expense' } })).toEqual(
      convertOne(sample),
    );
  });

  it('when one Data key appears in two casings and the first is null, then the non-null one is used', () => {
    const event = convertOne(body('Rate Limit Reached', { DailyQuota: null, dailyQuota: 500 }));

    expect(event.data).toEqual({ dailyQuota: 500 });
  });
});

describe('convertLegacyWebhook missing or malformed Data', () => {
  it.each([
    ['missing', undefined],
    ['null', null],
    ['an array', [{ newStatus: 'Linked' }]],
    ['a string', 'newStatus=Linked'],
  ])('when a DataConnectionStatusChanged body has Data %s, then it is connection.deleted (no new status)', (_label, data) => {
    const input = data === undefined ? body('DataConnectionStatusChanged') : body('DataConnectionStatusChanged', {}, { Data: data });
    const event = convertOne(input);

    expect(event.type).toBe('connection.deleted');
    expect(event.correlationKey).toBe(`connection.deleted|${COMPANY}|${CONNECTION}`);
    expect(event.pairingKey).toBe(`connection.deleted|${COMPANY}`);
    expect(event.connectionId).toBe(CONNECTION);
    expect(event.data).toEqual({});
  });

  it('when a push status body has no Data, then it is a windowed write.statusChanged keyed on the entity', () => {
    const event = convertOne(body('Push Operation Status Changed()'));

    expect(event.type).toBe('write.statusChanged');
    expect(event.keyStrength).toBe('windowed');
    expect(event.correlationKey).toBe(`write|${COMPANY}|${CONNECTION}|-|-`);
    expect(event.data).toEqual({ dataType: null, status: null });
  });

  it('when a dataset body has no Data, then the data type part of the key is `-`', () => {
    const event = convertOne(body('Data sync completed'));

    expect(event.correlationKey).toBe(`dataset.synced|${COMPANY}|${CONNECTION}|-`);
    expect(event.data).toEqual({ dataType: null });
  });

  it('when a rate-limit body has no Data, then the key is windowed on `-` and the quotas are null', () => {
    const event = convertOne({ AlertId: ALERT, RuleType: 'Rate Limit Reset' });

    expect(event.correlationKey).toBe('client.rateLimitReset|-');
    expect(event.keyStrength).toBe('windowed');
    expect(event.data).toEqual({ dailyQuota: null, quotaRemaining: null });
  });

  it('when an Expenses body has no syncId, then the key is windowed on `-` (a strong `-` would merge every such sync)', () => {
    const event = convertOne(body('Sync Completed', { syncType: 'Expense' }));

    expect(event.correlationKey).toBe('expenses.sync|-');
    expect(event.keyStrength).toBe('windowed');
  });

  it('when a Data field has the wrong type, then it is read as absent', () => {
    const event = convertOne(body('Push Operation Status Changed()', { status: 7, dataType: ['invoices'], pushOperationKey: PUSH_KEY }));

    expect(event.type).toBe('write.statusChanged');
    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|-`);
    expect(event.data).toEqual({ dataType: null, status: null });
  });
});

describe('convertLegacyWebhook connection transitions', () => {
  const transitions: readonly [string, unknown, string, DomainEventType][] = [
    ['absent', undefined, 'PendingAuth', 'connection.created'],
    ['null', null, 'PendingAuth', 'connection.created'],
    ['empty', '', 'PendingAuth', 'connection.created'],
    ['PendingAuth', 'PendingAuth', 'Linked', 'connection.connected'],
    ['absent', undefined, 'Linked', 'connection.connected'],
    ['Linked', 'Linked', 'Unlinked', 'connection.disconnected'],
    ['Linked', 'Linked', 'Deauthorized', 'connection.disconnected'],
    ['Unlinked', 'Unlinked', 'Linked', 'connection.reconnected'],
    ['Deauthorized', 'Deauthorized', 'Linked', 'connection.reconnected'],
    ['pendingauth (lower case)', 'pendingauth', 'LINKED', 'connection.connected'],
  ];

  it.each(transitions)('when the old status is %s and the new one %s, then it is %s', (_label, oldStatus, newStatus, type) => {
    const data: Body = { newStatus, platformKey: 'gbol' };
    if (oldStatus !== undefined) data['oldStatus'] = oldStatus;

    const event = convertOne(body('DataConnectionStatusChanged', data));

    expect(event.type).toBe(type);
    expect(event.keyStrength).toBe('windowed');
    expect(event.correlationKey).toBe(`${type}|${COMPANY}|${CONNECTION}`);
    // The status is compared case-insensitively but carried as received.
    expect(event.data).toEqual({ status: newStatus, integrationKey: 'gbol' });
  });

  it('when the transition is PendingAuth → Deauthorized (no connection.* event describes it), then it is connection.statusChanged with both statuses', () => {
    const event = convertOne(
      body('DataConnectionStatusChanged', { oldStatus: 'PendingAuth', newStatus: 'Deauthorized', platformKey: 'gbol' }),
    );

    expect(event.type).toBe('connection.statusChanged');
    expect(event.keyStrength).toBe('windowed');
    expect(event.correlationKey).toBe(`connection.statusChanged|${COMPANY}|${CONNECTION}|PendingAuth->Deauthorized`);
    expect(event.data).toEqual({ status: 'Deauthorized', oldStatus: 'PendingAuth', integrationKey: 'gbol' });
  });

  it('when there is no old status and the new one is Unlinked, then it is connection.statusChanged with `-` as the old status', () => {
    const event = convertOne(body('DataConnectionStatusChanged', { newStatus: 'Unlinked' }));

    expect(event.type).toBe('connection.statusChanged');
    expect(event.correlationKey).toBe(`connection.statusChanged|${COMPANY}|${CONNECTION}|-->Unlinked`);
    expect(event.data).toEqual({ status: 'Unlinked', oldStatus: null, integrationKey: null });
  });

  it('when the new status is a value Codat may add later, then it is connection.statusChanged carrying it', () => {
    const event = convertOne(body('DataConnectionStatusChanged', { oldStatus: 'Linked', newStatus: 'Suspended' }));

    expect(event.type).toBe('connection.statusChanged');
    expect(event.data['status']).toBe('Suspended');
  });

  it('when the new status is absent or null, then it is connection.deleted paired on the company, the connection where it is given', () => {
    for (const data of [{ oldStatus: 'Linked' }, { oldStatus: 'Linked', newStatus: null }]) {
      const event = convertOne(body('DataConnectionStatusChanged', data));

      expect(event.type).toBe('connection.deleted');
      expect(event.pairingKey).toBe(`connection.deleted|${COMPANY}`);
      expect(event.keyQualifiers).toEqual([event.connectionId]);
    }
  });

  it('when DataConnectionId is missing, then Data.dataConnectionId is the connection id', () => {
    const sample = loadSample('legacy-DataConnectionStatusChanged.json');

    expect(convertOne(without(sample, 'DataConnectionId'))).toEqual(convertOne(sample));
  });
});

describe('convertLegacyWebhook writes', () => {
  const writeBody = (status: unknown, rule = 'Push Operation Status Changed()'): Body =>
    body(rule, { dataType: 'invoices', status, pushOperationKey: PUSH_KEY });

  it('when the status is Pending, then it is write.pending with a strong key', () => {
    const event = convertOne(writeBody('Pending'));

    expect(event).toMatchObject({
      type: 'write.pending',
      correlationKey: `write|${PUSH_KEY}|Pending`,
      keyStrength: 'strong',
      data: { dataType: 'invoices', status: 'Pending' },
    });
  });

  it('when the status is one Codat may add later, then it is write.statusChanged keyed and carried as received', () => {
    const event = convertOne(writeBody('PartiallySucceeded'));

    expect(event).toMatchObject({
      type: 'write.statusChanged',
      correlationKey: `write|${PUSH_KEY}|PartiallySucceeded`,
      keyStrength: 'strong',
      data: { dataType: 'invoices', status: 'PartiallySucceeded' },
    });
  });

  it.each(['success', 'Successful', 'SUCCESS'])('when the status is spelled %s, then key and data use the enum spelling Success (as the new channel sends it)', (status) => {
    const event = convertOne(writeBody(status));

    expect(event.type).toBe('write.succeeded');
    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|Success`);
    expect(event.data['status']).toBe('Success');
  });

  it('when TimedOut arrives from both legacy rules, then both yield the same type and strong key (one occurrence)', () => {
    const viaTimedOutRule = convertOne(body('Push Operation Timed Out', { dataType: 'invoices', pushOperationKey: PUSH_KEY }));
    const viaStatusRule = convertOne(writeBody('TimedOut'));

    expect(viaTimedOutRule.type).toBe('write.timedOut');
    expect(viaStatusRule.type).toBe('write.timedOut');
    expect(viaTimedOutRule.correlationKey).toBe(`write|${PUSH_KEY}|TimedOut`);
    expect(viaStatusRule.correlationKey).toBe(viaTimedOutRule.correlationKey);
    expect(viaStatusRule.keyStrength).toBe('strong');
    expect(viaTimedOutRule.keyStrength).toBe('strong');
    expect(viaStatusRule.data).toEqual(viaTimedOutRule.data);
  });

  it('when only the deprecated pushOperationGuid is present, then it is the operation key', () => {
    const event = convertOne(body('Push Operation Timed Out', { dataType: 'invoices', pushOperationGuid: PUSH_KEY }));

    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|TimedOut`);
  });

  it('when there is no operation key at all, then the key is company|connection|dataType|status and windowed', () => {
    const event = convertOne(body('Push Operation Status Changed()', { dataType: 'invoices', status: 'Failed' }));

    expect(event.type).toBe('write.failed');
    expect(event.correlationKey).toBe(`write|${COMPANY}|${CONNECTION}|invoices|Failed`);
    expect(event.keyStrength).toBe('windowed');
  });
});

describe('convertLegacyWebhook rate limits', () => {
  it.each([
    '2024-11-05T00:00:00Z',
    '2024-11-05T00:00:00.000Z',
    '2024-11-05T01:00:00+01:00',
    '2024-11-05T00:00:00',
    '2024-11-05T00:00:00.0000000',
  ])('when ExpiresUtc is "%s", then the key holds the same ISO instant', (expiresUtc) => {
    const event = convertOne({ RuleType: 'Rate Limit Reached', Data: { DailyQuota: 12000, ExpiresUtc: expiresUtc } });

    expect(event.correlationKey).toBe('client.rateLimitReached|2024-11-05T00:00:00.000Z');
    expect(event.keyStrength).toBe('strong');
  });

  it('when ExpiresUtc is not a parseable date, then the raw string is the key part and the key stays strong', () => {
    const event = convertOne({ RuleType: 'Rate Limit Reached', Data: { ExpiresUtc: 'tomorrow-ish' } });

    expect(event.correlationKey).toBe('client.rateLimitReached|tomorrow-ish');
    expect(event.keyStrength).toBe('strong');
  });

  it('when quotas arrive as numeric strings, then data holds numbers; a non-numeric string is carried as is', () => {
    const event = convertOne({ RuleType: 'Rate Limit Reset', Data: { DailyQuota: ' 12000 ', QuotaRemaining: 'unknown' } });

    expect(event.data).toEqual({ dailyQuota: 12000, quotaRemaining: 'unknown' });
  });

  it('when a rate-limit body has a CompanyId, then it is kept although none is required', () => {
    expect(convertOne({ RuleType: 'Rate Limit Reached', CompanyId: COMPANY }).companyId).toBe(COMPANY);
  });
});

describe('convertLegacyWebhook unrecognised and invalid bodies', () => {
  it('when the RuleType is unknown, then the body is unrecognised with the raw type in the reason', () => {
    const conversion = convertLegacyWebhook(body('Invoice Paid Eventually'));

    expect(conversion).toEqual({
      kind: 'unrecognised',
      source: { channel: 'legacy', id: ALERT, type: 'Invoice Paid Eventually' },
      reason: 'unknown_rule_type:Invoice Paid Eventually',
    });
  });

  it('when the RuleType is very long, then the reason is capped but the source keeps it whole', () => {
    const ruleType = 'x'.repeat(10_000);
    const conversion = convertLegacyWebhook(body(ruleType));

    expect(conversion.kind).toBe('unrecognised');
    expect(conversion.source.type).toBe(ruleType);
    if (conversion.kind === 'unrecognised') expect(conversion.reason.length).toBeLessThan(300);
  });

  it.each([
    ['absent', without(body('x'), 'RuleType')],
    ['blank', body('   ')],
    ['not a string', body('x', undefined, { RuleType: 12 })],
  ])('when the rule type is %s, then the body is unrecognised (missing_rule_type)', (_label, input) => {
    const conversion = convertLegacyWebhook(input);

    expect(conversion.kind).toBe('unrecognised');
    if (conversion.kind === 'unrecognised') expect(conversion.reason).toBe('missing_rule_type');
    expect(conversion.source.type).toBeNull();
  });

  it.each([
    ['an array', [loadSample('legacy-DataSyncCompleted.json')]],
    ['a string', '{"RuleType":"Data sync completed"}'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
  ])('when the body is %s, then it is invalid (body_not_object)', (_label, input) => {
    expect(convertLegacyWebhook(input)).toEqual({
      kind: 'invalid',
      source: { channel: 'legacy', id: null, type: null },
      reason: 'body_not_object',
    });
  });

  const companyScopedRules = (Object.keys(LEGACY_RULE_NAMES) as LegacyRule[]).filter(
    (rule) => rule !== 'ClientRateLimitReached' && rule !== 'ClientRateLimitReset',
  );

  it.each(companyScopedRules)('when a %s body has no CompanyId, then it is invalid (missing_company_id)', (rule) => {
    const conversion = convertLegacyWebhook(without(body(rule), 'CompanyId'));

    expect(conversion).toEqual({
      kind: 'invalid',
      source: { channel: 'legacy', id: ALERT, type: rule },
      reason: 'missing_company_id',
    });
  });

  it.each([
    ['null', null],
    ['blank', ''],
    ['a number', 42],
  ])('when CompanyId is %s, then a company-scoped body is invalid', (_label, companyId) => {
    const conversion = convertLegacyWebhook(body('Data sync completed', { dataType: 'invoices' }, { CompanyId: companyId }));

    expect(conversion.kind).toBe('invalid');
  });

  it('when an object throws on every read, then the conversion is invalid instead of throwing', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
        ownKeys: () => {
          throw new Error('boom');
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('boom');
        },
      },
    );

    expect(() => convertLegacyWebhook(hostile)).not.toThrow();
    expect(convertLegacyWebhook(hostile).kind).toBe('invalid');
    expect(isLegacyShapedBody(hostile)).toBe(false);
  });
});

describe('convertLegacyWebhook prototype safety', () => {
  it('when Data holds __proto__, constructor and prototype keys, then Object.prototype is not polluted and the body converts', () => {
    const input: unknown = JSON.parse(
      `{"AlertId":"${ALERT}","RuleType":"Rate Limit Reached","__proto__":{"pollutedTop":true},` +
        '"Data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"pollutedCtor":true}},' +
        '"PROTOTYPE":{"pollutedProto":true},"DailyQuota":5}}',
    );

    const event = convertOne(input);

    expect(event.data).toEqual({ dailyQuota: 5 });
    const probe: Record<string, unknown> = {};
    expect(probe['polluted']).toBeUndefined();
    expect(probe['pollutedTop']).toBeUndefined();
    expect(probe['pollutedCtor']).toBeUndefined();
    expect(probe['pollutedProto']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('when Data names __proto__ as a field the mapper reads, then nothing is read from the prototype', () => {
    const input: unknown = JSON.parse(
      `{"RuleType":"DataConnectionStatusChanged","CompanyId":"${COMPANY}","Data":{"__proto__":{"newStatus":"Linked"}}}`,
    );

    expect(convertOne(input).type).toBe('connection.deleted');
  });
});

describe('convertLegacyWebhook totality (property-based)', () => {
  const ruleTypes = fc.constantFrom(...Object.values(LEGACY_RULE_NAMES).flat(), 'Unknown', '');
  const legacyish = fc.record(
    {
      AlertId: fc.oneof(fc.uuid(), fc.anything()),
      RuleType: fc.oneof(ruleTypes, fc.anything()),
      Type: fc.oneof(ruleTypes, fc.anything()),
      RuleId: fc.anything(),
      CompanyId: fc.oneof(fc.uuid(), fc.anything()),
      DataConnectionId: fc.oneof(fc.uuid(), fc.anything()),
      Data: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.anything()),
    },
    { requiredKeys: [] },
  );

  it('when given any value at all, then it never throws and returns a known kind', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), legacyish), (input) => {
        const conversion = convertLegacyWebhook(input);
        expect(['converted', 'unrecognised', 'invalid']).toContain(conversion.kind);
        expect(typeof isLegacyShapedBody(input)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('when a legacy-ish body converts, then every event has a domain type, occurredAt null, its key prefix and non-blank ids', () => {
    const keyPrefixOf = (type: DomainEventType): string =>
      type.startsWith('write.') ? 'write|' : type === 'expenses.syncFinished' ? 'expenses.sync|' : `${type}|`;
    const isNullOrNonBlank = (id: string | null): boolean => id === null || id.trim() !== '';
    fc.assert(
      fc.property(legacyish, (input) => {
        const conversion = convertLegacyWebhook(input);
        if (conversion.kind !== 'converted') return;
        for (const event of conversion.events) {
          expect(isDomainEventType(event.type)).toBe(true);
          expect(event.occurredAt).toBeNull();
          expect(event.correlationKey.startsWith(keyPrefixOf(event.type))).toBe(true);
          expect(isNullOrNonBlank(event.companyId) && isNullOrNonBlank(event.connectionId)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('isLegacyShapedBody', () => {
  it.each([
    ['a legacy sample', loadSample('legacy-DataSyncCompleted.json'), true],
    ['a body with only AlertId', { AlertId: ALERT }, true],
    ['a body with only Type', { Type: 'Sync Failed' }, true],
    ['a new-format sample', loadSample('event-read.completed.json'), false],
    ['a body with RuleType and eventType', { RuleType: 'Data sync completed', eventType: 'read.completed' }, false],
    ['an empty object', {}, false],
    ['a body whose legacy fields are null', { AlertId: null, RuleType: null }, false],
    ['an array', [{ AlertId: ALERT }], false],
    ['null', null, false],
    ['a string', 'AlertId', false],
  ])('when the body is %s, then it returns %s', (_label, input, expected) => {
    expect(isLegacyShapedBody(input)).toBe(expected);
  });
});
