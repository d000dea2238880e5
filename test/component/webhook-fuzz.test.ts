/**
 * Property-based fuzzing of both webhook endpoints through the real app on a listening server
 * (issue 3), and of both mappers with JSON that names prototypes.
 *
 * Each generated request is authentic (signed with a configured secret, either header set, or
 * the legacy static Authorization) or forged (another secret, a body changed after signing, a
 * header missing, stale or future, bogus signatures). An independent oracle says what every
 * answer must be; at the end the inbox must hold exactly the authentic requests, byte for byte,
 * and the downstream must have received no occurrence twice. A failure prints the seed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPayload } from '../../src/webhooks/webhook-authenticator.js';
import type { Conversion } from '../../src/domain/domain-event.js';
import { convertEventWebhook } from '../../src/formats/events/event-webhook-mapper.js';
import { eventsFormat } from '../../src/formats/events/events-format.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { MAX_JSON_DEPTH, jsonNestingDepth, parseJsonBody } from '../../src/webhooks/webhook-receiver.js';
import { convertLegacyWebhook, isLegacyShapedBody } from '../../src/formats/legacy/legacy-webhook-mapper.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import type { SqlDriver } from '../../src/store/sql-driver.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { allSampleNames, sampleText } from '../support/samples.js';
import { TEST_SECRET } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const ROTATED_SECRET = 'whsec_cm90YXRlZCBzZWNyZXQgZm9yIHRoZSBmdXp6ZXI=';
const FOREIGN_SECRET = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';
const LEGACY_AUTH = 'Bearer legacy-static-0123456789';
const BODY_LIMIT = 16 * 1024;
const ENDPOINTS = { legacy: '/webhooks/codat/legacy', events: '/webhooks/codat/events' } as const;
type Endpoint = keyof typeof ENDPOINTS;
const AUTH_CODES = ['missing_credentials', 'invalid_authorization', 'invalid_timestamp', 'stale_timestamp', 'invalid_signature'];

// ── JSON with prototype-named keys ──────────────────────────────────────────────────────────
// Generated as text (not as JS objects), because an object literal cannot hold an own `__proto__`
// key and JSON.stringify would drop or rename what we want to send.

const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype'];
const FIELD_NAMES = [
  'AlertId', 'RuleType', 'Type', 'CompanyId', 'DataConnectionId', 'Data', 'Message', 'id', 'eventType', 'type',
  'generatedDate', 'payload', 'referenceCompany', 'connection', 'dataTypes', 'status', 'dataType', 'connectionId',
  'syncId', 'newStatus', 'oldStatus', 'pushOperationKey', 'recordsModified', 'tags', 'toString', 'hasOwnProperty', 'valueOf',
];
const FIELD_VALUES = [
  'Sync Started', 'Sync Completed', 'DataConnectionStatusChanged', 'Data sync completed', 'Push Operation Status Changed()',
  'read.completed', 'connection.connected', 'company.created', 'invoices.write.successful', 'Linked', 'PendingAuth',
  'Complete', 'Success', 'TimedOut', '__proto__', 'constructor', '8a210b68-6988-11ed-a1eb-0242ac120002',
];

const jsonKey = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) }, { weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });

const { json: jsonText } = fc.letrec<{ json: string; leaf: string; array: string; object: string }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom(...FIELD_VALUES).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 20 }).map((v) => JSON.stringify(v)),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((v) => JSON.stringify(v)),
    fc.constantFrom('true', 'false', 'null', '-0', '1e308', '0.1e-3'),
  ),
  array: fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc
    .array(fc.tuple(jsonKey, tie('json')), { maxLength: 6 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
}));

/** Where the objects of a JSON text open (braces inside strings skipped). */
function objectOpenings(text: string): number[] {
  const at: number[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') at.push(i);
  }
  return at;
}

