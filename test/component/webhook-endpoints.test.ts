import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allSampleNames, sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const LEGACY = '/webhooks/codat/legacy';
const EVENTS = '/webhooks/codat/events';
const pathFor = (name: string) => (name.startsWith('legacy-') ? LEGACY : EVENTS);

async function post(service: TestService, path: string, body: string, headers: Record<string, string> = signedHeaders(body, { timestampMs: service.clock.now() })) {
  return request(service.app).post(path).set(headers).send(body);
}

describe('webhook endpoints', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService();
  });
  afterEach(async () => {
    await service.close();
  });

  it('when every sample is posted to its endpoint, then each is answered 202 and stored', async () => {
    for (const name of allSampleNames()) {
      const response = await post(service, pathFor(name), sampleText(name));
      expect(response.status, name).toBe(202);
      expect(response.body).toEqual({ status: 'accepted' });
    }
    await service.settle();
    expect((await service.store.counts()).inboxPending).toBe(0);
    expect((await service.store.counts()).quarantined).toBe(0);
  });

  it('when the toggle is off, then only legacy-derived events reach the downstream', async () => {
    for (const name of allSampleNames()) await post(service, pathFor(name), sampleText(name));
    await service.settle();
    const channels = new Set(service.sink.deliveries.map((d) => (d.body.source as { channel: string }).channel));
    expect(channels).toEqual(new Set(['legacy']));
    expect(service.sink.types()).toContain('company.accountCategoriesUpdated');
    expect(service.sink.types()).not.toContain('company.created');
  });

  it('when the toggle is on, then new-event-derived events reach the downstream, plus the legacy types with no replacement', async () => {
    service.toggle.on = true;
    for (const name of allSampleNames()) await post(service, pathFor(name), sampleText(name));
    await service.settle();
    const legacyDelivered = service.sink.deliveries.filter((d) => (d.body.source as { channel: string }).channel === 'legacy').map((d) => String(d.body.type));
    expect(legacyDelivered.sort()).toEqual(['company.accountCategoriesUpdated', 'expenses.syncStarted']);
    expect(service.sink.types()).toContain('company.created');
    expect(service.sink.types()).toContain('write.succeeded');
  });

  it('when both channels carry the same occurrences, then nothing is delivered twice whatever the toggle does', async () => {
    const names = allSampleNames();
    for (const [i, name] of names.entries()) {
      service.toggle.on = i % 3 === 0;
      await post(service, pathFor(name), sampleText(name));
      await service.processor.drain();
    }
    service.clock.advance(10 * 60_000);
    await service.settle();
    const ids = service.sink.deliveries.map((d) => d.idempotencyKey);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of service.sink.deliveries) expect(d.body.id).toBe(d.idempotencyKey);
  });

  it('when a webhook is redelivered with the same webhook-id, then it is answered 200 duplicate and delivered once', async () => {
    const body = sampleText('legacy-DataSyncCompleted');
    const headers = signedHeaders(body, { id: 'msg_same', timestampMs: service.clock.now() });
    expect((await post(service, LEGACY, body, headers)).status).toBe(202);
    const again = await post(service, LEGACY, body, headers);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate' });
    await service.settle();
    expect(service.sink.deliveries).toHaveLength(1);
  });

  it('when a legacy body comes with the same AlertId but no webhook-id (legacy rules service), then it is deduplicated on AlertId', async () => {
    const legacyAuth = await buildTestService({ credentials: { legacy: { secrets: [], authorization: 'Bearer s3cret', allowUnsigned: false } } });
    const body = sampleText('legacy-DatasetDataChanged');
    const headers = { 'content-type': 'application/json', authorization: 'Bearer s3cret' };
    expect((await post(legacyAuth, LEGACY, body, headers)).status).toBe(202);
    expect((await post(legacyAuth, LEGACY, body, headers)).status).toBe(200);
    await legacyAuth.close();
  });

  it('when a documented legacy variant arrives (Type, no RuleId, PascalCase Data, no "()"), then it is accepted and converted', async () => {
    const body = JSON.stringify({
      AlertId: 'a1b2c3d4-0000-4000-8000-000000000001',
      Type: 'PushOperationStatusChanged',
      CompanyId: '8a210b68-6988-11ed-a1eb-0242ac120002',
      DataConnectionId: '2e9d2c44-f675-40ba-8049-353bfcb5e171',
      Data: { DataType: 'invoices', Status: 'Success', PushOperationKey: 'c2f8847d-3047-4619-a157-6d947d8e4a73' },
    });
    expect((await post(service, LEGACY, body)).status).toBe(202);
    await service.settle();
    expect(service.sink.deliveries[0]?.body).toMatchObject({ type: 'write.succeeded', data: { dataType: 'invoices', status: 'Success' } });
  });

  it('when a legacy-format body reaches the events URL, then it is converted as legacy', async () => {
    const body = sampleText('legacy-AccountCategoriesUpdated');
    expect((await post(service, EVENTS, body)).status).toBe(202);
    await service.settle();
    expect(service.sink.deliveries[0]?.body).toMatchObject({ type: 'company.accountCategoriesUpdated', source: { channel: 'legacy' } });
  });

  it('when an authentic webhook has an unknown type, then it is answered 202, kept, counted and not delivered', async () => {
    const body = JSON.stringify({ id: 'e0000000-0000-4000-8000-000000000001', eventType: 'ledger.reconciled', generatedDate: '2026-01-01T00:00:00Z', payload: {} });
    expect((await post(service, EVENTS, body)).status).toBe(202);
    await service.settle();
    expect(service.sink.deliveries).toHaveLength(0);
    expect((await service.store.listQuarantine(10))[0]).toMatchObject({ state: 'unrecognised', detail: 'unknown_event_type:ledger.reconciled' });
    expect(await service.metrics.registry.getSingleMetricAsString('codat_cutover_unrecognised_total')).toContain('channel="events"} 1');
  });

  it('when the delivered event is inspected, then it carries id, type, occurredAt, companyId, source and the Idempotency-Key', async () => {
    service.toggle.on = true;
    await post(service, EVENTS, sampleText('event-dataType.write.successful-invoices'));
    await service.settle();
    const [delivered] = service.sink.deliveries;
    expect(delivered?.body).toMatchObject({
      type: 'write.succeeded',
      occurredAt: '2024-11-04T10:00:23Z',
      companyId: '8a210b68-6988-11ed-a1eb-0242ac120002',
      source: { channel: 'events', id: '5d0c2b5e-1a7f-4c39-9f0e-000000000010', type: 'invoices.write.successful' },
    });
    expect(delivered?.idempotencyKey).toBe(delivered?.body.id);
  });
});

