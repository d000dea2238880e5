import { describe, expect, it } from 'vitest';
import { createInboxWriter } from '../../src/webhooks/inbox-writer.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import type { AppendResult, CutoverStore, NewWebhook } from '../../src/cutover-store.js';
import { gateUntilReady, startStoreStartup } from '../../src/store/store-startup.js';
import { isStoreUnavailable } from '../../src/store/store-unavailable.js';
import { buildNewWebhook } from '../support/builders.js';

describe('store start-up', () => {
  it('when the store fails at first, then start-up retries, says what it waits for, and is ready once the store answers', async () => {
    let calls = 0;
    const startup = startStoreStartup({
      async prepare() {
        calls += 1;
        if (calls < 3) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      logger: silentLogger,
      timeoutMs: 10_000,
      initialDelayMs: 10,
    });
    expect(startup.status().state).toBe('waiting');
    await new Promise((r) => setTimeout(r, 5));
    expect(startup.status()).toEqual({ state: 'waiting', attempts: 1, lastError: 'connect ECONNREFUSED 127.0.0.1:5432' });
    await startup.ready;
    expect(calls).toBe(3);
    expect(startup.status()).toEqual({ state: 'ready' });
  });

  it('when the store never answers, then start-up gives up after its time and says so', async () => {
    const startup = startStoreStartup({
      prepare: () => Promise.reject(new Error('database "cutover" does not exist')),
      logger: silentLogger,
      timeoutMs: 100,
      initialDelayMs: 10,
      maxDelayMs: 20,
    });
    const failure = await startup.ready.catch((error: unknown) => error);
    expect(isStoreUnavailable(failure)).toBe(true);
    expect(startup.status()).toMatchObject({ state: 'failed', lastError: 'database "cutover" does not exist' });
  });

  it('when start-up is cancelled, then it stops retrying', async () => {
    let calls = 0;
    const startup = startStoreStartup({
      prepare: async () => {
        calls += 1;
        throw new Error('down');
      },
      logger: silentLogger,
      timeoutMs: 60_000,
      initialDelayMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 5));
    startup.cancel();
    expect(isStoreUnavailable(await startup.ready.catch((error: unknown) => error))).toBe(true);
    expect(calls).toBe(1);
  });

  it('when the store is not ready, then its gated calls fail with store unavailable, and pass once it is', async () => {
    let ready = false;
    const store = { ping: async () => undefined, close: async () => undefined } as unknown as CutoverStore;
    const gated = gateUntilReady(store, { status: () => (ready ? { state: 'ready' } : { state: 'waiting', attempts: 1, lastError: null }), ready: Promise.resolve(), cancel: () => undefined });
    expect(isStoreUnavailable(await gated.ping().catch((error: unknown) => error))).toBe(true);
    ready = true;
    await expect(gated.ping()).resolves.toBeUndefined();
  });
});

describe('inbox writer deadline', () => {
  it('when the deadline passes while a webhook is still queued, then it fails as store unavailable and is never sent to the store', async () => {
    const appended: NewWebhook[][] = [];
    let release: () => void = () => undefined;
    const store = {
      append: (webhooks: readonly NewWebhook[]) => {
        appended.push([...webhooks]);
        return new Promise<AppendResult[]>((resolve) => (release = () => resolve(webhooks.map((_, i) => ({ status: 'stored', inboxId: i + 1 })))));
      },
    } as unknown as CutoverStore;
    const writer = createInboxWriter(store, { maxInFlight: 1 });
    const first = writer.write(buildNewWebhook({ dedupeKey: 'first' }));
    await new Promise((r) => setImmediate(r));
    const deadline = new AbortController();
    const second = writer.write(buildNewWebhook({ dedupeKey: 'second' }), deadline.signal);
    await new Promise((r) => setImmediate(r));
    deadline.abort();
    expect(isStoreUnavailable(await second.catch((error: unknown) => error))).toBe(true);
    release();
    await expect(first).resolves.toMatchObject({ status: 'stored' });
    await new Promise((r) => setImmediate(r));
    expect(appended.map((batch) => batch.map((w) => w.dedupeKey))).toEqual([['first']]);
  });
});
