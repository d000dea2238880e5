/**
 * `codat_cutover_store_statements_total` on a real PostgreSQL: the driver counts every statement it sends, its
 * BEGIN, COMMIT, ROLLBACK and SET LOCAL included, so the bench's round trips per webhook are what went on the wire.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createMetrics, storeStatementCounter } from '../../src/observability/metrics.js';
import { DEFAULT_POSTGRES_TIMEOUTS, createPostgresDriver } from '../../src/store/postgres-driver.js';
import type { SqlDriver, StatementKind } from '../../src/store/sql-driver.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';

let database: TestDatabase | undefined;
let driver: SqlDriver;
const metrics = createMetrics(new Registry(), { processMetrics: false });

beforeAll(async () => {
  database = await createTestDatabase();
  driver = createPostgresDriver(database.url, 2, DEFAULT_POSTGRES_TIMEOUTS, storeStatementCounter(metrics, 'postgres'));
});
afterAll(async () => {
  await driver?.close();
  await database?.drop();
});

async function counted(kind: StatementKind): Promise<number> {
  const { values } = await metrics.storeStatements.get();
  return values.find((v) => v.labels.dialect === 'postgres' && v.labels.kind === kind)?.value ?? NaN;
}

/** How many statements `work` added to `kind`'s series. */
async function added(kind: StatementKind, work: () => Promise<unknown>): Promise<number> {
  const before = await counted(kind);
  await work();
  return (await counted(kind)) - before;
}

describe('the PostgreSQL driver counts its statements', () => {
  it('when nothing ran yet, then every kind is exported at 0', async () => {
    expect(await Promise.all((['acknowledged', 'redoable', 'migration'] as const).map(counted))).toEqual([0, 0, 0]);
  });

  it('when one transaction sends N statements, then N + 2 are counted (BEGIN and COMMIT), under its durability', async () => {
    const three = () => driver.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await tx.lockKeys(['a', 'b', 'c']);
      await tx.lockKey('d');
    });
    expect(await added('acknowledged', three)).toBe(5);
    expect(await added('redoable', () => driver.transaction((tx) => tx.query('SELECT 1'), { durability: 'redoable' }))).toBe(3);
  });

  it('when a transaction fails, then its ROLLBACK is counted; when it is unbounded, its SET LOCAL is', async () => {
    const failing = () => driver.transaction(async (tx) => {
      await tx.query('SELECT 1');
      throw new Error('boom');
    }).catch(() => undefined);
    // BEGIN, SELECT 1, ROLLBACK.
    expect(await added('acknowledged', failing)).toBe(3);
    const rejected = () => driver.transaction((tx) => tx.query('SELECT * FROM no_such_table')).catch(() => undefined);
    // A statement the server refused was sent all the same.
    expect(await added('acknowledged', rejected)).toBe(3);
    // BEGIN, SET LOCAL statement_timeout, the statement, COMMIT.
    expect(await added('redoable', () => driver.transaction((tx) => tx.execute('SELECT 1'), { durability: 'redoable', unbounded: true }))).toBe(4);
  });

  it('when a single statement is its own transaction, then it is one round trip, committed, under its durability; a failed one changes nothing', async () => {
    await driver.transaction((tx) => tx.execute('CREATE TABLE IF NOT EXISTS one_statement (k TEXT PRIMARY KEY)'));
    const insert = (k: string) => driver.statement<{ k: string }>('INSERT INTO one_statement (k) VALUES ($1), ($2) RETURNING k', [k, `${k}-2`]);
    expect(await added('acknowledged', () => insert('a'))).toBe(1);
    expect(await added('redoable', () => driver.statement('SELECT 1 AS one', [], { durability: 'redoable' }))).toBe(1);
    // Seen by another connection: committed, not left open on the one that ran it.
    expect((await driver.transaction((tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM one_statement')))[0]?.n).toBe(2);
    // The second row collides: the statement fails as a whole, and the first row of it is not kept.
    await expect(driver.statement('INSERT INTO one_statement (k) VALUES ($1), ($2)', ['b', 'a'])).rejects.toThrow(/duplicate key/);
    expect((await driver.transaction((tx) => tx.query<{ k: string }>('SELECT k FROM one_statement ORDER BY k'))).map((r) => r.k)).toEqual(['a', 'a-2']);
    // Unbounded: in a transaction of its own, where SET LOCAL lifts the statement timeout.
    expect(await added('acknowledged', () => driver.statement('SELECT 1', [], { unbounded: true }))).toBe(4);
  });

  it('when the schema is migrated, then the migrator\'s statements are counted as migration', async () => {
    const store = createSqlCutoverStore(driver);
    expect(await added('migration', () => store.migrate())).toBeGreaterThan(2);
  });
});
