/**
 * How long upgrading a PostgreSQL database from before a62503a holds writes: that release had one
 * (state, …) index on `inbox` and on `deliveries` where this one has partial indexes, which `migrate`
 * builds (not CONCURRENTLY) at the first start of the new release. It fills a throwaway database in that
 * older shape, then runs this release's `migrate` while another store appends one webhook every 20 ms,
 * and prints how long the migration took and the longest append wait (docs/performance.md, item 13).
 *
 *   npx tsx scripts/bench/upgrade-index-build.ts [inbox rows=1000000]   # needs PostgreSQL at 127.0.0.1:5432
 */
import pg from 'pg';
import { createPostgresDriver } from '../../src/store/postgres-driver.js';
import { createSqlCutoverStore } from '../../src/store/sql-cutover-store.js';
import { createTestDatabase } from '../../test/integration/support/postgres.js';
import { buildNewWebhook } from '../../test/support/builders.js';
import { f0, f1, median } from './figures.js';

/** The schema before a62503a: today's tables, the (state, …) indexes instead of the partial ones, no step recorded. */
const TO_THE_OLDER_SHAPE = [
  'DROP INDEX inbox_processed',
  'DROP INDEX inbox_quarantined',
  'DROP INDEX deliveries_delivered',
  'DROP INDEX deliveries_dead',
  'CREATE INDEX inbox_state ON inbox (state, received_at)',
  'CREATE INDEX deliveries_state ON deliveries (state, created_at)',
  'DROP TABLE kysely_migration',
  'DROP TABLE kysely_migration_lock',
];

const rows = Number(process.argv[2] ?? 1_000_000);
const database = await createTestDatabase('cutover_upgrade');
try {
  const setup = createSqlCutoverStore(createPostgresDriver(database.url, 1));
  await setup.migrate();
  await setup.close();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  for (const statement of TO_THE_OLDER_SHAPE) await client.query(statement);
  const filling = performance.now();
  await client.query(
    `INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state, processed_at)
     SELECT CASE WHEN i % 2 = 0 THEN 'legacy' ELSE 'events' END, 'x', md5(i::text), 1700000000000 + i, '{}',
            convert_to(repeat('x', 1000), 'UTF8'), 'processed', 1700000000000 + i
     FROM generate_series(1, $1) i`,
    [rows],
  );
  await client.query(
    `INSERT INTO deliveries (occurrence_id, payload, state, attempts, next_attempt_at, created_at, delivered_at)
     SELECT md5(i::text), repeat('y', 600), 'delivered', 1, 0, 1700000000000 + i, 1700000000000 + i
     FROM generate_series(1, $1 / 2) i`,
    [rows],
  );
  await client.query('VACUUM ANALYZE');
  const [size] = (await client.query(`SELECT pg_size_pretty(pg_total_relation_size('inbox')) AS inbox, pg_size_pretty(pg_total_relation_size('deliveries')) AS deliveries`)).rows as { inbox: string; deliveries: string }[];
  await client.end();
  process.stdout.write(`filled ${rows} inbox rows (${size?.inbox}) and ${Math.floor(rows / 2)} deliveries (${size?.deliveries}) in ${f1((performance.now() - filling) / 1000)} s\n`);

  const running = createSqlCutoverStore(createPostgresDriver(database.url, 2));
  const upgrading = createSqlCutoverStore(createPostgresDriver(database.url, 2));
  const waits: number[] = [];
  let upgraded = false;
  const appending = (async () => {
    for (let i = 0; !upgraded; i += 1) {
      const started = performance.now();
      await running.append([buildNewWebhook({ dedupeKey: `during-upgrade-${i}`, receivedAt: Date.now() })]);
      waits.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const migrating = performance.now();
  await upgrading.migrate();
  const migrateMs = performance.now() - migrating;
  await new Promise((resolve) => setTimeout(resolve, 300));
  upgraded = true;
  await appending;
  await Promise.all([running.close(), upgrading.close()]);
  process.stdout.write(`migrate ${f0(migrateMs)} ms; ${waits.length} appends meanwhile, wait p50 ${f1(median(waits))} ms, longest ${f0(Math.max(...waits))} ms\n`);
} finally {
  await database.drop();
}
