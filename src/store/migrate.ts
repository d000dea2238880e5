/**
 * Brings a database's schema to this release's (the numbered steps of src/store/schema.ts) with Kysely's
 * migrator: each step runs once per database, recorded in `kysely_migration`, and replicas that start together
 * take turns (on PostgreSQL an advisory lock held for the whole run; SQLite has one writer).
 */
import { Migrator, type Migration } from 'kysely';
import { schemaMigrations } from './schema.js';
import type { SqlDriver } from './sql-driver.js';
import { isStoreUnavailable } from './store-unavailable.js';

/** A step failed: nothing of that run is kept (its transaction is rolled back), and start-up retries. */
export class SchemaMigrationError extends Error {
  readonly code = 'schema_migration_failed';
  constructor(
    /** The step that failed; null when the migrator failed before any step (its own tables, its lock). */
    readonly step: string | null,
    cause: unknown,
  ) {
    super(`schema migration ${step === null ? 'could not start' : `step ${step} failed`}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'SchemaMigrationError';
  }
}

/** Runs the steps this database has not run yet; resolves with their names, in order (none when it was current). */
export async function migrateSchema(driver: SqlDriver, steps: Record<string, Migration> = schemaMigrations(driver.dialect)): Promise<string[]> {
  return driver.withKysely(async (db) => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => steps } });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) {
      // A store that could not be reached stays what it is: start-up answers 503 and retries it.
      if (error instanceof Error && isStoreUnavailable(error)) throw error;
      throw new SchemaMigrationError(results.find((r) => r.status === 'Error')?.migrationName ?? null, error);
    }
    return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
  });
}
