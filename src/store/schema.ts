/**
 * The schema of the durable inbox, the cross-channel ledger and the delivery outbox, as numbered steps that
 * Kysely's migrator runs in order, once per database (src/store/migrate.ts, docs/schema-migrations.md).
 * Times are epoch milliseconds. The two dialects differ in types, partial-index syntax and in how a column
 * is altered: PostgreSQL alters it in place, SQLite rebuilds the table.
 *
 * A step that has shipped is never edited: databases that ran it will not run it again. A change is a new step
 * at the end, with the next number.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { applyBaseline } from './schema-baseline.js';

type Dialect = 'sqlite' | 'postgres';

/** The four indexes on `occurrences`, which SQLite's table rebuild drops with the old table. */
const OCCURRENCE_INDEXES = [
  `CREATE INDEX occurrences_pairing ON occurrences (correlation_key, occurred_at)`,
  `CREATE INDEX occurrences_rescue ON occurrences (rescue_at) WHERE rescue_at IS NOT NULL`,
  `CREATE INDEX occurrences_first_seen ON occurrences (first_seen_at)`,
  `CREATE INDEX occurrences_window_open ON occurrences (first_seen_at) WHERE window_closed_at IS NULL`,
];

const OCCURRENCE_COLUMNS = [
  'id', 'type', 'correlation_key', 'key_strength', 'company_id', 'first_seen_at', 'legacy_seen_at', 'events_seen_at',
  'legacy_copy', 'events_copy', 'legacy_role', 'events_role', 'mismatched_fields', 'window_closed_at', 'duplicate_copies',
  'delivered_via', 'delivery_reason', 'decided_at', 'rescue_at', 'occurred_at', 'key_qualifiers',
].join(', ');

/**
 * `occurrences.occurred_at` becomes NOT NULL. It came in as an added column, so it had to be nullable, and the
 * baseline back-filled it on every start; every insert writes it and pairing reads it as a number, so a NULL
 * there would silently keep an occurrence out of every pairing window. The column now says so itself.
 */
async function occurredAtNotNull(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await sql`UPDATE occurrences SET occurred_at = first_seen_at WHERE occurred_at IS NULL`.execute(db);
  if (dialect === 'postgres') {
    await db.schema.alterTable('occurrences').alterColumn('occurred_at', (column) => column.setNotNull()).execute();
    return;
  }
  // SQLite cannot alter a column: the table is rebuilt under the same name (its documented procedure), in the
  // migration's transaction, so a failure leaves the old table as it was.
  await sql`CREATE TABLE occurrences_rebuilt (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    correlation_key TEXT NOT NULL,
    key_strength TEXT NOT NULL,
    company_id TEXT,
    first_seen_at BIGINT NOT NULL,
    legacy_seen_at BIGINT,
    events_seen_at BIGINT,
    legacy_copy TEXT,
    events_copy TEXT,
    legacy_role TEXT,
    events_role TEXT,
    mismatched_fields TEXT,
    window_closed_at BIGINT,
    duplicate_copies INTEGER NOT NULL DEFAULT 0,
    delivered_via TEXT,
    delivery_reason TEXT,
    decided_at BIGINT,
    rescue_at BIGINT,
    occurred_at BIGINT NOT NULL,
    key_qualifiers TEXT
  )`.execute(db);
  await sql.raw(`INSERT INTO occurrences_rebuilt (${OCCURRENCE_COLUMNS}) SELECT ${OCCURRENCE_COLUMNS} FROM occurrences`).execute(db);
  await sql`DROP TABLE occurrences`.execute(db);
  await sql`ALTER TABLE occurrences_rebuilt RENAME TO occurrences`.execute(db);
  for (const statement of OCCURRENCE_INDEXES) await sql.raw(statement).execute(db);
}

/**
 * `deliveries.request_id`: the request that brought the delivered copy, so the delivery's log lines carry its id.
 * Nullable: deliveries made before it have none. Briefly the column was added by the statement list itself, so
 * a database made then already has it: the step adds it only where it is missing.
 */
async function deliveriesRequestId(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS request_id TEXT`.execute(db);
    return;
  }
  const { rows } = await sql`SELECT 1 AS found FROM pragma_table_info('deliveries') WHERE name = 'request_id'`.execute(db);
  if (rows.length === 0) await sql`ALTER TABLE deliveries ADD COLUMN request_id TEXT`.execute(db);
}

/**
 * The steps, by name. Kysely runs them in the order of their names, so every name starts with its
 * four-digit number.
 */
export function schemaMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_baseline': { up: (db) => applyBaseline(db, dialect) },
    '0002_occurrences_occurred_at_not_null': { up: (db) => occurredAtNotNull(db, dialect) },
    '0003_deliveries_request_id': { up: (db) => deliveriesRequestId(db, dialect) },
    // The next change to the schema goes here, as `0004_…`: for a new column, `ALTER TABLE … ADD COLUMN …`
    // (a step runs once), with whatever back-fill it needs in the same step.
  };
}