/** A Codat sample with `"__proto__": …` (or constructor/prototype) entries injected into some of its objects. */
const poisonedSample = fc
  .tuple(fc.constantFrom(...allSampleNames()), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...DANGEROUS_KEYS), jsonText), { minLength: 1, maxLength: 4 }))
  .map(([name, injections]) => {
    let text = JSON.stringify(JSON.parse(sampleText(name)));
    for (const [at, key, value] of injections) {
      const braces = objectOpenings(text);
      const index = braces[at % braces.length]!;
      const empty = text[index + 1] === '}';
      text = `${text.slice(0, index + 1)}${JSON.stringify(key)}:${value}${empty ? '' : ','}${text.slice(index + 1)}`;
    }
    JSON.parse(text); // still JSON, or the generator is wrong
    return text;
  });

/** A sample with fresh identifiers, so that it is a new occurrence and gets delivered. */
const freshSample = fc.constantFrom(...allSampleNames()).map((name) => {
  const body = JSON.parse(sampleText(name)) as Record<string, unknown>;
  if ('AlertId' in body) body.AlertId = randomUUID();
  if (typeof body.id === 'string') body.id = randomUUID();
  return JSON.stringify(body);
});

const bodyArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: freshSample.map((t) => Buffer.from(t)) },
  { weight: 4, arbitrary: poisonedSample.map((t) => Buffer.from(t)) },
  { weight: 3, arbitrary: jsonText.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 * MAX_JSON_DEPTH }).map((d) => Buffer.from(`{"eventType":"company.created","payload":${'['.repeat(d)}${']'.repeat(d)}}`)) },
  { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT + 64 }).map((n) => Buffer.from(`{"Message":"${'x'.repeat(n)}"}`)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
);

type Mode =
  | 'signed' | 'signed-svix' | 'signed-rotated' | 'signed-both-in-rotation' | 'legacy-authorization' | 'replay'
  | 'forged-secret' | 'forged-body-after-signing' | 'forged-missing-header' | 'forged-stale' | 'forged-future'
  | 'forged-no-credentials' | 'forged-authorization' | 'forged-bogus-signatures' | 'forged-other-id' | 'forged-bad-timestamp';

const modeArb = fc.constantFrom<Mode>(
  'signed', 'signed', 'signed', 'signed-svix', 'signed-rotated', 'signed-both-in-rotation', 'legacy-authorization', 'replay', 'replay',
  'forged-secret', 'forged-body-after-signing', 'forged-missing-header', 'forged-stale', 'forged-future',
  'forged-no-credentials', 'forged-authorization', 'forged-bogus-signatures', 'forged-other-id', 'forged-bad-timestamp',
);

// ── The oracle ──────────────────────────────────────────────────────────────────────────────

type Expected = { status: 202; body: { status: 'accepted' } | { status: 'quarantined'; reason: 'nesting_too_deep' } } | { status: 400; code: string } | { status: 413 };

/** How deep a parsed JSON value nests (iteratively: the values can be deep). */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** How deep a JSON text nests as written (duplicate keys included): strings blanked by a regex, then brackets counted. */
function textDepthOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const c of text.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '[' || c === '{') deepest = Math.max(deepest, (depth += 1));
    else if (c === ']' || c === '}') depth -= 1;
  }
  return deepest;
}

/** What an authentic first delivery of `body` must be answered, worked out independently of the receiver. */
function expectedFor(body: Buffer): Expected {
  if (body.length > BODY_LIMIT) return { status: 413 };
  if (body.length === 0) return { status: 400, code: 'empty_body' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return { status: 400, code: 'invalid_utf8' };
  }
  try {
    JSON.parse(text);
  } catch {
    return { status: 400, code: 'malformed_json' };
  }
  return textDepthOf(text) > MAX_JSON_DEPTH ? { status: 202, body: { status: 'quarantined', reason: 'nesting_too_deep' } } : { status: 202, body: { status: 'accepted' } };
}

// ── Transport ───────────────────────────────────────────────────────────────────────────────

interface Answer {
  status: number;
  json: Record<string, unknown> | null;
}

