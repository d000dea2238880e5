import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsFormat } from '../../src/formats/events/events-format.js';
import { buildOpenApiDocument, type OpenApiDocument } from '../../src/app/openapi.js';
import { ANSWER_SCHEMAS } from '../../src/app/openapi/answer-schemas.js';
import { legacyFormat } from '../../src/formats/legacy/legacy-format.js';
import { registeredRoutes } from '../support/express-routes.js';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const ADMIN_TOKEN = 'operator-token-for-tests';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

let service: TestService;
let doc: OpenApiDocument;

beforeAll(async () => {
  service = await buildTestService({ adminToken: ADMIN_TOKEN, bodyLimitBytes: 4096 });
  const response = await request(service.app).get('/openapi.json');
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  doc = response.body as OpenApiDocument;
});
afterAll(async () => service.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, operation]) => ({ path, method, operation })),
  );

function response(path: string, method: string, status: number): Json {
  const found = doc.paths[path]?.[method]?.responses[String(status)];
  if (!isRecord(found)) throw new Error(`${method.toUpperCase()} ${path}: ${status} is not documented`);
  return found;
}

/** Checks a real answer against what the document says of it: the status, the content type and the body's schema. */
function expectDocumented(path: string, method: string, answer: request.Response): void {
  const documented = response(path, method, answer.status);
  const content = documented.content;
  if (!isRecord(content)) {
    expect(answer.text, `${method} ${path} ${answer.status} has no documented body`).toBe('');
    return;
  }
  const type = String(answer.headers['content-type'] ?? '').split(';')[0] ?? '';
  const media = content[type];
  expect(isRecord(media), `${method} ${path} ${answer.status}: ${type} is not a documented content type`).toBe(true);
  const schema = isRecord(media) ? media.schema : undefined;
  const name = isRecord(schema) && typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : null;
  if (name === null) return;
  const zod = ANSWER_SCHEMAS[name as keyof typeof ANSWER_SCHEMAS];
  expect(zod, `${name} is not an answer schema`).toBeDefined();
  const parsed = zod.safeParse(answer.body);
  expect(parsed.success, `${method} ${path} ${answer.status}: ${JSON.stringify(answer.body)} does not fit ${name}`).toBe(true);
  if (name === 'Error') {
    const code = (answer.body as { error: { code: string } }).error.code;
    expect(String(documented.description), `${method} ${path} ${answer.status}: the code ${code} is not named`).toContain(`\`${code}\``);
  }
}

