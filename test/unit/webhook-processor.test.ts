import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Logger } from '../../src/domain/ports.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import { convertersByChannel } from '../../src/formats/index.js';
import { createWebhookProcessor, primaryChannelsFromToggle } from '../../src/ledger/webhook-processor.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { PartlySettled, type CutoverStore } from '../../src/cutover-store.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { buildNewWebhook } from '../support/builders.js';
import { FakeToggle } from '../support/fakes.js';
import { sampleText } from '../support/samples.js';

/** The real converters and the toggle's default (legacy primary) over `store`. */
function processorOver(store: CutoverStore, metrics: ReturnType<typeof createMetrics>, options: { batchSize?: number; logger?: Logger } = {}) {
  return createWebhookProcessor({
    store, metrics, logger: silentLogger, clock: systemClock,
    converters: convertersByChannel(),
    primaryChannels: primaryChannelsFromToggle(new FakeToggle(), metrics),
    graceMs: 120_000,
    windowMs: 900_000,
    ...options,
  });
}

describe('the webhook processor', () => {
  let dir: string;
  let store: CutoverStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-processor-'));
    store = createSqlCutoverStore(createSqliteDriver(join(dir, 'store.db')));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when stopped during a backlog, then it ends after the batch in flight and leaves the rest pending', async () => {
    const metrics = createMetrics();
    const body = Buffer.from(sampleText('legacy-DataSyncCompleted'));
    await store.append(Array.from({ length: 300 }, () => buildNewWebhook({ body, receivedAt: Date.now() })));
    const processor = processorOver(store, metrics, { batchSize: 10 });
    const stopping = new AbortController();
    const draining = processor.drain(stopping.signal);
    stopping.abort();
    const settled = await draining;
    expect(settled).toBeGreaterThan(0);
    expect(settled).toBeLessThan(300);
    expect((await store.counts()).inboxPending).toBe(300 - settled);
  });

  it('when an authentic webhook carries a control character in an id, then it is quarantined with the reason, not retried forever', async () => {
    const metrics = createMetrics();
    const sample = JSON.parse(sampleText('legacy-PushOperationStatusChanged')) as { Data: { pushOperationKey: string } };
    sample.Data.pushOperationKey += '\u0000';
    const clean = buildNewWebhook({ body: Buffer.from(sampleText('legacy-DataSyncCompleted')), receivedAt: Date.now() });
    await store.append([buildNewWebhook({ body: Buffer.from(JSON.stringify(sample)), receivedAt: Date.now() }), clean]);
    const processor = processorOver(store, metrics);

    expect(await processor.drain()).toBe(2);
    expect((await store.listQuarantine(10)).map((q) => [q.state, q.detail])).toEqual([['quarantined', 'control_character_in_identifier']]);
    expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 1, deliveriesPending: 1 });
  });

  it('when only part of a batch settles, then what settled is counted, the rest stays pending, the failure is logged and the pass goes on', async () => {
    const metrics = createMetrics();
    const body = Buffer.from(sampleText('legacy-DataSyncCompleted'));
    await store.append([0, 1, 2].map(() => buildNewWebhook({ body, receivedAt: Date.now() })));
    // As a store does when one webhook's transaction fails: the first commits, the second does not.
    let batches = 0;
    const partly: CutoverStore = {
      ...store,
      async settleBatch(items, policy) {
        batches += 1;
        if (batches > 1) return store.settleBatch(items, policy);
        const [first] = items;
        if (!first) throw new Error('empty batch');
        throw new PartlySettled([await store.settle(first.webhook, first.conversion, policy), undefined], new Error('deadlock detected'));
      },
    };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string, fields?: Record<string, unknown>) => warnings.push(`${message} ${String(fields?.error)}`) };
    const processor = processorOver(partly, metrics, { batchSize: 2, logger });

    // The second batch (the third webhook) is settled in the same pass.
    expect(await processor.drain()).toBe(2);
    const decisions = (await metrics.ledgerDecisions.get()).values;
    expect(decisions.map((v) => [v.labels.channel, v.labels.action, v.value])).toEqual([['legacy', 'deliver', 2]]);
    expect(warnings).toEqual([expect.stringContaining('deadlock detected')]);
    expect((await store.counts()).inboxPending).toBe(1);
  });
});
