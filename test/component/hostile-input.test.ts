/**
 * Hostile and broken input at the HTTP edge (issue 3). Every case checks the documented answer
 * (status and `error.code`, docs/security.md), that nothing reaches the downstream, that nothing
 * authentic is lost (it is in the inbox or the quarantine), and that the service stays healthy:
 * a valid webhook sent afterwards is stored and delivered. No answer may be a 5xx, and no
 * promise may be left rejected.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { signPayload } from '../../src/webhooks/webhook-authenticator.js';
import { createServices, type Service } from '../../src/services.js';
import { loadConfig } from '../../src/config.js';
import { systemClock, type Clock } from '../../src/domain/ports.js';
import { DEFAULT_SERVER_TIMEOUTS, createHttpServer, type ServerTimeouts } from '../../src/http/http-server.js';
import { MAX_JSON_DEPTH } from '../../src/webhooks/webhook-receiver.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import type { SqlDriver } from '../../src/store/sql-driver.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { sampleText } from '../support/samples.js';
import { TEST_SECRET } from '../../tools/signing.js';
import { buildTestService, type TestService, type TestServiceOptions } from '../support/test-service.js';

/**
 * A stand-in for "the mapping was fixed": once `fixed`, an event payload that names its company
 * `company` (schema drift the current mapper does not know) is read as `referenceCompany`.
 */
const mapping = vi.hoisted(() => ({ fixed: false }));
vi.mock('../../src/formats/events/event-webhook-mapper.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/formats/events/event-webhook-mapper.js')>();
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const fix = (body: unknown): unknown => {
    if (!isRecord(body) || !isRecord(body.payload) || !Object.hasOwn(body.payload, 'company')) return body;
    return { ...body, payload: { ...body.payload, referenceCompany: body.payload.company } };
  };
  return { ...original, convertEventWebhook: (body: unknown) => original.convertEventWebhook(mapping.fixed ? fix(body) : body) };
});

const LEGACY = '/webhooks/codat/legacy';
const EVENTS = '/webhooks/codat/events';
const OTHER_SECRET = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';
const LEGACY_AUTH = 'Bearer legacy-static-0123456789';
const ADMIN = 'admin-token-0123456789';

// ── Process-level guards ────────────────────────────────────────────────────────────────────

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

// ── The service under test ──────────────────────────────────────────────────────────────────

interface InboxRow {
  channel: string;
  endpoint: string;
  dedupe_key: string;
  state: string;
  detail: string | null;
  headers: string;
  body: Buffer;
}

interface Harness extends TestService {
  /** Every status answered in this test, to assert that none is a 5xx. */
  readonly statuses: number[];
  inbox(): Promise<InboxRow[]>;
  deliveryPayloads(): Promise<string[]>;
}

let open: Harness[] = [];