function post(port: number, agent: Agent, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, agent, method: 'POST', path, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | null;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ── The endpoints under fuzz ────────────────────────────────────────────────────────────────

interface Sent {
  readonly endpoint: Endpoint;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
  readonly dedupeKey: string;
  readonly answer: Answer;
}

describe('fuzzing both endpoints through the real app', () => {
  let service: TestService;
  let driver: SqlDriver;
  let server: Server;
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let dir: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    dir = mkdtempSync(join(tmpdir(), 'cutover-fuzz-'));
    driver = createSqliteDriver(join(dir, 'store.sqlite'));
    service = await buildTestService({
      store: createSqlCutoverStore(driver),
      bodyLimitBytes: BODY_LIMIT,
      credentials: {
        legacy: { secrets: [TEST_SECRET], authorization: LEGACY_AUTH, allowUnsigned: false },
        events: { secrets: [TEST_SECRET, ROTATED_SECRET], allowUnsigned: false },
      },
    });
    server = createHttpServer(service.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when thousands of authentic and forged requests arrive, then forged ones are 401 and never stored, authentic ones get their documented answer and are all stored, and nothing is delivered twice', async () => {
    const authentic: Sent[] = [];
    let forged = 0;
    /** Which answers the run produced, to show the generators reach every case. */
    const seen = new Set<string>();
    const outcome = (a: Answer) =>
      `${a.status}:${(a.json as { error?: { code?: string } } | null)?.error?.code ?? (a.json as { status?: string } | null)?.status ?? ''}`;
    const signHeaders = (body: Buffer, options: { secret?: string; id?: string; atMs?: number; prefix?: 'webhook' | 'svix' } = {}) => {
      const id = options.id ?? `msg_${randomUUID()}`;
      const timestamp = String(Math.floor((options.atMs ?? service.clock.now()) / 1000));
      const prefix = options.prefix ?? 'webhook';
      return {
        id,
        headers: {
          'content-type': 'application/json',
          [`${prefix}-id`]: id,
          [`${prefix}-timestamp`]: timestamp,
          [`${prefix}-signature`]: signPayload(options.secret ?? TEST_SECRET, id, timestamp, body),
        } as Record<string, string>,
      };
    };

    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Endpoint>('legacy', 'events'), modeArb, bodyArb, fc.nat(), async (endpointChoice, modeChoice, body, pick) => {
        let endpoint = endpointChoice;
        let mode = modeChoice;
        if (mode === 'replay' && authentic.length === 0) mode = 'signed';
        if ((mode === 'legacy-authorization' || mode === 'forged-authorization') && endpoint === 'events') endpoint = 'legacy';
        if (mode === 'signed-rotated' && endpoint === 'legacy') endpoint = 'events';

        if (mode === 'replay') {
          const original = authentic[pick % authentic.length]!;
          // Codat re-signs each attempt with a fresh timestamp, keeping the webhook-id.
          const resigned = original.headers['webhook-id'] ? signHeaders(original.body, { id: original.headers['webhook-id'] }).headers : original.headers;
          const answer = await post(port, agent, ENDPOINTS[original.endpoint], pick % 2 === 0 ? original.headers : resigned, original.body);
          seen.add(`replay ${outcome(answer)}`);
          const first = original.answer;
          if (first.status === 202 && (first.json as { status?: string }).status === 'accepted') {
            expect(answer).toEqual({ status: 200, json: { status: 'duplicate' } });
          } else {
            expect(answer).toEqual(first);
          }
          return;
        }

        if (mode.startsWith('forged')) {
          let headers: Record<string, string>;
          let sent = body;
          const signedOk = signHeaders(body).headers;
          switch (mode) {
            case 'forged-secret':
              headers = signHeaders(body, { secret: FOREIGN_SECRET }).headers;
              break;
            case 'forged-body-after-signing':
              sent = Buffer.concat([body, Buffer.from(pick % 2 === 0 ? ' ' : 'x')]);
              headers = signedOk;
              break;
            case 'forged-missing-header': {
              const { [['webhook-id', 'webhook-timestamp', 'webhook-signature'][pick % 3]!]: _dropped, ...rest } = signedOk;
              headers = rest;
              break;
            }
            case 'forged-stale':
              headers = signHeaders(body, { atMs: service.clock.now() - 301_000 - (pick % 100_000) * 1000 }).headers;
              break;
            case 'forged-future':
              headers = signHeaders(body, { atMs: service.clock.now() + 302_000 + (pick % 100_000) * 1000 }).headers;
              break;
            case 'forged-no-credentials':
              headers = { 'content-type': 'application/json' };
              break;
            case 'forged-authorization':
              headers = { 'content-type': 'application/json', authorization: `${LEGACY_AUTH.slice(0, pick % LEGACY_AUTH.length)}${pick % 2 === 0 ? 'x' : ''}` };
              break;
            case 'forged-bad-timestamp':
              headers = { ...signedOk, 'webhook-timestamp': [String(service.clock.now()), 'now', '-1', '1.5e9', ''][pick % 5]! };
              break;
            case 'forged-bogus-signatures':
              headers = { ...signedOk, 'webhook-signature': `${signHeaders(body, { secret: FOREIGN_SECRET }).headers['webhook-signature']} v1,${createHash('sha256').update(String(pick)).digest('base64')} v1,` };
              break;
            default:
              headers = { ...signedOk, 'webhook-id': `msg_other_${pick}` };
          }
          const answer = await post(port, agent, ENDPOINTS[endpoint], headers, sent);
          seen.add(`forged ${outcome(answer)}`);
          if (sent.length > BODY_LIMIT) {
            // Refused before it is read, so before it can be verified: never stored either.
            expect(answer.status).toBe(413);
          } else {
            expect(answer.status, mode).toBe(401);
            expect(AUTH_CODES).toContain((answer.json as { error: { code: string } }).error.code);
          }
          forged += 1;
          return;
        }

        let headers: Record<string, string>;
        let dedupeKey: string;
        if (mode === 'legacy-authorization') {
          // The legacy rules service: no webhook-id, only its header. Dedupe falls to the body's AlertId, so send unique ones.
          body = Buffer.from(JSON.stringify({ AlertId: randomUUID(), RuleType: 'Sync Started', CompanyId: randomUUID(), Data: { syncId: randomUUID() } }));
          headers = { 'content-type': 'application/json', authorization: LEGACY_AUTH };
          dedupeKey = (JSON.parse(body.toString()) as { AlertId: string }).AlertId;
        } else {
          const secret = mode === 'signed-rotated' ? ROTATED_SECRET : TEST_SECRET;
          const signedHeaders = signHeaders(body, { secret, prefix: mode === 'signed-svix' ? 'svix' : 'webhook' });
          headers = signedHeaders.headers;
          if (mode === 'signed-both-in-rotation') {
            headers['webhook-signature'] = `${signHeaders(body, { secret: FOREIGN_SECRET, id: signedHeaders.id }).headers['webhook-signature']} ${headers['webhook-signature']}`;
          }
          dedupeKey = signedHeaders.id;
        }
        const answer = await post(port, agent, ENDPOINTS[endpoint], headers, body);
        seen.add(`authentic ${outcome(answer)}`);
        const expected = expectedFor(body);
        expect(answer.status, `${mode} ${body.subarray(0, 80).toString()}`).toBe(expected.status);
        if (expected.status === 202) expect(answer.json).toEqual(expected.body);
        if (expected.status === 400) expect(answer.json).toMatchObject({ error: { code: expected.code } });
        if (expected.status !== 413) authentic.push({ endpoint, body, headers: mode === 'signed-svix' ? { ...headers, 'webhook-id': dedupeKey } : headers, dedupeKey, answer });
      }),
      { numRuns: 3000, endOnFailure: true },
    );
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'authentic 202:accepted', 'authentic 202:quarantined', 'authentic 400:empty_body', 'authentic 400:invalid_utf8',
        'authentic 400:malformed_json', 'authentic 413:payload_too_large', 'replay 200:duplicate', 'replay 400:malformed_json',
        ...AUTH_CODES.map((code) => `forged 401:${code}`), 'forged 413:payload_too_large',
      ]),
    );

    // Every authentic request that was answered is in the inbox, byte for byte, once; nothing else is.
    const rows = await driver.transaction((tx) => tx.query<{ dedupe_key: string; endpoint: string; body: Buffer }>('SELECT dedupe_key, endpoint, body FROM inbox'));
    const stored = new Map(rows.map((r) => [r.dedupe_key, r]));
    expect(rows).toHaveLength(authentic.length);
    expect(stored.size).toBe(authentic.length);
    for (const sent of authentic) {
      const row = stored.get(sent.dedupeKey);
      expect(row, sent.dedupeKey).toBeDefined();
      expect(row!.endpoint).toBe(sent.endpoint);
      expect(Buffer.compare(row!.body, sent.body)).toBe(0);
    }
    expect(forged).toBeGreaterThan(300);
    expect(authentic.length).toBeGreaterThan(300);

    // Process everything, rescue what waits for a partner, and deliver: no occurrence twice.
    await service.settle();
    service.clock.advance(30 * 60_000);
    await service.settle();
    const keys = service.sink.deliveries.map((d) => d.idempotencyKey);
    expect(keys.length).toBeGreaterThan(50);
    expect(new Set(keys).size).toBe(keys.length);
    expect((await service.store.counts()).inboxPending).toBe(0);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(unhandled).toEqual([]);
    // Thousands of HTTP round trips: a correctness check, given room on a shared two-core machine.
  }, 90_000);
});

