/**
 * What the service is once the legacy format is gone (the contract phase): the new-event endpoint takes in,
 * pairs and delivers on its own. Runs in the full tree and in `npm run contract:rehearsal`, which deletes
 * the legacy format's folder first; so it names nothing of that format.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src/domain/domain-event.js';
import { FORMATS } from '../../src/formats/index.js';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const post = (service: TestService, body: string, id = `msg_${randomUUID()}`) =>
  request(service.app).post('/webhooks/codat/events').set(signedHeaders(body, { id, timestampMs: service.clock.now() })).send(body);

/** A sample of the new format for one fresh company and occurrence. */
function freshEvent(name: string): string {
  const body = JSON.parse(sampleText(name)) as { id?: string; payload?: Record<string, unknown>; companyId?: string };
  const companyId = randomUUID();
  return JSON.stringify({ ...body, id: randomUUID(), companyId, payload: { ...body.payload, companyId, id: randomUUID() } });
}

describe('the service with the new-event format alone', () => {
  let service: TestService;
  beforeEach(async () => {
    service = await buildTestService();
    service.toggle.on = true;
  });
  afterEach(async () => {
    await service.close();
  });

  it('when new-event webhooks arrive, are redelivered and settle, then each occurrence reaches the downstream once', async () => {
    const names = ['event-connection.created', 'event-company.created', 'event-client.rateLimit.reached'];
    const bodies = names.map(freshEvent);
    for (const body of bodies) {
      const id = `msg_${randomUUID()}`;
      expect((await post(service, body, id)).status).toBe(202);
      // Codat's retry of the same message: acknowledged as already stored.
      expect((await post(service, body, id)).status).toBe(200);
    }
    await service.settle();
    expect(service.sink.deliveries).toHaveLength(bodies.length);
    expect((await service.store.counts()).inboxPending).toBe(0);
  });

  it('when a channel has no format in the formats list, then its endpoint does not exist; every format it lists has one', async () => {
    for (const channel of CHANNELS) {
      const listed = FORMATS.some((format) => format.channel === channel);
      const answer = await request(service.app).post(`/webhooks/codat/${channel}`).set('content-type', 'application/json').send('{}');
      expect(answer.status === 404, channel).toBe(!listed);
    }
  });
});
