/**
 * The logs as an exit door: one webhook's life, found by its request id, from the request to the
 * delivery or the dead letter, with no secret and no body in any line.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createServices, type Service } from '../../src/services.js';
import { loadConfig } from '../../src/config.js';
import { createHttpSink } from '../../src/delivery/downstream-sink.js';
import { createPinoLogger } from '../../src/observability/json-logger.js';
import { sampleText } from '../support/samples.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

type Line = Record<string, unknown> & { level: string; message: string };

/** A pino logger at `level` whose lines are kept in memory, parsed. */
function capturedLogger(level: 'debug' | 'info') {
  const lines: Line[] = [];
  const raw: string[] = [];
  const logger = createPinoLogger(level, {
    write(text: string) {
      raw.push(text);
      lines.push(JSON.parse(text) as Line);
    },
  });
  return { logger, lines, raw };
}

async function startStub(status: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const LEGACY_AUTH = 'Bearer legacy-static-credential-never-logged';
const BODY = sampleText('legacy-SyncCompleted');
/** Text that is only in the body. */
const BODY_ONLY = ['Expense Sync', 'completed successfully', '321363b4-efa9-4fbc-b71c-0b58d62f3248'];

function expectNoSecretOrBody(raw: readonly string[], headers: Record<string, string>): void {
  const all = raw.join('');
  expect(all).not.toContain(TEST_SECRET.slice('whsec_'.length));
  expect(all).not.toContain('legacy-static-credential-never-logged');
  for (const [name, value] of Object.entries(headers)) if (name.endsWith('signature')) expect(all).not.toContain(value.split(',')[1] ?? value);
  for (const text of BODY_ONLY) expect(all).not.toContain(text);
}

describe('a webhook followed through the logs by its request id', () => {
  let service: TestService | undefined;
  let stub: { close(): Promise<void> } | undefined;
  let embedded: Service | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await service?.close();
    await stub?.close();
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    service = undefined;
    stub = undefined;
    embedded = undefined;
    dataDir = undefined;
  });

  it('when a webhook is delivered, then every stage logs its request id (received, stored, converted, decided, delivered) and no line holds a secret or the body', async () => {
    const { logger, lines, raw } = capturedLogger('debug');
    const downstream = await startStub(200);
    stub = downstream;
    service = await buildTestService({ logger, downstream: createHttpSink({ url: downstream.url, timeoutMs: 5000, userAgent: 'codat-cutover/test' }) });
    const headers = signedHeaders(BODY, { timestampMs: service.clock.now() });
    const response = await request(service.app)
      .post('/webhooks/codat/legacy')
      .set({ ...headers, authorization: LEGACY_AUTH, 'x-request-id': 'trace-0001' })
      .send(BODY);
    expect(response.status).toBe(202);
    expect(response.headers['x-request-id']).toBe('trace-0001');
    await service.settle();

    const traced = lines.filter((line) => line.requestId === 'trace-0001');
    const messages = traced.map((line) => line.message);
    expect(messages).toEqual(expect.arrayContaining([
      'webhook received', 'webhook stored', 'POST /webhooks/codat/legacy 202', 'webhook converted', 'occurrence decided', 'delivered',
    ]));
    const decided = traced.find((line) => line.message === 'occurrence decided');
    expect(decided).toMatchObject({ level: 'debug', action: 'deliver' });
    expect(traced.find((line) => line.message === 'delivered')).toMatchObject({ level: 'info', occurrenceId: decided?.occurrenceId, status: 200 });
    expectNoSecretOrBody(raw, headers);
  });

  it('when the downstream refuses the delivery, then the dead letter is logged with the request id, the occurrence id and the reason', async () => {
    const { logger, lines, raw } = capturedLogger('info');
    const downstream = await startStub(422);
    stub = downstream;
    service = await buildTestService({ logger, downstream: createHttpSink({ url: downstream.url, timeoutMs: 5000, userAgent: 'codat-cutover/test' }) });
    const headers = signedHeaders(BODY, { timestampMs: service.clock.now() });
    await request(service.app).post('/webhooks/codat/legacy').set({ ...headers, 'x-request-id': 'trace-0002' }).send(BODY);
    await service.settle();

    const dead = lines.find((line) => line.message === 'delivery dead-lettered');
    expect(dead).toMatchObject({ level: 'error', requestId: 'trace-0002', status: 422, attempts: 1 });
    expect(String(dead?.error)).toContain('HTTP 422');
    expect(typeof dead?.occurrenceId).toBe('string');
    // At info, the debug stages are not written.
    expect(lines.some((line) => line.level === 'debug')).toBe(false);
    expectNoSecretOrBody(raw, headers);
  });

  it('when a webhook is refused, then the refusal is logged with its reason code and the request gets an id of its own when it sent none (or an unusable one)', async () => {
    const { logger, lines } = capturedLogger('info');
    service = await buildTestService({ logger });
    const response = await request(service.app)
      .post('/webhooks/codat/legacy')
      .set({ 'content-type': 'application/json', 'x-request-id': 'has spaces "and quotes"' })
      .send(BODY);
    expect(response.status).toBe(401);
    const id = String(response.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.find((line) => line.message === 'webhook refused')).toMatchObject({ level: 'warn', requestId: id, status: 401, reason: expect.any(String) as unknown });
  });

  it('when the toggle changes, then the change is logged with the new and the previous state', async () => {
    const { logger, lines } = capturedLogger('info');
    service = await buildTestService({ logger });
    await service.monitor.tick();
    expect(lines.some((line) => line.message === 'toggle changed')).toBe(false);
    service.toggle.on = true;
    await service.monitor.tick();
    expect(lines.find((line) => line.message === 'toggle changed')).toMatchObject({
      level: 'info', toggle: 'codat-new-event-types', enabled: true, rolloutPercent: 100,
      previous: { enabled: false, rolloutPercent: 0, legacyConsumer: true },
    });
  });

  it('when the pipeline runs on the background thread (embedded store), then its lines reach the log with the request id too', async () => {
    const { logger, lines, raw } = capturedLogger('debug');
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-trace-'));
    const file = join(dataDir, 'downstream.jsonl');
    embedded = await createServices(
      loadConfig({ DATA_DIR: dataDir, DOWNSTREAM_FILE: file, CODAT_LEGACY_SECRET: TEST_SECRET, CODAT_EVENTS_SECRET: TEST_SECRET, LOG_LEVEL: 'debug' }),
      { logger },
    );
    embedded.start();
    const headers = signedHeaders(BODY);
    const response = await request(embedded.app).post('/webhooks/codat/legacy').set({ ...headers, 'x-request-id': 'trace-0003' }).send(BODY);
    expect(response.status).toBe(202);
    const deadline = Date.now() + 15_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8').length > 0) || !lines.some((l) => l.message === 'delivered')) {
      if (Date.now() > deadline) throw new Error('not delivered in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const messages = lines.filter((line) => line.requestId === 'trace-0003').map((line) => line.message);
    expect(messages).toEqual(expect.arrayContaining(['webhook stored', 'webhook converted', 'occurrence decided', 'delivered']));
    expectNoSecretOrBody(raw, headers);
  });
});