// ── The receiver's body reading ─────────────────────────────────────────────────────────────

describe('fuzzing how the receiver reads a body', () => {
  const bracketed = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ') , maxLength: 12 });

  it('property: the nesting depth is read from the text as written, whatever brackets and escapes its strings hold (at least the parsed depth: duplicate keys count)', () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, fc.jsonValue().map((v) => JSON.stringify(v)), fc.array(bracketed).map((a) => JSON.stringify({ a, b: [a] }))), (text) => {
        expect(jsonNestingDepth(text)).toBe(textDepthOf(text));
        expect(jsonNestingDepth(text)).toBeGreaterThanOrEqual(depthOf(JSON.parse(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any bytes get the answer the oracle predicts, and parsing never throws', () => {
    fc.assert(
      fc.property(bodyArb, (body) => {
        const parsed = parseJsonBody(body);
        const expected = expectedFor(body);
        if (expected.status === 400) expect(parsed).toEqual({ ok: false, code: expected.code });
        if (expected.status === 202) expect(parsed.ok || parsed.code === 'nesting_too_deep').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

// ── The mappers, with prototype-named keys ──────────────────────────────────────────────────

describe('fuzzing both mappers with JSON that names prototypes (extends the mapper unit tests, which cannot generate own __proto__ keys)', () => {
  const isPlainGraph = (value: unknown): boolean => {
    if (typeof value !== 'object' || value === null) return true;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== Array.prototype) return false;
    return Object.keys(value).every((k) => !DANGEROUS_KEYS.includes(k) && isPlainGraph((value as Record<string, unknown>)[k]));
  };

  function expectSafeConversion(conversion: Conversion): void {
    expect(['converted', 'unrecognised', 'invalid']).toContain(conversion.kind);
    expect(isPlainGraph(conversion)).toBe(true);
    expect(() => JSON.stringify(conversion)).not.toThrow();
    if (conversion.kind !== 'converted') return;
    for (const event of conversion.events) {
      for (const value of Object.values(event.data)) expect(['string', 'number', 'boolean', 'object']).toContain(typeof value);
      for (const value of Object.values(event.data)) if (typeof value === 'object') expect(value).toBeNull();
    }
  }

  it('property: any JSON text, poisoned samples included, converts without throwing, on either mapper, and leaves the prototypes alone', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(fc.oneof(jsonText, poisonedSample), (text) => {
        const body: unknown = JSON.parse(text);
        expect(typeof isLegacyShapedBody(body)).toBe('boolean');
        expect(typeof eventsFormat.looksLike(body)).toBe('boolean');
        expectSafeConversion(convertLegacyWebhook(body));
        expectSafeConversion(convertEventWebhook(body));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('property: a poisoned sample converts to exactly what the clean sample converts to when the poison sits where the mapper does not read', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allSampleNames()), jsonText, (name, poison) => {
        const clean = JSON.stringify(JSON.parse(sampleText(name)));
        // `__proto__` at the top level: an own key no mapper reads.
        const poisoned = `{"__proto__":${poison},"constructor":${poison},${clean.slice(1)}`;
        const convert = name.startsWith('legacy-') ? convertLegacyWebhook : convertEventWebhook;
        expect(convert(JSON.parse(poisoned))).toEqual(convert(JSON.parse(clean)));
      }),
      { numRuns: 500 },
    );
  });
});
