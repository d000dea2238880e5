/**
 * What each answer of the downstream does to a delivery, through the real path: a webhook posted to the app,
 * converted, and delivered by the HTTP sink to a stub on 127.0.0.1 that answers as scripted.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, createHttpSink, retryAfterMs, statusVerdict } from '../../src/delivery/downstream-sink.js';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { refusingPort } from '../../tools/free-port.js';
import { buildTestService, type TestService } from '../support/test-service.js';

interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

interface StubDownstream {
  readonly url: string;
  readonly received: { headers: IncomingHttpHeaders; body: string; socket: unknown }[];
  close(): Promise<void>;
}

/** Answers each POST with the next scripted answer; the last one repeats. */
async function startStub(answers: readonly Answer[]): Promise<StubDownstream> {
  const received: { headers: IncomingHttpHeaders; body: string; socket: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), socket: req.socket });
      const answer = answers[Math.min(received.length, answers.length) - 1] ?? { status: 200 };
      res.writeHead(answer.status, answer.headers ?? {}).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const ADMIN_TOKEN = 'admin-token-for-the-tests';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('delivery semantics towards the downstream', () => {
  let service: TestService | undefined;
  let stub: StubDownstream | undefined;
  afterEach(async () => {
    await service?.close();
    await stub?.close();
    service = undefined;
    stub = undefined;
  });

  async function deliverOneThrough(url: string, options: { maxAttempts?: number; secret?: string } = {}): Promise<TestService> {
    service = await buildTestService({
      downstream: createHttpSink({ url, timeoutMs: 5000, userAgent: 'codat-cutover/9.9.9', secret: options.secret }),
      maxAttempts: options.maxAttempts ?? 5,
      adminToken: ADMIN_TOKEN,
    });
    const body = sampleText('legacy-SyncCompleted');
    const accepted = await request(service.app).post('/webhooks/codat/legacy').set(signedHeaders(body, { timestampMs: service.clock.now() })).send(body);
    expect(accepted.status).toBe(202);
    await service.settle();
    return service;
  }

  const countOf = async (s: TestService, outcome: string) =>
    (await s.metrics.deliveries.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

  for (const status of [400, 404, 410, 422]) {
    it(`when the downstream answers ${status}, then the delivery is dead-lettered at once, not retried`, async () => {
      stub = await startStub([{ status }]);
      const s = await deliverOneThrough(stub.url);
      s.clock.advance(3600_000);
      await s.delivery.tick();
      expect(stub.received).toHaveLength(1);
      const [dead] = await s.store.listDeadLetters(10);
      expect(dead?.attempts).toBe(1);
      expect(dead?.lastError).toContain(`HTTP ${status}`);
      expect(dead?.lastError).toContain('not retried');
    });
  }

  it('when the downstream answers 409, then the delivery counts as delivered (it has seen the Idempotency-Key)', async () => {
    stub = await startStub([{ status: 409 }]);
    const s = await deliverOneThrough(stub.url);
    expect(stub.received).toHaveLength(1);
    expect(await countOf(s, 'delivered')).toBe(1);
    expect((await s.store.counts()).deadLetters).toBe(0);
    expect((await s.store.counts()).deliveriesPending).toBe(0);
  });

  it('when the downstream answers 429 with Retry-After, then the next attempt waits that long, not the backoff', async () => {
    stub = await startStub([{ status: 429, headers: { 'retry-after': '30' } }, { status: 200 }]);
    const s = await deliverOneThrough(stub.url);
    expect(stub.received).toHaveLength(1);
    // The backoff after a first failure is about 1 s: Retry-After holds the delivery for 30 s instead.
    s.clock.advance(29_000);
    await s.delivery.tick();
    expect(stub.received).toHaveLength(1);
    s.clock.advance(2_000);
    await s.delivery.tick();
    expect(stub.received).toHaveLength(2);
    expect(await countOf(s, 'delivered')).toBe(1);
  });

  it('when the downstream answers 503, then the delivery is retried with backoff and delivered when it recovers', async () => {
    stub = await startStub([{ status: 503 }, { status: 503 }, { status: 201 }]);
    const s = await deliverOneThrough(stub.url);
    for (let i = 0; i < 2; i += 1) {
      s.clock.advance(60_000);
      await s.delivery.tick();
    }
    expect(stub.received).toHaveLength(3);
    expect(await countOf(s, 'failed')).toBe(2);
    expect(await countOf(s, 'delivered')).toBe(1);
    // The same Idempotency-Key on every attempt.
    expect(new Set(stub.received.map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('when nothing listens, then the dead letter and the operator API keep the cause (ECONNREFUSED and the address), and the payload is an object', async () => {
    const port = await refusingPort();
    const s = await deliverOneThrough(`http://127.0.0.1:${port}/events`, { maxAttempts: 1 });
    const [dead] = await s.store.listDeadLetters(10);
    expect(dead?.lastError).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    const shown = await request(s.app).get(`/admin/dead-letters/${dead?.occurrenceId ?? ''}`).set('authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(shown.status).toBe(200);
    expect(shown.body.deadLetter.lastError).toContain('ECONNREFUSED');
    expect(typeof shown.body.deadLetter.payload).toBe('object');
    expect(shown.body.deadLetter.payload).toMatchObject({ id: dead?.occurrenceId, type: 'expenses.syncFinished' });
  });

  it('when the downstream never answers, then the attempt fails after the sink\'s timeout, not never', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const sink = createHttpSink({ url: `http://127.0.0.1:${port}/events`, timeoutMs: 300, userAgent: 'codat-cutover/9.9.9' });
      const started = Date.now();
      await expect(sink.deliver('{}', 'occurrence-1')).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('when many deliveries go out one after another, then they share a kept-alive connection', async () => {
    stub = await startStub([{ status: 200, body: 'thank you '.repeat(10_000) }]);
    const sockets = new Set<unknown>();
    const sink = createHttpSink({ url: stub.url, timeoutMs: 5000, userAgent: 'codat-cutover/9.9.9' });
    for (let i = 0; i < 20; i += 1) await sink.deliver('{}', `occurrence-${i}`);
    for (const r of stub.received) sockets.add(r.socket);
    expect(stub.received).toHaveLength(20);
    // Not one each: an answer whose body were left unread would keep its connection busy.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it('when a delivery goes out, then it names this service and its version in User-Agent', async () => {
    stub = await startStub([{ status: 200 }]);
    await deliverOneThrough(stub.url);
    expect(stub.received[0]?.headers['user-agent']).toBe('codat-cutover/9.9.9');
    expect(stub.received[0]?.headers['webhook-signature']).toBeUndefined();
  });

  it('when DOWNSTREAM_SECRET is set, then each delivery is signed with Standard Webhooks and verifies with the same secret', async () => {
    stub = await startStub([{ status: 200 }]);
    await deliverOneThrough(stub.url, { secret: SECRET });
    const [delivery] = stub.received;
    if (!delivery) throw new Error('nothing was delivered');
    const headers = {
      'webhook-id': String(delivery.headers['webhook-id']),
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': String(delivery.headers['webhook-signature']),
    };
    expect(new Webhook(SECRET).verify(delivery.body, headers)).toMatchObject({ id: delivery.headers['idempotency-key'] });
    expect(headers['webhook-id']).toBe(delivery.headers['idempotency-key']);
    expect(() => new Webhook('whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==').verify(delivery.body, headers)).toThrow();
  });
});

describe('the status policy and Retry-After (src/delivery/downstream-sink.ts)', () => {
  it.each([
    [200, 'delivered'], [204, 'delivered'], [409, 'delivered'],
    [400, 'dead-letter'], [401, 'dead-letter'], [403, 'dead-letter'], [404, 'dead-letter'], [410, 'dead-letter'], [413, 'dead-letter'], [422, 'dead-letter'],
    [408, 'retry'], [425, 'retry'], [429, 'retry'], [500, 'retry'], [502, 'retry'], [503, 'retry'], [504, 'retry'], [302, 'retry'],
  ] as const)('when the downstream answers %i, then the verdict is %s', (status, verdict) => {
    expect(statusVerdict(status)).toBe(verdict);
  });

  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['Thu, 01 Jan 2026 12:01:30 GMT', 90_000],
    ['Thu, 01 Jan 2026 11:00:00 GMT', 0],
    ['999999', MAX_RETRY_AFTER_MS],
    ['soon', null],
    ['-5', null],
  ] as const)('when Retry-After is %j, then the wait is %j ms', (header, wait) => {
    expect(retryAfterMs(header, now)).toBe(wait);
  });
});