describe('answers for what can never succeed, and for what is transient', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService({ bodyLimitBytes: 2048 });
  });
  afterEach(async () => {
    await service.close();
  });

  it('when the signature does not match, then 401 invalid_signature and nothing is stored', async () => {
    const body = sampleText('event-company.created');
    const headers = signedHeaders(body, { secret: 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==', timestampMs: service.clock.now() });
    const response = await post(service, EVENTS, body, headers);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code: 'invalid_signature', message: expect.any(String) } });
    expect((await service.store.counts()).inboxPending).toBe(0);
  });

  it('when no credentials are sent, then 401 missing_credentials', async () => {
    const response = await request(service.app).post(LEGACY).set('content-type', 'application/json').send(sampleText('legacy-SyncStarted'));
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('missing_credentials');
  });

  it('when the body is not JSON but authentic, then 400 malformed_json and it is kept in quarantine', async () => {
    const response = await post(service, EVENTS, '{"id": "x", ');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('malformed_json');
    expect(await service.store.listQuarantine(10)).toMatchObject([{ state: 'quarantined', detail: 'malformed_json' }]);
  });

  it('when the body is larger than the limit, then 413 payload_too_large', async () => {
    const body = JSON.stringify({ eventType: 'company.created', pad: 'x'.repeat(4096) });
    const response = await post(service, EVENTS, body);
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large');
  });

  it('when an authentic body is JSON but not an object, then 202 and it is quarantined with the reason', async () => {
    for (const body of ['[1,2]', '"text"', '42', 'null']) {
      expect((await post(service, EVENTS, body)).status, body).toBe(202);
    }
    await service.settle();
    const kept = await service.store.listQuarantine(10);
    expect(kept).toHaveLength(4);
    expect(kept.every((k) => k.state === 'quarantined')).toBe(true);
  });

  it('when the store cannot take the webhook, then 503 store_unavailable with Retry-After, and nothing is acknowledged', async () => {
    const failing = await buildTestService();
    failing.store.append = async () => {
      throw new Error('disk full');
    };
    const response = await post(failing, EVENTS, sampleText('event-company.created'));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body.error.code).toBe('store_unavailable');
    await failing.close();
  });

  it('when an unknown route is called, then 404 not_found in the same error shape', async () => {
    const response = await request(service.app).get('/nope');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: 'No such route.' } });
  });
});

