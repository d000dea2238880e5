/**
 * Tables of the durable inbox, the cross-channel ledger and the delivery outbox.
 * Times are epoch milliseconds. The two dialects differ only in types and partial-index syntax.
 */
export function schemaStatements(dialect: 'sqlite' | 'postgres'): string[] {
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
    // Databases made before the column existed: added in place (migrate runs this idempotently on SQLite too).
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
    // The request that brought the delivered copy, so the delivery's log lines carry its id.
    `ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS request_id TEXT`,
    `CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending'`,
    `CREATE INDEX IF NOT EXISTS deliveries_delivered ON deliveries (delivered_at) WHERE state = 'delivered'`,
    `CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (created_at) WHERE state = 'dead'`,
    `DROP INDEX IF EXISTS deliveries_state`,
  ];
}

const ADD_COLUMN = /^ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+) /;

/**
 * How one statement is run so that running it again changes nothing. SQLite has no `ADD COLUMN IF NOT EXISTS`:
 * there the statement runs without the clause, and only when `skipIfColumn` names a column that is missing.
 */
export function idempotentStatement(
  dialect: 'sqlite' | 'postgres',
  statement: string,
): { readonly sql: string; readonly skipIfColumn?: { readonly table: string; readonly column: string } } {
  const added = ADD_COLUMN.exec(statement);
  if (dialect === 'postgres' || !added) return { sql: statement };
  const [, table = '', column = ''] = added;
  return { sql: statement.replace(' IF NOT EXISTS', ''), skipIfColumn: { table, column } };
}

/** Whether column $2 of table $1 exists (SQLite only: PostgreSQL adds columns with `IF NOT EXISTS`). */
export const SQLITE_COLUMN_EXISTS = `SELECT 1 AS found FROM pragma_table_info($1) WHERE name = $2`;

/** The tables and indexes the statements create, and the indexes they drop, by name. */
export function schemaObjects(statements: readonly string[]): { readonly created: string[]; readonly dropped: string[] } {
  const names = (pattern: RegExp) => statements.flatMap((s) => pattern.exec(s)?.[1] ?? []);
  return {
    created: names(/^CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)/),
    dropped: names(/^DROP INDEX IF EXISTS (\w+)/),
  };
}

/**
 * Which of `names` (JSON array, parameter $1) exist as tables or indexes: a catalogue read that locks no
 * table (PostgreSQL's `to_regclass`, SQLite's `sqlite_master`).
 */
export function existingObjectsQuery(dialect: 'sqlite' | 'postgres'): string {
  return dialect === 'postgres'
    ? `SELECT name FROM json_array_elements_text($1::json) AS name WHERE to_regclass(name) IS NOT NULL`
    : `SELECT name FROM sqlite_master WHERE name IN (SELECT value FROM json_each($1))`;
}