describe('GET /openapi.json against the app', () => {
  it('when the app is built, then every route Express registered is documented and every documented operation is a route', () => {
    const routes = registeredRoutes(service.app).map((r) => `${r.method.toUpperCase()} ${r.path}`).sort();
    // OpenAPI's `{id}` is Express' `:id`.
    const documented = operations().map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`).sort();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(documented).toEqual(routes);
  });

  it('when the document is read, then it is OpenAPI 3.1 in structure and every error answer is the one Error schema', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(isRecord(doc.paths)).toBe(true);
    const operationIds = new Set<string>();
    for (const { path, method, operation } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(path.startsWith('/'), where).toBe(true);
      expect(typeof operation.operationId, where).toBe('string');
      expect(operationIds.has(String(operation.operationId)), `${where}: duplicate operationId`).toBe(false);
      operationIds.add(String(operation.operationId));
      const statuses = Object.keys(operation.responses);
      expect(statuses.length, `${where} has no responses`).toBeGreaterThan(0);
      for (const status of statuses) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        const answer = operation.responses[status];
        expect(isRecord(answer) && typeof answer.description === 'string', `${where} ${status}: a description is required`).toBe(true);
        // /readyz's 503 is its report saying why, not an error. A browser that must sign in gets the form, a page.
        const page = { 'text/html': expect.objectContaining({ schema: { type: 'string' } }) };
        if (path === '/readyz' && status === '503') continue;
        if (where === 'GET /cutover' && status === '401') {
          expect((answer as Json).content, `${where} ${status}`).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } }, ...page });
        } else if (where === 'POST /cutover/login' && status === '401') {
          expect((answer as Json).content, `${where} ${status}`).toEqual(page);
        } else if (Number(status) >= 400) {
          expect((answer as Json).content, `${where} ${status}`).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });
        }
      }
      for (const requirement of (operation.security as Json[] | undefined) ?? []) {
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes[scheme], `${where}: ${scheme}`).toBeDefined();
      }
    }
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const target = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(ref.startsWith('"$ref":"#/components/schemas/'), ref).toBe(true);
      expect(doc.components.schemas[target], ref).toBeDefined();
    }
    const errorSchema = doc.components.schemas.Error as { properties: { error: { required: string[] } } };
    expect(errorSchema.properties.error.required).toEqual(['code', 'message']);
  });

  it('when the webhook bodies are described, then they come from the wire schemas: every field optional, extra fields allowed', () => {
    for (const [name, fields] of [['LegacyWebhookBody', ['AlertId', 'RuleType', 'CompanyId', 'Data']], ['EventsWebhookBody', ['id', 'eventType', 'generatedDate', 'payload']]] as const) {
      const schema = doc.components.schemas[name] as { type: string; properties: Json; required?: unknown; additionalProperties?: unknown };
      expect(schema.type).toBe('object');
      expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining([...fields]));
      expect(schema.required, name).toBeUndefined();
      expect(schema.additionalProperties, name).toBeUndefined();
    }
    expect((doc.components.schemas.LegacyWebhookBody as { properties: Record<string, Json> }).properties.AlertId?.type).toBe('string');
  });

  it('when an error code is raised in src/, then the document names it', () => {
    const codes = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/new HttpError\(\s*\d{3},\s*'([a-z_]+)'/g)) codes.add(match[1] ?? '');
        }
      }
    };
    walk('src');
    expect(codes.size).toBeGreaterThanOrEqual(8);
    // With every token set, so that the answers that exist only then are in the text too.
    const text = JSON.stringify(buildOpenApiDocument({ formats: [{ format: legacyFormat }, { format: eventsFormat }], adminToken: ADMIN_TOKEN, metricsToken: ADMIN_TOKEN }));
    const undocumented = [...codes].filter((code) => !text.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });
});

describe('real answers against the document', () => {
  const EVENTS = '/webhooks/codat/events';
  const LEGACY = '/webhooks/codat/legacy';
  const signed = (body: string) => signedHeaders(body, { timestampMs: service.clock.now() });
  const post = (path: string, body: string, headers: Record<string, string>) => request(service.app).post(path).set(headers).send(body);

  it('when webhooks are accepted, redelivered, unreadable or refused, then each answer is documented and fits its schema', async () => {
    const body = sampleText('event-company.created');
    const headers = signed(body);
    expectDocumented(EVENTS, 'post', await post(EVENTS, body, headers));
    expectDocumented(EVENTS, 'post', await post(EVENTS, body, headers));
    const deep = `${'['.repeat(70)}${']'.repeat(70)}`;
    const quarantined = await post(EVENTS, deep, signed(deep));
    expect(quarantined.body).toEqual({ status: 'quarantined', reason: 'nesting_too_deep' });
    expectDocumented(EVENTS, 'post', quarantined);
    const answers: [string, request.Response][] = [
      [EVENTS, await post(EVENTS, '{"id": ', signed('{"id": '))],
      [EVENTS, await post(EVENTS, '', signed(''))],
      [LEGACY, await post(LEGACY, sampleText('legacy-SyncStarted'), { 'content-type': 'application/json' })],
      [EVENTS, await post(EVENTS, body, { ...headers, 'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl' })],
      [EVENTS, await post(EVENTS, JSON.stringify({ pad: 'x'.repeat(8192) }), signed('{}'))],
      [EVENTS, await post(EVENTS, body, { ...headers, 'content-encoding': 'x-unknown' })],
    ];
    expect(answers.map(([, a]) => a.status)).toEqual([400, 400, 401, 401, 413, 415]);
    for (const [path, answer] of answers) expectDocumented(path, 'post', answer);
  });

  it('when the store fails, then the 503s of the webhooks and of /readyz are the documented ones', async () => {
    const failing = await buildTestService();
    try {
      failing.store.append = async () => {
        throw new Error('disk full');
      };
      failing.store.ping = async () => {
        throw new Error('disk full');
      };
      const body = sampleText('event-company.created');
      const stored = await request(failing.app).post(EVENTS).set(signedHeaders(body, { timestampMs: failing.clock.now() })).send(body);
      expect(stored.status).toBe(503);
      expectDocumented(EVENTS, 'post', stored);
      const ready = await request(failing.app).get('/readyz');
      expect(ready.status).toBe(503);
      expectDocumented('/readyz', 'get', ready);
    } finally {
      await failing.close();
    }
  });

  it('when the operations and operator endpoints are called, then each answer is documented and fits its schema', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    // The unreadable webhooks posted above are in quarantine: a list with items is checked against its schema.
    const quarantine = await request(service.app).get('/admin/quarantine').set(auth);
    expect(quarantine.body.webhooks.length).toBeGreaterThan(0);
    expectDocumented('/healthz', 'get', await request(service.app).get('/healthz'));
    expectDocumented('/readyz', 'get', await request(service.app).get('/readyz'));
    expectDocumented('/metrics', 'get', await request(service.app).get('/metrics'));
    expectDocumented('/cutover', 'get', await request(service.app).get('/cutover').set(auth).set('accept', 'application/json'));
    expectDocumented('/cutover', 'get', await request(service.app).get('/cutover').set(auth).set('accept', 'text/html'));
    expectDocumented('/cutover', 'get', await request(service.app).get('/cutover'));
    expectDocumented('/openapi.json', 'get', await request(service.app).get('/openapi.json'));
    for (const path of ['/admin/dead-letters', '/admin/quarantine']) {
      expectDocumented(path, 'get', await request(service.app).get(path).set(auth));
      expectDocumented(path, 'get', await request(service.app).get(path).set('authorization', 'Bearer wrong'));
    }
    for (const path of ['/admin/dead-letters/replay', '/admin/quarantine/replay']) {
      expectDocumented(path, 'post', await request(service.app).post(path).set(auth));
    }
    const noAdmin = await buildTestService();
    try {
      const off = await request(noAdmin.app).get('/admin/quarantine').set(auth);
      expect(off.status).toBe(403);
      expectDocumented('/admin/quarantine', 'get', off);
      const offDoc = (await request(noAdmin.app).get('/openapi.json')).body as OpenApiDocument;
      expect(offDoc.paths['/cutover']?.get?.security, 'without ADMIN_TOKEN, /cutover is open').toBeUndefined();
      expect(doc.paths['/cutover']?.get?.security).toEqual([{ adminToken: [] }, { cutoverSession: [] }]);
    } finally {
      await noAdmin.close();
    }
  });

  it('when the paged, by-id and replay operator endpoints are called, then each answer is documented and fits its schema', async () => {
    const operator = await buildTestService({ adminToken: ADMIN_TOKEN, maxAttempts: 1 });
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const get = (url: string) => request(operator.app).get(url).set(auth);
    const postJson = (url: string, body: string) => request(operator.app).post(url).set(auth).set('content-type', 'application/json').send(body);
    const expectCode = (answer: request.Response, status: number, code: string) => expect([answer.status, answer.body?.error?.code]).toEqual([status, code]);
    try {
      operator.sink.failNext = 1;
      const legacy = sampleText('legacy-SyncStarted');
      expect((await request(operator.app).post(LEGACY).set(signedHeaders(legacy, { timestampMs: operator.clock.now() })).send(legacy)).status).toBe(202);
      await operator.settle();
      await operator.delivery.tick();
      const unreadable = '{"id": ';
      expect((await request(operator.app).post(EVENTS).set(signedHeaders(unreadable, { timestampMs: operator.clock.now() })).send(unreadable)).status).toBe(400);

      const DL = '/admin/dead-letters';
      const page = await get(`${DL}?limit=1`);
      expect(page.body.deadLetters).toHaveLength(1);
      expectDocumented(DL, 'get', page);
      const occurrenceId = String(page.body.deadLetters[0].occurrenceId);
      const one = await get(`${DL}/${encodeURIComponent(occurrenceId)}`);
      expect(one.status).toBe(200);
      expectDocumented(`${DL}/{id}`, 'get', one);
      const checks: [string, string, request.Response, number, string][] = [
        [DL, 'get', await get(`${DL}?limit=0`), 400, 'invalid_query'],
        [DL, 'get', await get(`${DL}?after=bm90LWEtY3Vyc29y`), 400, 'invalid_cursor'],
        [`${DL}/{id}`, 'get', await get(`${DL}/no-such-occurrence`), 404, 'dead_letter_not_found'],
        [`${DL}/{id}`, 'get', await get(`${DL}/${'x'.repeat(201)}`), 400, 'invalid_id'],
        [`${DL}/replay`, 'post', await postJson(`${DL}/replay`, '{"ids": ['), 400, 'malformed_json'],
        [`${DL}/replay`, 'post', await postJson(`${DL}/replay`, '{"ids": []}'), 400, 'invalid_body'],
        [`${DL}/replay`, 'post', await postJson(`${DL}/replay`, '{"ids": [7]}'), 400, 'invalid_id'],
        [`${DL}/replay`, 'post', await postJson(`${DL}/replay`, JSON.stringify({ ids: ['x'.repeat(300 * 1024)] })), 413, 'payload_too_large'],
      ];
      const replayedOne = await request(operator.app).post(`${DL}/${encodeURIComponent(occurrenceId)}/replay`).set(auth);
      expect(replayedOne.body).toEqual({ replayed: 1 });
      expectDocumented(`${DL}/{id}/replay`, 'post', replayedOne);
      checks.push([`${DL}/{id}/replay`, 'post', await request(operator.app).post(`${DL}/${encodeURIComponent(occurrenceId)}/replay`).set(auth), 404, 'dead_letter_not_found']);
      const selected = await postJson(`${DL}/replay`, JSON.stringify({ ids: [occurrenceId] }));
      expect(selected.body).toEqual({ replayed: 0 });
      expectDocumented(`${DL}/replay`, 'post', selected);

      const Q = '/admin/quarantine';
      const filtered = await get(`${Q}?channel=events&state=quarantined&reason=malformed&limit=5`);
      expect(filtered.body.webhooks).toHaveLength(1);
      expectDocumented(Q, 'get', filtered);
      const inboxId = Number(filtered.body.webhooks[0].inboxId);
      const entry = await get(`${Q}/${inboxId}`);
      expect(entry.status).toBe(200);
      expectDocumented(`${Q}/{id}`, 'get', entry);
      checks.push(
        [Q, 'get', await get(`${Q}?state=lost`), 400, 'invalid_query'],
        [`${Q}/{id}`, 'get', await get(`${Q}/abc`), 400, 'invalid_id'],
        [`${Q}/{id}`, 'get', await get(`${Q}/999999`), 404, 'quarantine_entry_not_found'],
        [`${Q}/{id}/replay`, 'post', await request(operator.app).post(`${Q}/999999/replay`).set(auth), 404, 'quarantine_entry_not_found'],
        [`${Q}/replay`, 'post', await postJson(`${Q}/replay`, '[1]'), 400, 'invalid_body'],
      );
      const replayedEntry = await request(operator.app).post(`${Q}/${inboxId}/replay`).set(auth);
      expect(replayedEntry.body).toEqual({ replayed: 1 });
      expectDocumented(`${Q}/{id}/replay`, 'post', replayedEntry);
      expectDocumented(`${Q}/replay`, 'post', await postJson(`${Q}/replay`, JSON.stringify({ ids: [inboxId] })));

      for (const [path, method, answer, status, code] of checks) {
        expectCode(answer, status, code);
        expectDocumented(path, method, answer);
      }
    } finally {
      await operator.close();
    }
  });

  it('when a browser signs in to /cutover and out again, then each answer is documented', async () => {
    const page = await request(service.app).get('/cutover').set('accept', 'text/html');
    expect(page.status).toBe(401);
    expectDocumented('/cutover', 'get', page);
    const wrong = await request(service.app).post('/cutover/login').type('form').send('token=wrong');
    expect(wrong.status).toBe(401);
    expectDocumented('/cutover/login', 'post', wrong);
    const login = await request(service.app).post('/cutover/login').type('form').send(`token=${ADMIN_TOKEN}`);
    expect(login.status).toBe(303);
    expectDocumented('/cutover/login', 'post', login);
    const cookie = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^cutover_session=./);
    expectDocumented('/cutover', 'get', await request(service.app).get('/cutover').set('cookie', cookie).set('accept', 'application/json'));
    expectDocumented('/cutover/login', 'post', await request(service.app).post('/cutover/login').type('form').send('x'.repeat(9 * 1024)));
    const logout = await request(service.app).post('/cutover/logout');
    expect(logout.status).toBe(303);
    expectDocumented('/cutover/logout', 'post', logout);
    const open = await buildTestService();
    try {
      const unneeded = await request(open.app).post('/cutover/login').type('form').send('token=x');
      expect(unneeded.body.error.code).toBe('not_found');
      const openDoc = (await request(open.app).get('/openapi.json')).body as OpenApiDocument;
      const notFound = openDoc.paths['/cutover/login']?.post?.responses['404'];
      expect(isRecord(notFound) && String(notFound.description)).toContain('`not_found`');
    } finally {
      await open.close();
    }
  });

  it('when a request outlives the deadline, then its 503 deadline_exceeded is documented', async () => {
    const slow = await buildTestService({ adminToken: ADMIN_TOKEN, requestDeadlineMs: 50 });
    try {
      slow.store.pageQuarantine = () => new Promise(() => undefined);
      const answer = await request(slow.app).get('/admin/quarantine').set('authorization', `Bearer ${ADMIN_TOKEN}`);
      expect([answer.status, answer.body.error.code, answer.headers['retry-after']]).toEqual([503, 'deadline_exceeded', '5']);
      expectDocumented('/admin/quarantine', 'get', answer);
    } finally {
      await slow.close();
    }
  });

  it('when a new-format body comes to the legacy endpoint with only the static Authorization, then its 403 is documented', async () => {
    const legacyAuth = 'Basic bGVnYWN5OnRlc3Q=';
    const shared = await buildTestService({ credentials: { legacy: { secrets: [], authorization: legacyAuth, allowUnsigned: false } } });
    try {
      const answer = await request(shared.app).post(LEGACY).set('authorization', legacyAuth).send(sampleText('event-company.created'));
      expect([answer.status, answer.body.error.code]).toEqual([403, 'credential_not_allowed_for_format']);
      expectDocumented(LEGACY, 'post', answer);
    } finally {
      await shared.close();
    }
  });
});
