/**
 * The credential decides what a sender may post (docs/security.md, "Who can send what"): the
 * static legacy `Authorization` admits legacy-format bodies only; a Standard Webhooks signature
 * with either secret admits either format. Through the HTTP edge, for each credential × format.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const LEGACY = '/webhooks/codat/legacy';
const EVENTS = '/webhooks/codat/events';
const LEGACY_SECRET = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';
const EVENTS_SECRET = 'whsec_YW5vdGhlciBzZWNyZXQgZm9yIHJvdGF0aW9u';
const LEGACY_AUTH = 'Bearer legacy-static-0123456789';

type Format = 'legacy' | 'events';

/** A fresh body of each format (new ids, so each case is a new occurrence). */
function bodyOf(format: Format): string {
  if (format === 'legacy') {
    const body = JSON.parse(sampleText('legacy-SyncCompleted')) as Record<string, unknown>;
    return JSON.stringify({ ...body, AlertId: randomUUID() });
  }
  // The body of the issue: `{id, eventType: "company.deleted", payload}`.
  const body = JSON.parse(sampleText('event-company.deleted')) as Record<string, unknown>;
  return JSON.stringify({ ...body, id: randomUUID() });
}

type Credential = 'static header' | 'legacy secret' | 'legacy secret and static header' | 'static header and a wrong signature' | 'events secret';

function headersFor(credential: Credential, body: string, now: number): Record<string, string> {
  const json = { 'content-type': 'application/json' };
  switch (credential) {
    case 'static header':
      return { ...json, authorization: LEGACY_AUTH };
    case 'legacy secret':
      return signedHeaders(body, { secret: LEGACY_SECRET, timestampMs: now });
    case 'legacy secret and static header':
      // Codat's new service, after it migrated the rules: a signature and the old header as a custom one.
      return { ...signedHeaders(body, { secret: LEGACY_SECRET, timestampMs: now }), authorization: LEGACY_AUTH };
    case 'static header and a wrong signature':
      return { ...signedHeaders(body, { secret: EVENTS_SECRET, timestampMs: now }), authorization: LEGACY_AUTH };
    case 'events secret':
      return signedHeaders(body, { secret: EVENTS_SECRET, timestampMs: now });
  }
}

async function serviceFor(format: Format): Promise<TestService> {
  const service = await buildTestService({
    credentials: {
      legacy: { secrets: [LEGACY_SECRET], authorization: LEGACY_AUTH, allowUnsigned: false },
      events: { secrets: [EVENTS_SECRET], allowUnsigned: false },
    },
  });
  // The primary channel is the body's format, so an admitted body is delivered at once.
  service.toggle.on = format === 'events';
  return service;
}

async function authFailures(service: TestService): Promise<string> {
  return (await service.metrics.registry.getSingleMetricAsString('codat_cutover_auth_failures_total')) ?? '';
}

describe('what each credential admits', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  const admitted: [Credential, string, Format][] = [
    ['static header', LEGACY, 'legacy'],
    ['static header and a wrong signature', LEGACY, 'legacy'],
    ['legacy secret', LEGACY, 'legacy'],
    ['legacy secret', LEGACY, 'events'],
    ['legacy secret and static header', LEGACY, 'legacy'],
    ['legacy secret and static header', LEGACY, 'events'],
    ['events secret', EVENTS, 'events'],
    ['events secret', EVENTS, 'legacy'],
  ];
  for (const [credential, path, format] of admitted) {
    it(`when a ${format}-format body comes to ${path} with the ${credential}, then it is accepted, stored and delivered as a ${format} event`, async () => {
      service = await serviceFor(format);
      const body = bodyOf(format);
      const response = await request(service.app).post(path).set(headersFor(credential, body, service.clock.now())).send(body);
      expect(response.status).toBe(202);
      expect(response.body).toEqual({ status: 'accepted' });
      expect((await service.store.counts()).inboxPending).toBe(1);
      await service.settle();
      expect(service.sink.deliveries.map((d) => (d.body.source as { channel: string }).channel)).toEqual([format]);
    });
  }

  for (const credential of ['static header', 'static header and a wrong signature'] as const) {
    it(`when a new-format body comes to the legacy endpoint with the ${credential} (toggle on), then it is refused 403 credential_not_allowed_for_format, counted, never stored, never delivered`, async () => {
      service = await serviceFor('events');
      const body = bodyOf('events');
      const response = await request(service.app).post(LEGACY).set(headersFor(credential, body, service.clock.now())).send(body);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({
        error: { code: 'credential_not_allowed_for_format', message: 'The legacy Authorization header admits legacy-format bodies only; this body needs a signature.' },
      });
      expect(await service.store.counts()).toMatchObject({ inboxPending: 0, quarantined: 0 });
      await service.settle();
      expect(service.sink.deliveries).toEqual([]);
      expect(await authFailures(service)).toContain('codat_cutover_auth_failures_total{endpoint="legacy",reason="credential_not_allowed_for_format"} 1');
    });
  }

  it('when the static header comes with a body of neither format, then it is kept on the legacy channel as today (unrecognised), not refused', async () => {
    service = await serviceFor('legacy');
    const body = JSON.stringify({ AlertId: randomUUID(), Something: 'else' });
    const response = await request(service.app).post(LEGACY).set(headersFor('static header', body, service.clock.now())).send(body);
    expect(response.status).toBe(202);
    await service.settle();
    expect(await service.store.listQuarantine(10)).toMatchObject([{ channel: 'legacy' }]);
    expect(service.sink.deliveries).toEqual([]);
  });

  it('when the static header comes to the events endpoint, then it is not a credential there (401 missing_credentials)', async () => {
    service = await serviceFor('events');
    const body = bodyOf('events');
    const response = await request(service.app).post(EVENTS).set(headersFor('static header', body, service.clock.now())).send(body);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('missing_credentials');
  });
});
