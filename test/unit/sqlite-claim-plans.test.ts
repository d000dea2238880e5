import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import type { SqlDriver, SqlExecutor } from '../../src/store/sql-driver.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import type { CutoverStore } from '../../src/cutover-store.js';

/**
 * A claim must read the next batch from its partial index in claim order. SQLite's planner, which has no
 * statistics, preferred the (state, …) index and sorted every pending row per claim: a claim's cost grew
 * with the backlog (0.02 ms → 37 ms from 1,000 to 150,000 pending), and so did every append queued behind
 * it. The plan is what regresses, so the plan is what is checked: each claim statement the store really
 * runs is explained in the same transaction, with the same parameters.
 */
describe('the embedded store claims work in index order, whatever the backlog', () => {
  let dir: string;
  let store: CutoverStore;
  const plans = new Map<string, string>();

  /** Runs EXPLAIN QUERY PLAN on every claim statement (the UPDATE … SET claimed_until = $3 …) before running it. */
  function explainingClaims(driver: SqlDriver): SqlDriver {
    const explain = async (tx: SqlExecutor, sql: string, params: readonly unknown[] | undefined) => {
      const claim = /^\s*UPDATE (inbox|deliveries) SET claimed_until = \$3 WHERE/.exec(sql);
      if (!claim?.[1]) return;
      const rows = await tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
      plans.set(claim[1], rows.map((r) => r.detail).join(' | '));
    };
    const explaining = (tx: SqlExecutor): SqlExecutor => ({
      ...tx,
      query: async (sql, params) => {
        await explain(tx, sql, params);
        return tx.query(sql, params);
      },
    });
    // A claim is one statement, its own transaction (SqlDriver.statement): explained just before it runs.
    return {
      ...driver,
      transaction: (work, options) => driver.transaction((tx) => work(explaining(tx)), options),
      statement: async (sql, params, options) => {
        await driver.transaction((tx) => explain(tx, sql, params));
        return driver.statement(sql, params, options);
      },
    };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-plans-'));
    plans.clear();
    store = createSqlCutoverStore(explainingClaims(createSqliteDriver(join(dir, 'cutover.db'))));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the processor claims stored webhooks, then the plan walks inbox_pending and sorts nothing', async () => {
    await store.claimPending(Date.now(), 50, 15_000);
    const plan = plans.get('inbox');
    expect(plan).toMatch(/inbox_pending/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  it('when the delivery worker claims due deliveries, then the plan walks deliveries_due and sorts nothing', async () => {
    await store.claimDueDeliveries(Date.now(), 50, 15_000);
    const plan = plans.get('deliveries');
    expect(plan).toMatch(/deliveries_due/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });
});
