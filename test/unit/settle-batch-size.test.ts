/**
 * How many stored webhooks one settle claims, by the store the service is configured for: the placement
 * (src/jobs/pipeline-placement.ts) reads it from the configuration, so a store the test gives, wrapped to
 * record its claims, shows what the pipeline would claim on either store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createSqlCutoverStore, type CutoverStore } from '../../src/cutover-store.js';
import { placePipeline } from '../../src/jobs/pipeline-placement.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { buildNewWebhook } from '../support/builders.js';
import { FakeToggle, ManualClock, RecordingSink } from '../support/fakes.js';
import { sampleText } from '../support/samples.js';

describe('the settle batch, by store', () => {
  let dir: string;
  let store: CutoverStore;
  let claimLimits: number[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-batch-'));
    const sqlStore = createSqlCutoverStore(createSqliteDriver(join(dir, 'store.sqlite')));
    claimLimits = [];
    store = {
      ...sqlStore,
      claimPending(now, limit, leaseMs) {
        claimLimits.push(limit);
        return sqlStore.claimPending(now, limit, leaseMs);
      },
    };
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Settles a backlog of `backlog` webhooks through the pipeline placed for `env`; the limit of each claim. */
  async function claimsFor(env: Record<string, string>, backlog: number): Promise<number[]> {
    const clock = new ManualClock();
    clock.current = Date.now();
    const body = Buffer.from(sampleText('legacy-DataSyncCompleted'));
    await store.append(Array.from({ length: backlog }, () => buildNewWebhook({ body, receivedAt: clock.current })));
    const pipeline = placePipeline(
      { config: loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error', ...env }), metrics: createMetrics(), toggle: new FakeToggle(), logger: silentLogger, clock, sink: new RecordingSink() },
      store,
    );
    expect(await pipeline.run('settle')).toBe(backlog);
    expect((await store.counts()).inboxPending).toBe(0);
    return claimLimits;
  }

  it('when the service is configured for PostgreSQL, then a backlog is claimed 200 at a time', async () => {
    // The given store takes the place of the database, so nothing connects to this address.
    const limits = await claimsFor({ DATABASE_URL: 'postgres://cutover@127.0.0.1:1/cutover' }, 450);
    expect(limits.length).toBeGreaterThanOrEqual(3);
    expect(limits.every((limit) => limit === 200), String(limits)).toBe(true);
  });

  it('when the service runs on the embedded store, then 50 at a time', async () => {
    const limits = await claimsFor({}, 120);
    expect(limits.length).toBeGreaterThanOrEqual(3);
    expect(limits.every((limit) => limit === 50), String(limits)).toBe(true);
  });
});
