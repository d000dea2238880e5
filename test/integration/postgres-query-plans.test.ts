/**
 * The settle's reads must stay index lookups on a large table whose statistics are missing or stale
 * (autovacuum off or behind it, as on a table that grew by a million webhooks since its last ANALYZE): a
 * sequential scan there makes every batch cost as much as the whole table, and a backlog drains ever slower.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { READ_PLACED } from '../../src/ledger/occurrence-workspace.js';
import { createPostgresDriver } from '../../src/store/postgres-driver.js';
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
  await client.query('ALTER TABLE occurrences SET (autovacuum_enabled = false)');
  await client.query(
    `INSERT INTO occurrences (id, type, correlation_key, key_strength, first_seen_at, occurred_at)
     SELECT 'o' || i, 'connection.connected', 'connection.connected|' || i, 'windowed', i, i FROM generate_series(1, $1::int) AS i`,
    [OCCURRENCES],
  );
}, 60_000);

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
