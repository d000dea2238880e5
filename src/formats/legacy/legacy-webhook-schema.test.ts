import { describe, expect, it } from 'vitest';
import { ALERT, body, COMPANY, CONNECTION, convertOne, loadSample, PUSH_KEY } from './legacy-samples.fixtures.js';

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
