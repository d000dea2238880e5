/**
 * Two replicas' readiness monitors closing correlation windows at once on one PostgreSQL database.
 * Each closes a disjoint set of occurrences (SKIP LOCKED) and adds their figures to the shared
 * per-type, per-hour counters (`window_stats`), one upsert per counter. Two transactions that take
 * the same counters in opposite orders wait on each other and PostgreSQL aborts one (the monitor
 * retried at its next pass, but the pass was lost and logged).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.js';
import { silentLogger } from '../../src/observability/json-logger.js';
import { createCutoverMonitor, type CutoverMonitor } from '../../src/readiness/cutover-monitor.js';
import type { CutoverStore } from '../../src/cutover-store.js';
import { createPostgresDriver } from '../../src/store/postgres-driver.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { FakeToggle, ManualClock } from '../support/fakes.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';

const WINDOW_MS = 300_000;
const HOUR_MS = 3600_000;
/** The start of an hour, so that every occurrence below counts in the same hour. */
const T = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOUR = Math.floor(T / HOUR_MS);
const A_TYPE = 'dataset.synced';
const B_TYPE = 'connection.connected';

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase('cutover_monitor');
});
afterAll(async () => {
  await database?.drop();
});

function monitorOn(store: CutoverStore, nowMs: number): CutoverMonitor {
  const clock = new ManualClock(nowMs);
  return createCutoverMonitor({
    store, clock, toggle: new FakeToggle(), metrics: createMetrics(), logger: silentLogger, windowMs: WINDOW_MS,
    thresholds: { minCoverage: 0.995, minOccurrences: 1, observationHours: 24 }, cacheMs: 0,
  });
}

async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PostgreSQL: two readiness monitors on one store', () => {
  it('when two replicas close windows at once and their occurrences touch the same counters in opposite orders, then both passes commit (no deadlock) and each occurrence is counted once', async () => {
    if (!database) throw new Error('test database not created');
    const stores = [0, 1].map(() => createSqlCutoverStore(createPostgresDriver(database!.url, 3)));
    const control = new pg.Client({ connectionString: database.url });
    // Outside any transaction: within one, pg_stat_activity is a snapshot taken at its first read.
    const observer = new pg.Client({ connectionString: database.url });
    await control.connect();
    await observer.connect();
    try {
      await stores[0]!.migrate();
      // By first sight: the first replica's batch is A then B, the second's (the later two) B then A.
      const occurrences: [string, string, number][] = [['o1', A_TYPE, T], ['o2', B_TYPE, T + 1], ['o3', B_TYPE, T + 2], ['o4', A_TYPE, T + 3]];
      for (const [id, type, at] of occurrences) {
        await control.query(
          `INSERT INTO occurrences (id, type, correlation_key, key_strength, first_seen_at, occurred_at, legacy_seen_at) VALUES ($1, $2, $3, 'strong', $4, $4, $4)`,
          [id, type, `key-${id}`, at],
        );
      }
      // A counter row with nothing in it yet, held by another transaction: it makes both monitors stop
      // at the same place, so the test does not depend on how their statements happen to interleave.
      await control.query(`INSERT INTO window_stats (type, hour, figure, n) VALUES ($1, $2, 'seen:legacy_only', 0)`, [A_TYPE, HOUR]);
      await control.query('BEGIN');
      await control.query(`SELECT n FROM window_stats WHERE type = $1 AND hour = $2 FOR UPDATE`, [A_TYPE, HOUR]);
      const waiting = async () =>
        Number((await observer.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]?.n);

      // The first replica's clock closes o1 and o2; the second's all four, of which o1 and o2 are the first's.
      const first = monitorOn(stores[0]!, T + 1 + WINDOW_MS).tick();
      await waitUntil(async () => (await waiting()) === 1, 'the first monitor waits for the held counter');
      const second = monitorOn(stores[1]!, T + 3 + WINDOW_MS).tick();
      await waitUntil(async () => (await waiting()) === 2, 'the second monitor waits too');
      await control.query('COMMIT');

      const outcomes = await Promise.allSettled([first, second]);
      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([]);
      const counters = await control.query<{ type: string; n: number | string }>(
        `SELECT type, n FROM window_stats WHERE figure = 'seen:legacy_only' ORDER BY type`,
      );
      expect(counters.rows.map((r) => [r.type, Number(r.n)])).toEqual([[B_TYPE, 2], [A_TYPE, 2]]);
      const closed = await control.query<{ n: string }>(`SELECT COUNT(*) AS n FROM occurrences WHERE window_closed_at IS NOT NULL`);
      expect(Number(closed.rows[0]?.n)).toBe(4);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
      await observer.end();
      await Promise.allSettled(stores.map((store) => store.close()));
    }
  });
});
