/**
 * Step 0001 of the schema (src/store/schema.ts): the tables as the releases before numbered steps left them.
 * Those releases migrated by running every statement below idempotently and recording their fingerprint in
 * `cutover_schema_version`. This step either adopts such a database as it is or, on any other (an empty one, or
 * one an older release left short), runs the same statements the same idempotent way.
 *
 * Frozen: the statements are the fingerprint an adopted database is recognised by, so a change to the schema
 * is a new step in src/store/schema.ts, never an edit here (test/unit/schema-baseline.test.ts holds them to
 * the copy in test/fixtures/schema/).
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/** The releases before numbered steps: their tables, indexes and in-place additions, in order. */
export function baselineStatements(dialect: Dialect): string[] {
  const id = dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  const bytes = dialect === 'postgres' ? 'BYTEA' : 'BLOB';
  return [
    `CREATE TABLE IF NOT EXISTS inbox (
      id ${id},
      channel TEXT NOT NULL,
      endpoint TEXT NOT NULL,
      dedupe_key TEXT NOT NULL,
      received_at BIGINT NOT NULL,
      headers TEXT NOT NULL,
      body ${bytes} NOT NULL,
      state TEXT NOT NULL,
      detail TEXT,
      claimed_until BIGINT NOT NULL DEFAULT 0,
      processed_at BIGINT,
      settle_failures INTEGER NOT NULL DEFAULT 0,
      UNIQUE (channel, dedupe_key)
    )`,
    // Databases made before the column existed: added in place (run idempotently on SQLite too, see below).
    `ALTER TABLE inbox ADD COLUMN IF NOT EXISTS settle_failures INTEGER NOT NULL DEFAULT 0`,
    // One small partial index per state a query looks for, instead of one (state, …) index that every
    // append and every settle rewrote: each stored webhook now costs two index writes fewer.
    `CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (id) WHERE state = 'pending'`,
    `CREATE INDEX IF NOT EXISTS inbox_processed ON inbox (processed_at) WHERE state = 'processed'`,
    `CREATE INDEX IF NOT EXISTS inbox_quarantined ON inbox (id) WHERE state IN ('quarantined', 'unrecognised')`,
    `DROP INDEX IF EXISTS inbox_state`,
    `CREATE TABLE IF NOT EXISTS occurrences (
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
      rescue_at BIGINT
    )`,
    // Where each occurrence stands in time (Codat's `generatedDate` when a copy had one we trust, else the
    // first arrival) and the key parts a copy may lack: what pairing reads (docs/correlation.md).
    `ALTER TABLE occurrences ADD COLUMN IF NOT EXISTS occurred_at BIGINT`,
    `ALTER TABLE occurrences ADD COLUMN IF NOT EXISTS key_qualifiers TEXT`,
    `UPDATE occurrences SET occurred_at = first_seen_at WHERE occurred_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS occurrences_pairing ON occurrences (correlation_key, occurred_at)`,
    `DROP INDEX IF EXISTS occurrences_key`,
    `CREATE INDEX IF NOT EXISTS occurrences_rescue ON occurrences (rescue_at) WHERE rescue_at IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS occurrences_first_seen ON occurrences (first_seen_at)`,
    `CREATE INDEX IF NOT EXISTS occurrences_window_open ON occurrences (first_seen_at) WHERE window_closed_at IS NULL`,
    // Per type and hour, what the closed windows showed: the readiness verdict reads these few rows
    // instead of scanning a day of occurrences, a scan that grows with traffic and holds SQLite's one connection.
    `CREATE TABLE IF NOT EXISTS window_stats (
      type TEXT NOT NULL,
      hour BIGINT NOT NULL,
      figure TEXT NOT NULL,
      n BIGINT NOT NULL,
      PRIMARY KEY (type, hour, figure)
    )`,
    `CREATE TABLE IF NOT EXISTS deliveries (
      occurrence_id TEXT PRIMARY KEY,
      payload TEXT NOT NULL,
      state TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      claimed_until BIGINT NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at BIGINT NOT NULL,
      delivered_at BIGINT
    )`,
    `CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending'`,
    `CREATE INDEX IF NOT EXISTS deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered'`,
    `CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (created_at) WHERE state = 'dead'`,
    `DROP INDEX IF EXISTS deliveries_state`,
  ];
}

const ADD_COLUMN = /^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) /;

/** The fingerprint those releases recorded for these statements. */
function fingerprintOf(statements: readonly string[]): string {
  return createHash('sha256').update(statements.join(';\n')).digest('hex').slice(0, 16);
}

/** Which of `names` exist as tables or indexes: a catalogue read that locks no table. */
async function existingObjects(db: Kysely<unknown>, dialect: Dialect, names: readonly string[]): Promise<Set<string>> {
  const json = JSON.stringify(names);
  const query =
    dialect === 'postgres'
      ? sql<{ name: string }>`SELECT name FROM json_array_elements_text(${json}::json) AS name WHERE to_regclass(name) IS NOT NULL`
      : sql<{ name: string }>`SELECT name FROM sqlite_master WHERE name IN (SELECT value FROM json_each(${json}))`;
  return new Set((await query.execute(db)).rows.map((row) => row.name));
}

/**
 * The database is what those releases made of these very statements: their fingerprint is recorded and the
 * catalogue agrees (everything they create is there, nothing they drop is: an older release started in between
 * may have re-created an index they drop).
 */
async function isAdoptable(db: Kysely<unknown>, dialect: Dialect, statements: readonly string[]): Promise<boolean> {
  if (!(await existingObjects(db, dialect, ['cutover_schema_version'])).has('cutover_schema_version')) return false;
  const { rows } = await sql<{ version: string }>`SELECT version FROM cutover_schema_version WHERE id = 1`.execute(db);
  if (rows[0]?.version !== fingerprintOf(statements)) return false;
  const names = (pattern: RegExp) => statements.flatMap((s) => pattern.exec(s)?.[1] ?? []);
  const created = names(/^CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)/);
  const dropped = names(/^DROP INDEX IF EXISTS (\w+)/);
  const existing = await existingObjects(db, dialect, [...created, ...dropped]);
  return created.every((name) => existing.has(name)) && !dropped.some((name) => existing.has(name));
}

/** SQLite has no `ADD COLUMN IF NOT EXISTS`: there the clause is dropped and the statement runs only if the column is missing. */
async function runIdempotently(db: Kysely<unknown>, dialect: Dialect, statement: string): Promise<void> {
  const added = ADD_COLUMN.exec(statement);
  if (dialect === 'sqlite' && added) {
    const [, table = '', column = ''] = added;
    const { rows } = await sql`SELECT 1 AS found FROM pragma_table_info(${table}) WHERE name = ${column}`.execute(db);
    if (rows.length > 0) return;
    await sql.raw(statement.replace(' IF NOT EXISTS', '')).execute(db);
    return;
  }
  await sql.raw(statement).execute(db);
}

export async function applyBaseline(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const statements = baselineStatements(dialect);
  // An adopted database is left as it is: on PostgreSQL, CREATE INDEX IF NOT EXISTS locks its table (SHARE)
  // before it finds the index there, so re-running the statements beside running replicas would stall their
  // appends and could deadlock with their settles.
  if (!(await isAdoptable(db, dialect, statements))) {
    for (const statement of statements) await runIdempotently(db, dialect, statement);
  }
  // Kysely's own table records the steps from here on.
  await sql`DROP TABLE IF EXISTS cutover_schema_version`.execute(db);
}
