/**
 * The legacy samples (test/fixtures/codat-samples/legacy-*.json) with the domain event
 * docs/domain-mapping.md gives for each, a builder of company-scoped bodies, and the one event a
 * converted body yields: what the mapper tests of this folder read and compare with.
 * Not shipped: tsconfig.build.json leaves `*.fixtures.ts` out, as it does the tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Conversion, DomainEvent, DomainEventType, FieldValue, KeyStrength } from '../../domain/domain-event.js';
import { convertLegacyWebhook } from './legacy-webhook-mapper.js';

export const SAMPLES_DIR = fileURLToPath(new URL('../../../test/fixtures/codat-samples/', import.meta.url));

export const COMPANY = '8a210b68-6988-11ed-a1eb-0242ac120002';
export const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
export const ALERT = '0f5b7c1e-2d3a-4b8e-9c61-7a2f4e9d1bff';
export const PUSH_KEY = 'c2f8847d-3047-4619-a157-6d947d8e4a73';

export type Body = Record<string, unknown>;

export function loadSample(file: string): Body {
  return JSON.parse(readFileSync(`${SAMPLES_DIR}${file}`, 'utf8')) as Body;
}

/** A company-scoped legacy body with the usual top-level fields. */
export function body(ruleType: string, data?: Body, overrides: Body = {}): Body {
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

export function without(source: Body, ...keys: string[]): Body {
  return Object.fromEntries(Object.entries(source).filter(([key]) => !keys.includes(key)));
}

/** The single domain event of a converted body (every legacy rule yields exactly one). */
export function onlyEvent(conversion: Conversion): DomainEvent {
  expect(conversion.kind).toBe('converted');
  if (conversion.kind !== 'converted') throw new Error(`expected converted, got ${conversion.kind}`);
  expect(conversion.events).toHaveLength(1);
  const [event] = conversion.events;
  if (event === undefined) throw new Error('no event');
  return event;
}

export function convertOne(input: unknown): DomainEvent {
  return onlyEvent(convertLegacyWebhook(input));
}

export interface SampleExpectation {
  readonly file: string;
  readonly type: DomainEventType;
  readonly key: string;
  readonly strength: KeyStrength;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: Record<string, FieldValue>;
}

export const SAMPLE_EXPECTATIONS: readonly SampleExpectation[] = [
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