async function harness(options: TestServiceOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-hostile-'));
  const driver: SqlDriver = createSqliteDriver(join(dir, 'store.sqlite'));
  const service = await buildTestService({ adminToken: ADMIN, ...options, store: createSqlCutoverStore(driver) });
  const closeService = service.close.bind(service);
  const h: Harness = Object.assign(service, {
    statuses: [] as number[],
    inbox: () => driver.transaction((tx) => tx.query<InboxRow & Record<string, unknown>>('SELECT * FROM inbox ORDER BY id')),
    deliveryPayloads: async () =>
      (await driver.transaction((tx) => tx.query<{ payload: string }>('SELECT payload FROM deliveries ORDER BY occurrence_id'))).map((r) => r.payload),
    close: async () => {
      await closeService();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  open.push(h);
  return h;
}

beforeEach(() => {
  unhandled.length = 0;
  mapping.fixed = false;
});

afterEach(async () => {
  const closing = open;
  open = [];
  const serverErrors = closing.flatMap((h) => h.statuses.filter((s) => s >= 500));
  for (const h of closing) await h.close();
  expect(serverErrors, 'no 5xx answers').toEqual([]);
  // Give stray promises a turn to surface before judging.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled, 'no unhandled rejection or exception').toEqual([]);
});

/** Standard Webhooks headers over exact bytes, at the service's clock unless told otherwise. */
function sign(h: { readonly clock: Clock }, body: string | Buffer, options: { id?: string; atMs?: number; secret?: string; prefix?: 'webhook' | 'svix' } = {}) {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = String(Math.floor((options.atMs ?? h.clock.now()) / 1000));
  const prefix = options.prefix ?? 'webhook';
  return {
    'content-type': 'application/json',
    [`${prefix}-id`]: id,
    [`${prefix}-timestamp`]: timestamp,
    [`${prefix}-signature`]: signPayload(options.secret ?? TEST_SECRET, id, timestamp, raw),
  } as Record<string, string>;
}

async function post(h: Harness, path: string, body: string | Buffer, headers: Record<string, string> = sign(h, body)) {
  // The identity serializer: superagent would otherwise JSON-encode a Buffer sent as application/json.
  const response = await request(h.app).post(path).set(headers).serialize((raw: unknown) => raw as string).send(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  h.statuses.push(response.status);
  return response;
}

/** A legacy-only occurrence (delivered whatever the toggle says) with fresh identifiers. */
function freshLegacyBody(): string {
  return JSON.stringify({ AlertId: randomUUID(), RuleType: 'Sync Started', CompanyId: randomUUID(), Data: { syncId: randomUUID(), syncType: 'Expense' } });
}

/** After a hostile request: nothing delivered, then a valid webhook is stored and delivered as usual. */
async function expectNothingDeliveredAndStillHealthy(h: Harness): Promise<void> {
  await h.settle();
  expect(h.sink.deliveries, 'nothing reaches the downstream').toEqual([]);
  const body = freshLegacyBody();
  const response = await post(h, LEGACY, body);
  expect(response.status).toBe(202);
  await h.settle();
  expect(h.sink.deliveries).toHaveLength(1);
  expect(h.sink.deliveries[0]?.body).toMatchObject({ type: 'expenses.syncStarted', companyId: (JSON.parse(body) as { CompanyId: string }).CompanyId });
  expect((await request(h.app).get('/healthz')).body).toEqual({ status: 'ok' });
}

const metricLine = async (h: TestService, name: string) => h.metrics.registry.getSingleMetricAsString(name);

// ── Unreadable bodies ───────────────────────────────────────────────────────────────────────

describe('authentic bodies that cannot be read: 400 with the reason, kept in quarantine byte for byte', () => {
  it.each([
    ['a truncated object', '{"id": "x", '],
    ['a trailing brace', '{"a":1}}'],
    ['single quotes', "{'a':1}"],
    ['NaN', 'NaN'],
    ['a trailing comma', '{"a":1,}'],
    ['a UTF-8 byte-order mark before the JSON', `\uFEFF${freshLegacyBody()}`],
  ])('when the body is %s, then 400 malformed_json', async (_what, body) => {
    const h = await harness();
    const response = await post(h, EVENTS, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: { code: 'malformed_json', message: 'The body is not valid JSON.' } });
    const [row] = await h.inbox();
    expect(row).toMatchObject({ state: 'quarantined', detail: 'malformed_json', endpoint: 'events' });
    expect(Buffer.compare(row!.body, Buffer.from(body, 'utf8'))).toBe(0);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when the signed body is empty, then 400 empty_body and the (empty) delivery is kept; unsigned, 401 and nothing is kept', async () => {
    const h = await harness();
    const signed = await post(h, LEGACY, '');
    expect(signed.status).toBe(400);
    expect(signed.body.error.code).toBe('empty_body');
    const unsigned = await post(h, LEGACY, '', { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('missing_credentials');
    expect(await h.inbox()).toMatchObject([{ state: 'quarantined', detail: 'empty_body', endpoint: 'legacy' }]);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it.each([
    ['a lone 0xFF', [0xff]],
    ['an overlong "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['a UTF-16 surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
    ['Latin-1 "café" inside JSON', [...Buffer.from('{"Message":"caf'), 0xe9, ...Buffer.from('"}')]],
  ])('when the body holds %s (invalid UTF-8), then 400 invalid_utf8 and the exact bytes are kept', async (_what, bytes) => {
    const h = await harness();
    const body = Buffer.from(bytes);
    const response = await post(h, LEGACY, body);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_utf8');
    const [row] = await h.inbox();
    expect(row).toMatchObject({ state: 'quarantined', detail: 'invalid_utf8' });
    expect(Buffer.compare(row!.body, body)).toBe(0);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when quarantined unreadable bodies are replayed, then they go back to quarantine: nothing lost, nothing delivered', async () => {
    const h = await harness();
    await post(h, EVENTS, '{"id": "x", ');
    await post(h, EVENTS, Buffer.from([0x7b, 0xff, 0x7d]));
    const replay = await request(h.app).post('/admin/quarantine/replay').set('authorization', `Bearer ${ADMIN}`);
    expect(replay.body).toEqual({ replayed: 2 });
    await h.settle();
    expect((await h.inbox()).map((r) => r.state)).toEqual(['quarantined', 'quarantined']);
    await expectNothingDeliveredAndStillHealthy(h);
  });
});

describe('authentic JSON that is not an object: 202 (Codat must not retry it), kept in quarantine with the reason', () => {
  it.each([
    ['[1,2]'],
    ['[]'],
    ['"text"'],
    ['42'],
    ['-0.5e3'],
    ['null'],
    ['true'],
  ])('when the body is %s, then 202 on both endpoints and both copies are quarantined', async (body) => {
    const h = await harness();
    for (const path of [LEGACY, EVENTS]) {
      const response = await post(h, path, body);
      expect(response.status, path).toBe(202);
      expect(response.body).toEqual({ status: 'accepted' });
    }
    await h.settle();
    expect(await h.store.listQuarantine(10)).toMatchObject([
      { channel: 'legacy', state: 'quarantined', detail: 'body_not_object' },
      { channel: 'events', state: 'quarantined', detail: 'not_a_json_object' },
    ]);
    await expectNothingDeliveredAndStillHealthy(h);
  });
});

// ── Size and encoding ───────────────────────────────────────────────────────────────────────

describe('bodies over the limit and content encodings', () => {
  const LIMIT = 2048;

  it('when a correctly signed body is over the limit, then 413 payload_too_large, it is not stored (it was never read) and it is counted', async () => {
    const h = await harness({ bodyLimitBytes: LIMIT });
    const body = JSON.stringify({ AlertId: randomUUID(), RuleType: 'Sync Started', Message: 'x'.repeat(LIMIT) });
    const response = await post(h, LEGACY, body);
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    expect(await h.inbox()).toEqual([]);
    expect(await metricLine(h, 'codat_cutover_webhooks_received_total')).toContain('{endpoint="legacy",outcome="payload_too_large"} 1');
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when an over-limit body comes chunked (no Content-Length), then 413 as well, and the server keeps serving', async () => {
    const h = await harness({ bodyLimitBytes: LIMIT });
    await withServer(h, DEFAULT_SERVER_TIMEOUTS, async (port) => {
      const body = Buffer.from(JSON.stringify({ eventType: 'company.created', pad: 'x'.repeat(LIMIT * 4) }));
      const answer = await httpPost(port, EVENTS, { ...sign(h, body), 'transfer-encoding': 'chunked' }, [body.subarray(0, LIMIT), body.subarray(LIMIT)]);
      h.statuses.push(answer.status);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    });
    expect(await h.inbox()).toEqual([]);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when a gzip bomb comes (2 KB that inflate to 4 MB), then 413: the limit applies to the inflated size', async () => {
    const h = await harness({ bodyLimitBytes: LIMIT });
    const inflated = Buffer.from(`{"pad":"${' '.repeat(4 * 1024 * 1024)}"}`);
    const bomb = gzipSync(inflated);
    expect(bomb.length).toBeLessThan(LIMIT * 4);
    const response = await post(h, EVENTS, bomb, { ...sign(h, inflated), 'content-encoding': 'gzip' });
    expect(response.status).toBe(413);
    expect(await h.inbox()).toEqual([]);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when a signed body comes gzip-encoded, then it is inflated, verified on the inflated bytes and accepted', async () => {
    const h = await harness();
    const body = freshLegacyBody();
    const response = await post(h, LEGACY, gzipSync(body), { ...sign(h, body), 'content-encoding': 'gzip' });
    expect(response.status).toBe(202);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });

  it('when the content encoding is unknown, then 415 unsupported_encoding and nothing is stored', async () => {
    const h = await harness();
    const body = freshLegacyBody();
    const response = await post(h, LEGACY, body, { ...sign(h, body), 'content-encoding': 'x-compress-9000' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported_encoding');
    expect(await h.inbox()).toEqual([]);
    await expectNothingDeliveredAndStillHealthy(h);
  });
});

// ── Deep nesting ────────────────────────────────────────────────────────────────────────────

describe('deeply nested JSON', () => {
  const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('measured: JSON.parse copes with 100,000 levels, but JSON.stringify and structuredClone of the result overflow the stack', () => {
    const value: unknown = JSON.parse(nestedArrays(100_000));
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    expect(() => structuredClone(value)).toThrow(RangeError);
  });

  it.each([
    ['100,000 nested arrays', () => nestedArrays(100_000)],
    ['100,000 nested objects in an event payload', () => `{"id":"${randomUUID()}","eventType":"company.created","payload":${nestedObjects(100_000)}}`],
    [`${MAX_JSON_DEPTH + 1} levels (arrays in a legacy Data field)`, () => `{"AlertId":"${randomUUID()}","RuleType":"Sync Started","Data":{"x":${nestedArrays(MAX_JSON_DEPTH - 1)}}}`],
  ])('when an authentic body holds %s, then 202 nesting_too_deep, kept in quarantine, never processed, and a replay does not break anything', async (_what, build) => {
    const h = await harness();
    const body = build();
    const response = await post(h, EVENTS, body);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ status: 'quarantined', reason: 'nesting_too_deep' });
    await h.settle();
    const [row] = await h.inbox();
    expect(row).toMatchObject({ state: 'quarantined', detail: 'nesting_too_deep' });
    expect(row!.body.length).toBe(Buffer.byteLength(body));
    expect(await metricLine(h, 'codat_cutover_quarantined_total')).toContain('reason="nesting_too_deep"} 1');
    // An operator replays it anyway: the processor reads it without throwing and it stays undelivered.
    expect((await request(h.app).post('/admin/quarantine/replay').set('authorization', `Bearer ${ADMIN}`)).body).toEqual({ replayed: 1 });
    await h.settle();
    expect((await h.inbox())[0]?.state).not.toBe('pending');
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it(`when a body nests exactly ${MAX_JSON_DEPTH} levels, then it is processed as usual`, async () => {
    const h = await harness();
    const body = JSON.parse(freshLegacyBody()) as Record<string, unknown>;
    const text = JSON.stringify(body).replace(/}$/, `,"Extra":${nestedArrays(MAX_JSON_DEPTH - 1)}}`);
    const response = await post(h, LEGACY, text);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ status: 'accepted' });
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });
});

// ── Prototype keys ──────────────────────────────────────────────────────────────────────────

describe('__proto__, constructor and prototype keys', () => {
  const COMPANY = '8a210b68-6988-11ed-a1eb-0242ac120002';
  const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
  const poison = (tag: string) =>
    `"__proto__":{"polluted":"${tag}","CompanyId":"evil","status":"evil"},"constructor":{"prototype":{"polluted":"${tag}-ctor"}},"prototype":{"polluted":"${tag}-proto"}`;

  function snapshotPrototypes() {
    return {
      object: Object.getOwnPropertyNames(Object.prototype).sort(),
      array: Object.getOwnPropertyNames(Array.prototype).sort(),
      fn: Object.getOwnPropertyNames(Function.prototype).sort(),
    };
  }

  /** Every object in a delivered payload is plain, and no key of it names a prototype. */
  function expectPlain(value: unknown, path = '$'): void {
    if (typeof value !== 'object' || value === null) return;
    expect([Object.prototype, Array.prototype], path).toContain(Object.getPrototypeOf(value));
    for (const key of Object.keys(value)) {
      expect(['__proto__', 'constructor', 'prototype'], `${path}.${key}`).not.toContain(key);
      expectPlain((value as Record<string, unknown>)[key], `${path}.${key}`);
    }
  }

  it('when authentic bodies carry them at every level on both endpoints, then Object.prototype is untouched after processing and delivery, and the deliveries hold none of them', async () => {
    const h = await harness();
    h.toggle.on = true;
    const before = snapshotPrototypes();
    const syncId = randomUUID();
    const legacy = `{${poison('top')},"AlertId":"${randomUUID()}","RuleType":"Sync Started","CompanyId":"${COMPANY}",` +
      `"Data":{${poison('data')},"syncId":"${syncId}","syncType":"Expense","Nested":{${poison('nested')}}}}`;
    const events = `{${poison('envelope')},"id":"${randomUUID()}","eventType":"read.completed","generatedDate":"2024-11-04T12:02:32Z",` +
      `"payload":{${poison('payload')},"referenceCompany":{${poison('company')},"id":"${COMPANY}","tags":{${poison('tags')}}},` +
      `"dataTypes":[{${poison('entry')},"connectionId":"${CONNECTION}","dataType":"invoices","status":"Complete","recordsModified":false},[{${poison('array')}}]]}}`;
    expect((await post(h, LEGACY, legacy)).status).toBe(202);
    expect((await post(h, EVENTS, events)).status).toBe(202);
    await h.settle();

    expect(snapshotPrototypes()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    expect(h.sink.types()).toEqual(['dataset.synced', 'expenses.syncStarted']);
    for (const delivery of h.sink.deliveries) {
      expect(delivery.body.companyId).toBe(COMPANY);
      expectPlain(delivery.body);
    }
    expect(h.sink.deliveries.find((d) => d.body.type === 'expenses.syncStarted')?.body.data).toEqual({ syncType: 'Expense' });
    expect(h.sink.deliveries.find((d) => d.body.type === 'dataset.synced')?.body.data).toEqual({ dataType: 'invoices' });
    for (const payload of await h.deliveryPayloads()) expect(payload).not.toMatch(/__proto__|constructor|prototype|polluted|evil/);
    // The authentic bytes are kept as they came.
    expect((await h.inbox()).map((r) => r.body.toString('utf8'))).toEqual([legacy, events]);
  });

  it('when the __proto__ value is not an object (null, a string, an array), then nothing changes either', async () => {
    const h = await harness();
    const before = snapshotPrototypes();
    for (const value of ['null', '"x"', '[1]', '1']) {
      expect((await post(h, LEGACY, `{"__proto__":${value},"AlertId":"${randomUUID()}","RuleType":"Sync Started","CompanyId":"${COMPANY}","Data":{"__proto__":${value},"syncId":"${randomUUID()}"}}`)).status).toBe(202);
    }
    await h.settle();
    expect(snapshotPrototypes()).toEqual(before);
    expect(h.sink.deliveries).toHaveLength(4);
  });
});

// ── Content type ────────────────────────────────────────────────────────────────────────────

describe('content types: the signature decides, not the Content-Type', () => {
  it.each([
    ['application/json'],
    ['application/json; charset=utf-8'],
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/octet-stream'],
    ['nonsense'],
  ])('when a signed body comes as %s, then it is accepted and delivered (never a 415 that Codat would give up on)', async (contentType) => {
    const h = await harness();
    const body = freshLegacyBody();
    const response = await post(h, LEGACY, body, { ...sign(h, body), 'content-type': contentType });
    expect(response.status).toBe(202);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
    expect(JSON.parse((await h.inbox())[0]!.headers)).toMatchObject({ 'content-type': contentType });
  });

  it('when a signed body comes with no Content-Type at all, then it is accepted and delivered', async () => {
    const h = await harness();
    await withServer(h, DEFAULT_SERVER_TIMEOUTS, async (port) => {
      const body = Buffer.from(freshLegacyBody());
      const { 'content-type': _dropped, ...headers } = sign(h, body);
      const answer = await httpPost(port, LEGACY, { ...headers, 'content-length': String(body.length) }, [body]);
      h.statuses.push(answer.status);
      expect(answer.status).toBe(202);
    });
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });

  it('when a body with a wrong Content-Type is not signed, then it is refused like any other: 401', async () => {
    const h = await harness();
    const response = await post(h, EVENTS, 'a=1&b=2', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(401);
    expect(await h.inbox()).toEqual([]);
  });
});

// ── Slow and stalled clients ────────────────────────────────────────────────────────────────

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

async function withServer(h: TestService, timeouts: ServerTimeouts, work: (port: number) => Promise<void>): Promise<void> {
  const server: Server = createHttpServer(h.app, timeouts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await work((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A POST whose body is written in `chunks`, `gapMs` apart. */
function httpPost(port: number, path: string, headers: Record<string, string>, chunks: readonly Buffer[], gapMs = 0): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before every chunk is written.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    void (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        req.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      req.end();
    })();
  });
}

/** Writes `sent` on a raw socket and never finishes; resolves with what the server said and when it hung up. */
function stall(port: number, sent: string | Buffer, giveUpMs: number): Promise<{ said: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(sent));
    let said = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (said += chunk));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not hang up within ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ said, closedAfterMs: Date.now() - started });
    });
  });
}

describe('slow and stalled clients, on a real listening server with the production server settings (scaled down)', () => {
  const FAST: ServerTimeouts = { requestTimeoutMs: 1_000, headersTimeoutMs: 500, keepAliveTimeoutMs: 500, checkIntervalMs: 50 };

  it('the production limits are 10 s for a request and 5 s for its headers, checked every second', () => {
    expect(DEFAULT_SERVER_TIMEOUTS).toEqual({ requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 1_000 });
    const server = createHttpServer(() => undefined);
    expect([server.requestTimeout, server.headersTimeout, server.keepAliveTimeout]).toEqual([10_000, 5_000, 5_000]);
  });

  it('when a client stalls in its headers (slowloris), then it gets 408 and is cut off after the headers timeout', async () => {
    const h = await harness();
    await withServer(h, FAST, async (port) => {
      const { said, closedAfterMs } = await stall(port, `POST ${EVENTS} HTTP/1.1\r\nHost: localhost\r\nwebhook-id: msg_1\r\n`, 5_000);
      expect(said).toMatch(/^HTTP\/1\.1 408/);
      expect(closedAfterMs).toBeGreaterThanOrEqual(FAST.headersTimeoutMs - 50);
      expect(closedAfterMs).toBeLessThan(FAST.requestTimeoutMs + 1_000);
    });
    expect(await h.inbox()).toEqual([]);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when a client stalls in its body, then it gets 408, is cut off after the request timeout, nothing is stored and the server keeps serving', async () => {
    const h = await harness();
    await withServer(h, FAST, async (port) => {
      const body = Buffer.from(freshLegacyBody());
      const headers = Object.entries({ ...sign(h, body), 'content-length': String(body.length), host: 'localhost' })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const { said, closedAfterMs } = await stall(port, `POST ${LEGACY} HTTP/1.1\r\n${headers}\r\n${body.subarray(0, 10).toString()}`, 5_000);
      expect(said).toMatch(/^HTTP\/1\.1 408/);
      expect(closedAfterMs).toBeGreaterThanOrEqual(FAST.requestTimeoutMs - 50);
      expect(closedAfterMs).toBeLessThan(FAST.requestTimeoutMs + 1_000);
      // The same server still answers a complete request.
      const fresh = Buffer.from(freshLegacyBody());
      const answer = await httpPost(port, LEGACY, { ...sign(h, fresh), 'content-length': String(fresh.length) }, [fresh]);
      h.statuses.push(answer.status);
      expect(answer.status).toBe(202);
    });
    expect(await h.inbox()).toHaveLength(1);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });

  it('when a client sends headers over 16 KB, then Node answers 431 and closes; nothing is stored', async () => {
    const h = await harness();
    await withServer(h, FAST, async (port) => {
      const { said } = await stall(port, `POST ${EVENTS} HTTP/1.1\r\nHost: localhost\r\nx-padding: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 5_000);
      expect(said).toMatch(/^HTTP\/1\.1 431/);
    });
    expect(await h.inbox()).toEqual([]);
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when a client hangs up in the middle of its body, then nothing is stored, nothing crashes and the server keeps serving', async () => {
    const h = await harness();
    await withServer(h, FAST, async (port) => {
      const body = Buffer.from(freshLegacyBody());
      const headers = Object.entries({ ...sign(h, body), 'content-length': String(body.length), host: 'localhost' })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(`POST ${LEGACY} HTTP/1.1\r\n${headers}\r\n${body.subarray(0, 20).toString()}`);
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fresh = Buffer.from(freshLegacyBody());
      const answer = await httpPost(port, LEGACY, { ...sign(h, fresh), 'content-length': String(fresh.length) }, [fresh]);
      h.statuses.push(answer.status);
      expect(answer.status).toBe(202);
    });
    expect(await h.inbox()).toHaveLength(1);
  });

  it('when a client is slow but finishes within the limit, then its webhook is accepted and delivered', async () => {
    const h = await harness();
    await withServer(h, FAST, async (port) => {
      const body = Buffer.from(freshLegacyBody());
      const chunks = Array.from({ length: 6 }, (_, i) => body.subarray(Math.floor((i * body.length) / 6), Math.floor(((i + 1) * body.length) / 6)));
      const started = Date.now();
      const answer = await httpPost(port, LEGACY, { ...sign(h, body), 'content-length': String(body.length) }, chunks, 100);
      h.statuses.push(answer.status);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(answer.status).toBe(202);
    });
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });
});

// ── Authentic, readable, but not convertible ────────────────────────────────────────────────

describe('authentic webhooks the mapping cannot convert', () => {
  const auth = { authorization: `Bearer ${ADMIN}` };

  it('when a known type is schema-invalid, then 202, quarantined with the reason, and delivered exactly once after the mapping is fixed and the quarantine replayed', async () => {
    const h = await harness();
    h.toggle.on = true;
    const sample = JSON.parse(sampleText('event-connection.connected')) as { payload: Record<string, unknown> };
    const { referenceCompany, ...rest } = sample.payload;
    const drifted = JSON.stringify({ ...sample, payload: { ...rest, company: referenceCompany } });

    const response = await post(h, EVENTS, drifted);
    expect(response.status).toBe(202);
    await h.settle();
    expect(h.sink.deliveries).toEqual([]);
    const quarantine = await request(h.app).get('/admin/quarantine').set(auth);
    expect(quarantine.body.webhooks).toMatchObject([{ channel: 'events', state: 'quarantined', detail: 'missing_company_id' }]);
    expect(await metricLine(h, 'codat_cutover_quarantined_total')).toContain('{channel="events",reason="missing_company_id"} 1');

    mapping.fixed = true;
    expect((await request(h.app).post('/admin/quarantine/replay').set(auth)).body).toEqual({ replayed: 1 });
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
    expect(h.sink.deliveries[0]?.body).toMatchObject({ type: 'connection.connected', companyId: '8a210b68-6988-11ed-a1eb-0242ac120002' });
    expect((await request(h.app).get('/admin/quarantine').set(auth)).body.webhooks).toEqual([]);

    // A second replay, and Codat redelivering the original, change nothing.
    expect((await request(h.app).post('/admin/quarantine/replay').set(auth)).body).toEqual({ replayed: 0 });
    expect((await post(h, EVENTS, drifted, sign(h, drifted, { id: JSON.parse((await h.inbox())[0]!.headers)['webhook-id'] }))).status).toBe(200);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
  });

  it('when the type is unknown on either endpoint, then 202, stored, counted as unrecognised and not delivered', async () => {
    const h = await harness();
    const unknownEvent = JSON.stringify({ id: randomUUID(), eventType: 'ledger.reconciled', generatedDate: '2026-01-01T00:00:00Z', payload: {} });
    const unknownRule = JSON.stringify({ AlertId: randomUUID(), RuleType: 'Ledger Reconciled', CompanyId: randomUUID(), Data: {} });
    expect((await post(h, EVENTS, unknownEvent)).status).toBe(202);
    expect((await post(h, LEGACY, unknownRule)).status).toBe(202);
    await h.settle();
    expect(await h.store.listQuarantine(10)).toMatchObject([
      { channel: 'events', state: 'unrecognised', detail: 'unknown_event_type:ledger.reconciled' },
      { channel: 'legacy', state: 'unrecognised' },
    ]);
    const counted = await metricLine(h, 'codat_cutover_unrecognised_total');
    expect(counted).toContain('channel="events"} 1');
    expect(counted).toContain('channel="legacy"} 1');
    await expectNothingDeliveredAndStillHealthy(h);
  });
});

// ── Forged, stale, future and replayed ──────────────────────────────────────────────────────

describe('forged, stale, future and replayed requests', () => {
  const legacyWithAuth = { credentials: { legacy: { secrets: [TEST_SECRET], authorization: LEGACY_AUTH, allowUnsigned: false } } };

  it('when requests are forged in every way we know, then each is 401 with its code, counted by endpoint and reason, never stored, never delivered', async () => {
    const h = await harness(legacyWithAuth);
    const body = freshLegacyBody();
    const now = h.clock.now();
    const valid = sign(h, body);
    const cases: [string, string, string | Buffer, Record<string, string>, string][] = [
      ['another secret', EVENTS, body, sign(h, body, { secret: OTHER_SECRET }), 'invalid_signature'],
      ['body changed after signing', EVENTS, body.replace('Expense', 'Expensf'), valid, 'invalid_signature'],
      ['body with a byte appended', LEGACY, `${body}\n`, valid, 'invalid_signature'],
      ['id changed after signing', LEGACY, body, { ...valid, 'webhook-id': 'msg_other' }, 'invalid_signature'],
      ['signature truncated', EVENTS, body, { ...valid, 'webhook-signature': valid['webhook-signature']!.slice(0, 20) }, 'invalid_signature'],
      ['six minutes old', EVENTS, body, sign(h, body, { atMs: now - 360_000 }), 'stale_timestamp'],
      ['six minutes ahead', LEGACY, body, sign(h, body, { atMs: now + 360_000 }), 'stale_timestamp'],
      ['timestamp in milliseconds', EVENTS, body, { ...valid, 'webhook-timestamp': String(now) }, 'invalid_timestamp'],
      ['no signature header', EVENTS, body, { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': valid['webhook-timestamp']! }, 'missing_credentials'],
      ['no headers at all', LEGACY, body, { 'content-type': 'application/json' }, 'missing_credentials'],
      ['a wrong legacy Authorization', LEGACY, body, { 'content-type': 'application/json', authorization: `${LEGACY_AUTH}x` }, 'invalid_authorization'],
      ['the legacy Authorization on the events endpoint', EVENTS, body, { 'content-type': 'application/json', authorization: LEGACY_AUTH }, 'missing_credentials'],
    ];
    for (const [what, path, sent, headers, code] of cases) {
      const response = await post(h, path, sent, headers);
      expect(response.status, what).toBe(401);
      expect(response.body, what).toEqual({ error: { code, message: 'The webhook could not be authenticated.' } });
    }
    expect(await h.inbox()).toEqual([]);
    const failures = await metricLine(h, 'codat_cutover_auth_failures_total');
    expect(failures).toContain('{endpoint="events",reason="invalid_signature"} 3');
    expect(failures).toContain('{endpoint="legacy",reason="invalid_signature"} 2');
    expect(failures).toContain('{endpoint="events",reason="stale_timestamp"} 1');
    expect(failures).toContain('{endpoint="legacy",reason="stale_timestamp"} 1');
    expect(failures).toContain('{endpoint="events",reason="invalid_timestamp"} 1');
    expect(failures).toContain('{endpoint="events",reason="missing_credentials"} 2');
    expect(failures).toContain('{endpoint="legacy",reason="missing_credentials"} 1');
    expect(failures).toContain('{endpoint="legacy",reason="invalid_authorization"} 1');
    await expectNothingDeliveredAndStillHealthy(h);
  });

  it('when an authentic delivery is replayed (same request, a re-signed retry, the svix-* headers), then it reaches the downstream once; after the tolerance the same request is stale', async () => {
    const h = await harness();
    const body = freshLegacyBody();
    const headers = sign(h, body, { id: 'msg_replayed' });
    expect((await post(h, LEGACY, body, headers)).status).toBe(202);
    expect((await post(h, LEGACY, body, headers)).body).toEqual({ status: 'duplicate' });
    h.clock.advance(5_000);
    expect((await post(h, LEGACY, body, sign(h, body, { id: 'msg_replayed' }))).status).toBe(200);
    expect((await post(h, LEGACY, body, sign(h, body, { id: 'msg_replayed', prefix: 'svix' }))).status).toBe(200);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(1);
    h.clock.advance(300_000);
    const late = await post(h, LEGACY, body, headers);
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe('stale_timestamp');
    expect(await h.inbox()).toHaveLength(1);
    expect(await metricLine(h, 'codat_cutover_duplicates_total')).toContain('{channel="legacy",layer="transport"} 3');
  });

  it('when the legacy rules service sends the static Authorization, then the header is checked but never stored; the signature headers are', async () => {
    const h = await harness(legacyWithAuth);
    const body = freshLegacyBody();
    const withAuth = { 'content-type': 'application/json', authorization: LEGACY_AUTH, 'x-codat-clientid': 'client-1', cookie: 'session=secret' };
    expect((await post(h, LEGACY, body, withAuth)).status).toBe(202);
    const signedToo = freshLegacyBody();
    expect((await post(h, LEGACY, signedToo, { ...sign(h, signedToo), authorization: LEGACY_AUTH })).status).toBe(202);
    const stored = (await h.inbox()).map((row) => JSON.parse(row.headers) as Record<string, string>);
    // The request id is kept too, so the later stages log it (src/http/access-log.ts).
    expect(stored[0]).toEqual({ 'content-type': 'application/json', 'x-codat-clientid': 'client-1', 'x-request-id': expect.any(String) });
    expect(Object.keys(stored[1]!).sort()).toEqual(['content-type', 'webhook-id', 'webhook-signature', 'webhook-timestamp', 'x-request-id']);
    for (const row of await h.inbox()) expect(row.headers).not.toMatch(/authorization|legacy-static|cookie|session/i);
    await h.settle();
    expect(h.sink.deliveries).toHaveLength(2);
  });
});

// ── Secure by default, through the real composition root ────────────────────────────────────

describe('secure by default and the operational endpoints, through the real composition root', () => {
  let dataDir: string;
  let service: Service | undefined;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-secure-'));
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string>) => {
    service = await createServices(loadConfig({ DATA_DIR: dataDir, ...env }), { logger: silentLogger });
    return service;
  };

  it('when NODE_ENV=production has no secret, then every webhook is 401 endpoint_not_configured, nothing is stored, and /readyz says why', async () => {
    const { app, store } = await start({ NODE_ENV: 'production' });
    const body = freshLegacyBody();
    for (const path of [LEGACY, EVENTS]) {
      const response = await request(app).post(path).set(sign({ clock: systemClock }, body)).send(body);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('endpoint_not_configured');
    }
    expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 0 });
    const ready = await request(app).get('/readyz');
    expect(ready.body.warnings).toEqual(expect.arrayContaining([
      'legacy endpoint has no credentials configured: it refuses all traffic',
      'events endpoint has no secret configured: it refuses all traffic',
    ]));
    expect((await request(app).get('/metrics')).text).toContain('codat_cutover_auth_failures_total{endpoint="events",reason="endpoint_not_configured"} 1');
  });

  it('when ALLOW_UNSIGNED_WEBHOOKS is set, then an unsigned webhook is accepted and /readyz warns about it', async () => {
    const { app } = await start({ ALLOW_UNSIGNED_WEBHOOKS: 'true' });
    const response = await request(app).post(EVENTS).set('content-type', 'application/json').send(sampleText('event-company.created'));
    expect(response.status).toBe(202);
    expect((await request(app).get('/metrics')).text).toContain('codat_cutover_webhooks_received_total{endpoint="events",outcome="stored"} 1');
    expect((await request(app).get('/readyz')).body.warnings).toEqual(expect.arrayContaining(['events endpoint accepts UNSIGNED webhooks (ALLOW_UNSIGNED_WEBHOOKS)']));
  });

  it('when METRICS_TOKEN is set, then /metrics needs it as a bearer token; /healthz and /readyz stay open', async () => {
    const token = 'metrics-token-0123456789';
    const { app } = await start({ METRICS_TOKEN: token });
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics')).body.error.code).toBe('invalid_metrics_token');
    expect((await request(app).get('/metrics').set('authorization', `Bearer ${token}x`)).status).toBe(401);
    const scraped = await request(app).get('/metrics').set('authorization', `Bearer ${token}`);
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('codat_cutover_webhooks_received_total');
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/readyz')).status).toBe(200);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('when METRICS_TOKEN is not set, then /metrics is readable without a token (scrape it on a private network)', async () => {
    const { app } = await start({});
    expect((await request(app).get('/metrics')).status).toBe(200);
  });
});
