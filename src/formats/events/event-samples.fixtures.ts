/**
 * The Codat event samples (test/fixtures/codat-samples/event-*.json) and the domain events
 * docs/domain-mapping.md gives for each: what the mapper tests of this folder read and compare with.
 * Not shipped: tsconfig.build.json leaves `*.fixtures.ts` out, as it does the tests.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Conversion, DomainEvent, FieldValue, KeyStrength } from '../../domain/domain-event.js';

export const SAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'codat-samples');

export const COMPANY = '8a210b68-6988-11ed-a1eb-0242ac120002';
export const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
export const REPORT_ID = 'bb42ce7e-720a-4ac5-b640-f24f53ff47c8';

export function loadSample(file: string): unknown {
  return JSON.parse(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as unknown;
}

/** A deep copy of a sample as a plain record, for building documented variants the samples lack. */
export function sampleRecord(file: string): Record<string, unknown> {
  const sample = loadSample(file);
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw new Error(`${file} is not an object`);
  return sample as Record<string, unknown>;
}

export function payloadOf(body: Record<string, unknown>): Record<string, unknown> {
  return body['payload'] as Record<string, unknown>;
}

export function eventsOf(conversion: Conversion): readonly DomainEvent[] {
  if (conversion.kind !== 'converted') throw new Error(`expected converted, got ${conversion.kind}: ${conversion.reason}`);
  return conversion.events;
}

export interface Expected {
  readonly type: string;
  readonly key: string;
  readonly strength: KeyStrength;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: Record<string, FieldValue>;
}

export function summary(event: DomainEvent): Expected {
  return {
    type: event.type,
    key: event.correlationKey,
    strength: event.keyStrength,
    companyId: event.companyId,
    connectionId: event.connectionId,
    data: { ...event.data },
  };
}

export const connectionEvent = (type: string, data: Record<string, FieldValue>): Expected => ({
  type,
  key: `${type}|${COMPANY}|${CONNECTION}`,
  strength: 'windowed',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data,
});

export const datasetEvent = (type: string, dataType: string, status?: string): Expected => ({
  type,
  key: `${type}|${COMPANY}|${CONNECTION}|${dataType}`,
  strength: 'windowed',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data: status === undefined ? { dataType } : { dataType, status },
});

export const writeEvent = (type: string, operation: string, dataType: string, status: string): Expected => ({
  type,
  key: `write|${operation}|${status}`,
  strength: 'strong',
  companyId: COMPANY,
  connectionId: CONNECTION,
  data: { dataType, status },
});

export const reportEvent = (type: string, reportType: string): Expected => ({
  type,
  key: `${type}|${reportType}|${REPORT_ID}`,
  strength: 'strong',
  companyId: COMPANY,
  connectionId: null,
  data: { reportType },
});

/** Every `event-*.json` sample, with the domain events docs/domain-mapping.md gives for it. */
export const SAMPLE_EXPECTATIONS: Record<string, readonly Expected[]> = {
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
