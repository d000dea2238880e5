/**
 * @needs-legacy-format: sends both channels; goes with the legacy format at the contract (npm run contract:rehearsal).
 * Traffic as Codat's own specs document it (codatio/oas `json/Codat-Common.json`, `json/Codat-Expenses.json`,
 * codatio/codat-docs `docs/payables/get-started.md`, the migration page), sent through the HTTP edge with
 * the toggle off and on: every occurrence reaches the downstream once, and an initial read that read
 * nothing successfully is no first sync (REFERENCE §2.3, §10).
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const HOUR = 3_600_000;
const WINDOW_MS = 900_000;
const GRACE_MS = 120_000;

type Body = Record<string, unknown>;

/** A Codat-Common.json legacy body: `Type` for `RuleType`, no `DataConnectionId`, no client fields. */
function commonLegacyBody(type: string, companyId: string, data?: Body): Body {
  return { AlertId: randomUUID(), Type: type, CompanyId: companyId, RuleId: randomUUID(), Message: 'documented shape', ...(data ? { Data: data } : {}) };
}

/** `dataTypes`: [dataType, status, recordsModified?]. */
function readCompleted(eventType: string, companyId: string, connectionId: string, generatedDate: string, dataTypes: readonly [string, string, boolean?][]): Body {
  return {
    id: randomUUID(),
    eventType,
    generatedDate,
    payload: {
      referenceCompany: { id: companyId, name: 'Documented Co' },
      modifiedFromDate: generatedDate,
      dataTypes: dataTypes.map(([dataType, status, recordsModified = false]) => ({ connectionId, dataType, recordsModified, status, issues: [] })),
    },
  };
}

