/**
 * The settle's reads and the claims must stay index walks on a large table whose statistics are missing or
 * stale (autovacuum off or behind it, as on a table that grew by a million webhooks since its last ANALYZE): a
 * sequential scan there makes every batch cost as much as the whole table, and a backlog drains ever slower.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { READ_PLACED } from '../../src/ledger/occurrence-workspace.js';
import { createPostgresDriver } from '../../src/store/postgres-driver.js';
import type { SqlDriver } from '../../src/store/sql-driver.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';

const OCCURRENCES = 200_000;
const BATCH_KEYS = 50;

let database: TestDatabase | undefined;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  const store = createSqlCutoverStore(createPostgresDriver(database.url, 1));
  await store.migrate();
  await store.close();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  // Never analysed: what the planner sees when autovacuum has not caught up with the table.
  for (const table of ['occurrences', 'inbox', 'deliveries']) await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  await client.query(
    `INSERT INTO occurrences (id, type, correlation_key, key_strength, first_seen_at, occurred_at)
     SELECT 'o' || i, 'connection.connected', 'connection.connected|' || i, 'windowed', i, i FROM generate_series(1, $1::int) AS i`,
    [OCCURRENCES],
  );
  // A backlog as large, half of it pending, each row with a body or payload of its own.
  await client.query(
    `INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state)
     SELECT 'legacy', 'legacy', 'k' || i, i, '{}', convert_to(repeat('x', 500), 'UTF8'), CASE WHEN i % 2 = 0 THEN 'pending' ELSE 'processed' END
     FROM generate_series(1, $1::int) AS i`,
    [OCCURRENCES],
  );
  await client.query(
    `INSERT INTO deliveries (occurrence_id, payload, state, next_attempt_at, created_at)
     SELECT 'o' || i, repeat('x', 500), CASE WHEN i % 2 = 0 THEN 'pending' ELSE 'delivered' END, i, i FROM generate_series(1, $1::int) AS i`,
    [OCCURRENCES],
  );
}, 120_000);

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

describe('the settle reads on a large table without statistics', () => {
  it(`reads a batch's ${BATCH_KEYS} pairing ranges through the pairing index, not a scan of ${OCCURRENCES} occurrences`, async () => {
    const keys = Array.from({ length: BATCH_KEYS }, (_, i) => `connection.connected|${1 + i * 997}`);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${READ_PLACED.postgres}`, [
      keys,
      keys.map(() => 0),
      keys.map(() => OCCURRENCES),
    ]);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan, plan).not.toMatch(/Seq Scan on occurrences/);
    expect(plan, plan).toMatch(/occurrences_pairing/);
  });
});

describe('the claims on a large backlog without statistics', () => {
  /** The plan of every claim statement the store really runs (the UPDATE … SET claimed_until = $3 …), with its parameters. */
  function explainingClaims(driver: SqlDriver, plans: Map<string, string>): SqlDriver {
    return {
      ...driver,
      statement: async (sql, params, options) => {
        const claim = /^\s*UPDATE (inbox|deliveries) SET claimed_until = \$3 WHERE/.exec(sql);
        if (claim?.[1]) {
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...params]);
          plans.set(claim[1], rows.map((row) => row['QUERY PLAN']).join('\n'));
        }
        return driver.statement(sql, params, options);
      },
    };
  }

  it(`claims stored webhooks and due deliveries through their partial indexes, not a scan of ${OCCURRENCES} rows`, async () => {
    const plans = new Map<string, string>();
    const store = createSqlCutoverStore(explainingClaims(createPostgresDriver(database!.url, 1), plans));
    try {
      expect(await store.claimPending(Date.now(), 200, 15_000)).toHaveLength(200);
      expect(await store.claimDueDeliveries(Date.now(), 50, 15_000)).toHaveLength(50);
    } finally {
      await store.close();
    }
    for (const [table, index] of [['inbox', 'inbox_pending'], ['deliveries', 'deliveries_due']] as const) {
      const plan = plans.get(table) ?? '';
      expect(plan, plan).toMatch(new RegExp(index));
      expect(plan, plan).not.toMatch(new RegExp(`Seq Scan on ${table}`));
    }
  });
});
