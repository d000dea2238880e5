/**
 * The app over a store that hangs (frozen database, stuck disk) or refuses (StoreUnavailableError):
 * every request is answered 503 with a stable code at the latest at its deadline, never a 500 and
 * never a socket held open. The real SQLite store underneath, with a switch in front of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CutoverStore } from '../../src/cutover-store.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable.js';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

const LEGACY = '/webhooks/codat/legacy';
const ADMIN = 'admin-token-for-store-tests';

type Mode = 'working' | 'hanging' | 'refusing';

/** The real store, except that in `hanging` its calls wait until the mode changes, and in `refusing` they fail. */
function switchable(store: CutoverStore): { store: CutoverStore; mode: { value: Mode }; release(): void } {
  const mode = { value: 'working' as Mode };
  let waiting: (() => void)[] = [];
  const wrapped = { ...store };
  for (const key of ['append', 'ping', 'pageDeadLetters'] as const) {
    (wrapped as Record<string, unknown>)[key] = async (...args: unknown[]) => {
      if (mode.value === 'hanging') await new Promise<void>((resolve) => waiting.push(resolve));
      if (mode.value === 'refusing') throw new StoreUnavailableError('PostgreSQL is unavailable: Connection terminated unexpectedly');
      return (store[key] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
    };
  }
  return {
    store: wrapped,
    mode,
    release() {
      mode.value = 'working';
      for (const resolve of waiting) resolve();
      waiting = [];
    },
  };
}

describe('the app when the store is unavailable', () => {
  let dir: string;
  let service: TestService;
  let control: ReturnType<typeof switchable>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-unavailable-'));
    control = switchable(createSqlCutoverStore(createSqliteDriver(join(dir, 'store.sqlite'))));
    service = await buildTestService({ store: control.store, adminToken: ADMIN, requestDeadlineMs: 300, readyzTimeoutMs: 100 });
  });
  afterEach(async () => {
    control.release();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: string) => request(service.app).post(LEGACY).set(signedHeaders(body, { timestampMs: service.clock.now() })).send(body);

  it('when the store hangs, then a webhook is answered 503 store_unavailable at the deadline, and it is stored once Codat retries', async () => {
    const body = sampleText('legacy-DataSyncCompleted');
    const headers = signedHeaders(body, { timestampMs: service.clock.now() });
    control.mode.value = 'hanging';
    const refused = await request(service.app).post(LEGACY).set(headers).send(body);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('store_unavailable');
    expect(refused.headers['retry-after']).toBe('5');

    control.release();
    // The append in flight when the deadline passed may have committed: the retry is then a duplicate, never lost.
    const retried = await request(service.app).post(LEGACY).set(headers).send(body);
    expect([200, 202]).toContain(retried.status);
    expect((await service.store.counts()).inboxPending).toBe(1);
  });

  it('when more webhooks wait for the store than the bound, then the next is answered 503 inbox_full, and stored once Codat retries', async () => {
    const own = switchable(createSqlCutoverStore(createSqliteDriver(join(dir, 'bounded.sqlite'))));
    const bounded = await buildTestService({ store: own.store, adminToken: ADMIN, maxWaitingWebhooks: 1 });
    try {
      const first = sampleText('legacy-DataSyncCompleted');
      const second = sampleText('legacy-SyncCompleted');
      own.mode.value = 'hanging';
      // Waits for the store, holding the one place.
      const waiting = request(bounded.app).post(LEGACY).set(signedHeaders(first, { timestampMs: bounded.clock.now() })).send(first).then((r) => r);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const secondHeaders = signedHeaders(second, { timestampMs: bounded.clock.now() });
      const refused = await request(bounded.app).post(LEGACY).set(secondHeaders).send(second);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('inbox_full');
      expect(refused.headers['retry-after']).toBe('5');

      own.release();
      expect((await waiting).status).toBe(202);
      // Nothing was acknowledged, nothing lost: the retry is stored.
      expect((await request(bounded.app).post(LEGACY).set(secondHeaders).send(second)).status).toBe(202);
      expect((await bounded.store.counts()).inboxPending).toBe(2);
    } finally {
      own.release();
      await bounded.close();
    }
  });

  it('when the store hangs, then /readyz says not ready within its own timeout, and an operator request gets 503 deadline_exceeded', async () => {
    control.mode.value = 'hanging';
    const ready = await request(service.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not-ready', store: 'unavailable' });
    expect(ready.body.storeError).toMatch(/did not finish/);

    const admin = await request(service.app).get('/admin/dead-letters').set('authorization', `Bearer ${ADMIN}`);
    expect(admin.status).toBe(503);
    expect(admin.body.error.code).toBe('deadline_exceeded');
  });

  it('when the store refuses (connection lost), then webhooks and operator requests get 503 store_unavailable, not 500, and /readyz says why', async () => {
    control.mode.value = 'refusing';
    const webhook = await post(sampleText('legacy-DataSyncCompleted'));
    expect(webhook.status).toBe(503);
    expect(webhook.body.error.code).toBe('store_unavailable');
    const admin = await request(service.app).get('/admin/dead-letters').set('authorization', `Bearer ${ADMIN}`);
    expect(admin.status).toBe(503);
    expect(admin.body.error.code).toBe('store_unavailable');
    const ready = await request(service.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.storeError).toMatch(/Connection terminated/);

    control.release();
    expect((await request(service.app).get('/readyz')).status).toBe(200);
    expect((await post(sampleText('legacy-DataSyncCompleted'))).status).toBe(202);
  });
});