describe.each([
  ['off (legacy primary)', false],
  ['on (new events primary)', true],
])('Codat-documented traffic with the toggle %s', (_label, toggleOn) => {
  let service: TestService;

  beforeEach(async () => {
    service = await buildTestService({ graceMs: GRACE_MS, windowMs: WINDOW_MS });
    service.toggle.on = toggleOn;
  });
  afterEach(async () => {
    await service.close();
  });

  async function send(channel: 'legacy' | 'events', body: Body, webhookId = `msg_${randomUUID()}`): Promise<void> {
    const text = JSON.stringify(body);
    const response = await request(service.app)
      .post(`/webhooks/codat/${channel}`)
      .set(signedHeaders(text, { id: webhookId, timestampMs: service.clock.now() }))
      .send(text);
    expect([200, 202]).toContain(response.status);
    await service.settle();
  }

  /** Lets every grace period run out, as the background loops would, and returns the delivered types. */
  async function deliveredTypes(companyId: string): Promise<string[]> {
    service.clock.advance(GRACE_MS * 2);
    await service.settle();
    return service.sink.deliveries.filter((d) => d.body.companyId === companyId).map((d) => String(d.body.type)).sort();
  }

  it('when legacy bodies without DataConnectionId meet their new-format twins, then each occurrence is delivered once', async () => {
    const company = randomUUID();
    const connection = randomUUID();
    const pushKey = randomUUID();
    const at = new Date(service.clock.now()).toISOString();
    await send('legacy', commonLegacyBody('Dataset data changed', company, { dataType: 'invoices', datasetId: randomUUID() }));
    await send('legacy', commonLegacyBody('Data Sync Status Changed To Error', company, { dataType: 'payments', datasetStatus: 'ProcessingError', datasetId: randomUUID() }));
    await send('legacy', commonLegacyBody('New company synchronised', company));
    await send('legacy', commonLegacyBody('Push Operation Status Changed', company, { DataType: 'invoices', Status: 'Success', PushOperationKey: pushKey }));
    await send('legacy', commonLegacyBody('DataConnectionStatusChanged', company, { dataConnectionId: connection, oldStatus: 'PendingAuth', newStatus: 'Linked', platformKey: 'gbol' }));
    service.clock.advance(3_000);
    await send('events', readCompleted('read.completed.initial', company, connection, at, [['invoices', 'Complete', true], ['payments', 'ProcessingError']]));
    await send('events', {
      id: randomUUID(), eventType: 'invoices.write.successful', generatedDate: at,
      payload: { id: pushKey, type: 'Create', referenceCompany: { id: company }, connectionId: connection, status: 'Success' },
    });
    await send('events', {
      id: randomUUID(), eventType: 'connection.connected', generatedDate: at,
      payload: { referenceCompany: { id: company }, connection: { id: connection, integrationKey: 'gbol', status: 'Linked' } },
    });

    const expected = ['company.firstSynced', 'connection.connected', 'dataset.changed', 'dataset.syncFailed', 'dataset.synced', 'write.succeeded'];
    // `dataset.synced` has no legacy copy here (no `Data sync completed` rule): the new channel's is rescued or primary.
    expect(await deliveredTypes(company)).toEqual(expected);
  });

  it('when a new-format copy is retried 27 h 35 min late while its key recurred every hour, then every hour is delivered once', async () => {
    const company = randomUUID();
    const connection = randomUUID();
    const start = service.clock.now();
    const readAt = (hour: number) => new Date(start + hour * HOUR).toISOString();
    for (let hour = 0; hour < 28; hour += 1) {
      service.clock.current = start + hour * HOUR + 1_000;
      await send('legacy', { ...commonLegacyBody('Data sync completed', company, { dataType: 'invoices', datasetId: randomUUID() }), DataConnectionId: connection });
      // Codat could not reach the new endpoint for the first read: its copy comes with the last retry.
      if (hour > 0) await send('events', readCompleted('read.completed', company, connection, readAt(hour), [['invoices', 'Complete']]));
    }
    service.clock.current = start + 27 * HOUR + 35 * 60_000;
    await send('events', readCompleted('read.completed', company, connection, readAt(0), [['invoices', 'Complete']]));

    expect(await deliveredTypes(company)).toEqual(Array.from({ length: 28 }, () => 'dataset.synced'));
  });

  it('when one first read arrives as read.completed.initial and read.completed (both subscribed), then each data type is delivered once, and a later read again', async () => {
    const company = randomUUID();
    const connection = randomUUID();
    const at = new Date(service.clock.now()).toISOString();
    await send('legacy', { ...commonLegacyBody('Data sync completed', company, { dataType: 'invoices', datasetId: randomUUID() }), DataConnectionId: connection });
    await send('events', readCompleted('read.completed.initial', company, connection, at, [['invoices', 'Complete'], ['bills', 'Complete']]));
    await send('events', readCompleted('read.completed', company, connection, at, [['invoices', 'Complete'], ['bills', 'Complete']]));
    await send('legacy', commonLegacyBody('New company synchronised', company));
    const firstRead = await deliveredTypes(company);

    service.clock.advance(HOUR);
    await send('events', readCompleted('read.completed', company, connection, new Date(service.clock.now()).toISOString(), [['invoices', 'Complete']]));
    await send('legacy', { ...commonLegacyBody('Data sync completed', company, { dataType: 'invoices', datasetId: randomUUID() }), DataConnectionId: connection });

    expect(firstRead).toEqual(['company.firstSynced', 'dataset.synced', 'dataset.synced']);
    expect(await deliveredTypes(company)).toEqual(['company.firstSynced', 'dataset.synced', 'dataset.synced', 'dataset.synced']);
  });

  it('when the initial read succeeded for no data type (Codat\'s migration sample), then no first sync is delivered from either channel', async () => {
    const company = randomUUID();
    const connection = randomUUID();
    await send('events', readCompleted('read.completed.initial', company, connection, new Date(service.clock.now()).toISOString(), [['invoices', 'ProcessingError']]));
    await send('legacy', { ...commonLegacyBody('Data Sync Status Changed To Error', company, { dataType: 'invoices', datasetStatus: 'ProcessingError' }), DataConnectionId: connection });

    expect(await deliveredTypes(company)).toEqual(['dataset.syncFailed']);
  });

  it('when Codat spells a push status Successful and names the expenses rule Sync Complete, then each pairs with its twin and is delivered once', async () => {
    const company = randomUUID();
    const pushKey = randomUUID();
    const syncId = randomUUID();
    const at = new Date(service.clock.now()).toISOString();
    await send('legacy', commonLegacyBody('Push Operation Status Changed()', company, { dataType: 'bills', status: 'Successful', pushOperationKey: pushKey }));
    await send('events', {
      id: randomUUID(), eventType: 'bills.write.successful', generatedDate: at,
      payload: { id: pushKey, type: 'Create', referenceCompany: { id: company }, status: 'Success' },
    });
    await send('legacy', { AlertId: randomUUID(), RuleType: 'Sync Complete', CompanyId: company, Data: { syncId, syncType: 'Expense' } });
    await send('events', { id: randomUUID(), eventType: 'expenses.sync.successful', generatedDate: at, payload: { referenceCompany: { id: company }, syncId, transactions: [] } });

    expect(await deliveredTypes(company)).toEqual(['expenses.syncFinished', 'write.succeeded']);
    expect(service.sink.deliveries.find((d) => d.body.type === 'write.succeeded')?.body.data).toMatchObject({ status: 'Success' });
  });
});
