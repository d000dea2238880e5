/**
 * Brings a database's schema to this release's (src/store/schema.ts), once per schema change, with replicas
 * taking turns.
 */
import { createHash } from 'node:crypto';
import { SQLITE_COLUMN_EXISTS, existingObjectsQuery, idempotentStatement, schemaObjects, schemaStatements } from './schema.js';
import type { SqlDriver, SqlExecutor } from './sql-driver.js';

/** Serialises schema migrations across replicas (the advisory lock space correlation keys use; a clash would only queue). */
const SCHEMA_LOCK_KEY = 'codat-cutover: schema migration';

/** Names the schema by its statements: any change to them (a new index, a dropped one) is a new version. */
function schemaVersion(statements: readonly string[]): string {
  return createHash('sha256').update(statements.join(';\n')).digest('hex').slice(0, 16);
}

/**
 * The recorded version is these statements', and the catalogue agrees: everything they create is there and
 * nothing they drop is (an older release started in between may have re-created an index this one drops).
 */
async function isCurrent(driver: SqlDriver, tx: SqlExecutor, statements: readonly string[], version: string): Promise<boolean> {
  await tx.execute(`CREATE TABLE IF NOT EXISTS cutover_schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL)`);
  const [recorded] = await tx.query<{ version: string }>(`SELECT version FROM cutover_schema_version WHERE id = 1`);
  if (recorded?.version !== version) return false;
  const { created, dropped } = schemaObjects(statements);
  const existing = new Set(
    (await tx.query<{ name: string }>(existingObjectsQuery(driver.dialect), [JSON.stringify([...created, ...dropped])])).map((r) => r.name),
  );
  return created.every((name) => existing.has(name)) && !dropped.some((name) => existing.has(name));
}

export async function migrateSchema(driver: SqlDriver): Promise<void> {
  const statements = schemaStatements(driver.dialect);
  const version = schemaVersion(statements);
  await driver.transaction(async (tx) => {
    // Replicas that start together take turns: concurrent CREATE … IF NOT EXISTS of one table both pass the
    // check, and the second fails on PostgreSQL's catalogue, crashing that replica at start.
    await tx.lockKey(SCHEMA_LOCK_KEY);
    // A schema that is already current is left alone. PostgreSQL's CREATE INDEX IF NOT EXISTS locks its table
    // (SHARE) before it finds the index there, so a replica (re)starting beside running ones would stall their
    // appends and could deadlock with their settles (which lock occurrences, then inbox).
    if (await isCurrent(driver, tx, statements, version)) return;
    for (const statement of statements) {
      const { sql, skipIfColumn } = idempotentStatement(driver.dialect, statement);
      if (skipIfColumn && (await tx.query(SQLITE_COLUMN_EXISTS, [skipIfColumn.table, skipIfColumn.column])).length > 0) continue;
      await tx.execute(sql);
    }
    await tx.execute(
      `INSERT INTO cutover_schema_version (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version`,
      [version],
    );
  }, { unbounded: true });
}
