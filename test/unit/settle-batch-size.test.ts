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

  it('when the service runs on PostgreSQL, then a backlog is claimed 200 at a time: a batch\'s round trips, not its work, bound the rate there', async () => {
    // The given store takes the place of the database, so nothing connects to this address.
    expect(await claimsFor({ DATABASE_URL: 'postgres://cutover@127.0.0.1:1/cutover' }, 450)).toEqual([200, 200, 200, 200]);
  });

  it('when the service runs on the embedded store, then 50 at a time, so an append waits little behind a settle', async () => {
    expect(await claimsFor({}, 120)).toEqual([50, 50, 50, 50]);
  });
});
