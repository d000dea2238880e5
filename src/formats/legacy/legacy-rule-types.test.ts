import { describe, expect, it } from 'vitest';
import { type DomainEventType } from '../../domain/domain-event.js';
import { body, type Body, convertOne, loadSample, PUSH_KEY } from './legacy-samples.fixtures.js';
import { LEGACY_RULE_NAMES, type LegacyRule, lookupLegacyRule, normaliseRuleType } from './legacy-rule-types.js';
import { convertLegacyWebhook } from './legacy-webhook-mapper.js';

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