describe('delivery to the downstream', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService({ maxAttempts: 3, adminToken: 'admin-token-0123456789' });
  });
  afterEach(async () => {
    await service.close();
  });

  it('when the downstream fails once, then the event is retried after a backoff and delivered once', async () => {
    service.sink.failNext = 1;
    await post(service, LEGACY, sampleText('legacy-SyncStarted'));
    await service.settle();
    expect(service.sink.deliveries).toHaveLength(0);
    service.clock.advance(5_000);
    await service.delivery.tick();
    expect(service.sink.deliveries).toHaveLength(1);
  });

  it('when every attempt fails, then the event is dead-lettered and an operator can replay it', async () => {
    service.sink.failNext = 3;
    await post(service, LEGACY, sampleText('legacy-SyncStarted'));
    await service.settle();
    for (let i = 0; i < 3; i += 1) {
      service.clock.advance(60_000);
      await service.delivery.tick();
    }
    const auth = { authorization: 'Bearer admin-token-0123456789' };
    const dead = await request(service.app).get('/admin/dead-letters').set(auth);
    // Ids and reasons, no bodies (docs/security.md).
    expect(dead.body.deadLetters).toHaveLength(1);
    expect(dead.body.deadLetters[0]).toMatchObject({ occurrenceId: expect.any(String), attempts: 3, lastError: expect.stringContaining('downstream unavailable') });
    expect(dead.body.deadLetters[0]).not.toHaveProperty('payload');
    // The company id names the entry; what the body says (the sync id) is only in the one-entry view.
    expect(dead.text).not.toContain(JSON.parse(sampleText('legacy-SyncStarted')).Data.syncId);
    expect((await request(service.app).post('/admin/dead-letters/replay').set(auth)).body).toEqual({ replayed: 1 });
    await service.delivery.tick();
    expect(service.sink.deliveries).toHaveLength(1);
  });

  it('when operator endpoints are called with a wrong token, then 401; with no ADMIN_TOKEN set, then 403 admin_disabled', async () => {
    expect((await request(service.app).get('/admin/quarantine').set('authorization', 'Bearer nope')).status).toBe(401);
    const noAdmin = await buildTestService();
    const response = await request(noAdmin.app).get('/admin/quarantine');
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('admin_disabled');
    await noAdmin.close();
  });
});

describe('operational endpoints', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService();
  });
  afterEach(async () => {
    await service.close();
  });

  it('when operator and webhook endpoints answer JSON, then each says X-Content-Type-Options: nosniff', async () => {
    const admin = await buildTestService({ adminToken: 'admin-token-0123456789' });
    try {
      const auth = { authorization: 'Bearer admin-token-0123456789' };
      const answers: [string, request.Response][] = [
        ['dead letters', await request(admin.app).get('/admin/dead-letters').set(auth)],
        ['quarantine', await request(admin.app).get('/admin/quarantine').set(auth)],
        ['quarantine replay', await request(admin.app).post('/admin/quarantine/replay').set(auth)],
        ['a refused operator call', await request(admin.app).get('/admin/dead-letters')],
        ['the report as JSON', await request(admin.app).get('/cutover').set(auth).set('accept', 'application/json')],
        ['readyz', await request(admin.app).get('/readyz')],
        ['a webhook', await post(admin, LEGACY, sampleText('legacy-SyncStarted'))],
        ['no such route', await request(admin.app).get('/no-such-route')],
      ];
      for (const [what, answer] of answers) {
        expect(answer.headers['content-type'], what).toMatch(/^application\/json/);
        expect(answer.headers['x-content-type-options'], what).toBe('nosniff');
      }
    } finally {
      await admin.close();
    }
  });

  it('when /cutover is read as HTML, then a strict Content-Security-Policy admits only its own stylesheet, by hash', async () => {
    const page = await request(service.app).get('/cutover').set('accept', 'text/html');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const styles = [...page.text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toMatch(/^default-src 'none'; style-src [^;]+; base-uri 'none'; form-action 'self'; frame-ancestors 'none'$/);
    expect(policy).toContain(`'sha256-${hash}'`);
    expect(policy).not.toContain('unsafe-inline');
    // Nothing else the policy would block: no script, no style attribute, nothing loaded.
    expect(page.text).not.toMatch(/<script|\sstyle=|<link|<img|src=/i);
  });

  it('when /healthz and /readyz are called, then the service says it is alive and ready with the flag source', async () => {
    expect((await request(service.app).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(service.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', store: 'ok', flags: { source: 'bootstrap' } });
  });

  it('when traffic has flowed, then /metrics counts requests by endpoint and outcome and domain events by channel, type and role', async () => {
    await post(service, LEGACY, sampleText('legacy-DataSyncCompleted'));
    await post(service, EVENTS, sampleText('event-read.completed'));
    await post(service, EVENTS, '{}', { 'content-type': 'application/json' });
    await service.settle();
    const text = (await request(service.app).get('/metrics')).text;
    expect(text).toContain('codat_cutover_webhooks_received_total{endpoint="legacy",outcome="stored"} 1');
    expect(text).toContain('codat_cutover_auth_failures_total{endpoint="events",reason="missing_credentials"} 1');
    expect(text).toContain('codat_cutover_domain_events_total{channel="legacy",type="dataset.synced",role="primary"} 1');
    expect(text).toContain('codat_cutover_domain_events_total{channel="events",type="dataset.synced",role="shadow"}');
    expect(text).toContain('codat_cutover_toggle_evaluations_total{result="off"}');
    expect(text).toContain('process_resident_memory_bytes');
  });
});
