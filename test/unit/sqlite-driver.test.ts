import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics, storeStatementCounter } from '../../src/observability/metrics.js';
import type { SqlDriver } from '../../src/store/sql-driver.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';

describe('the SQLite driver', () => {
  let dir: string;
  let driver: SqlDriver;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-driver-'));
    driver = createSqliteDriver(join(dir, 'driver.db'));
  });
  afterEach(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // PRAGMA synchronous reads 2 for FULL, 1 for NORMAL.
  const synchronousLevel = (options?: Parameters<SqlDriver['transaction']>[1]) =>
    driver.transaction(async (tx) => (await tx.query<{ synchronous: number }>('PRAGMA synchronous'))[0]?.synchronous, options);

  it('when a transaction is acknowledged (the default), then it commits under synchronous=FULL, even right after a redoable one', async () => {
    expect(await synchronousLevel()).toBe(2);
    expect(await synchronousLevel({ durability: 'redoable' })).toBe(1);
    expect(await synchronousLevel({ urgent: true })).toBe(2);
    expect(await synchronousLevel({ durability: 'redoable' })).toBe(1);
    expect(await synchronousLevel()).toBe(2);
  });

  it('when a single statement is its own transaction, then it commits under its durability and returns its rows, if it has any', async () => {
    const level = (options?: Parameters<SqlDriver['statement']>[2]) =>
      driver.statement<{ synchronous: number }>('PRAGMA synchronous', [], options).then((rows) => rows[0]?.synchronous);
    expect(await level({ durability: 'redoable' })).toBe(1);
    expect(await level()).toBe(2);
    expect(await driver.statement('CREATE TABLE t (k TEXT PRIMARY KEY)', [])).toEqual([]);
    expect(await driver.statement('INSERT INTO t (k) VALUES ($1), ($2) RETURNING k', ['a', 'b'])).toEqual([{ k: 'a' }, { k: 'b' }]);
    await expect(driver.statement('INSERT INTO t (k) VALUES ($1), ($2)', ['c', 'a'])).rejects.toThrow(/UNIQUE/);
    expect(await driver.statement('SELECT k FROM t ORDER BY k', [])).toEqual([{ k: 'a' }, { k: 'b' }]);
  });

  it('when a redoable transaction fails, then the next acknowledged one is still synced', async () => {
    await expect(driver.transaction(async () => Promise.reject(new Error('boom')), { durability: 'redoable' })).rejects.toThrow('boom');
    expect(await synchronousLevel()).toBe(2);
  });

  it('when an urgent transaction is queued behind background ones, then it runs next, and the others keep their order', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = driver.transaction(async () => {
      order.push('running');
      await gate;
    });
    const queued = ['background-1', 'background-2'].map((name) => driver.transaction(async () => void order.push(name), { durability: 'redoable' }));
    const urgent = driver.transaction(async () => void order.push('urgent'), { urgent: true });
    release();
    await Promise.all([running, ...queued, urgent]);
    expect(order).toEqual(['running', 'urgent', 'background-1', 'background-2']);
  });

  it('when closed with transactions queued, then they finish first', async () => {
    await driver.transaction((tx) => tx.execute('CREATE TABLE t (n INTEGER)'));
    const writes = [1, 2, 3].map((n) => driver.transaction((tx) => tx.execute('INSERT INTO t (n) VALUES ($1)', [n]), { durability: 'redoable' }));
    const reopenedPath = join(dir, 'driver.db');
    await driver.close();
    await Promise.all(writes);
    driver = createSqliteDriver(reopenedPath);
    expect(await driver.transaction((tx) => tx.query('SELECT n FROM t ORDER BY n'))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});

describe('the SQLite driver counts its statements', () => {
  it('when transactions run, then each counts its statements + 2 (BEGIN, COMMIT or ROLLBACK), a change of synchronous one more, under its kind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-driver-'));
    const metrics = createMetrics(new Registry(), { processMetrics: false });
    const driver = createSqliteDriver(join(dir, 'driver.db'), { countStatements: storeStatementCounter(metrics, 'sqlite') });
    const counted = async () => Object.fromEntries((await metrics.storeStatements.get()).values.map((v) => [`${v.labels.dialect}/${v.labels.kind}`, v.value]));
    try {
      expect(await counted()).toEqual({ 'sqlite/acknowledged': 0, 'sqlite/redoable': 0, 'sqlite/migration': 0 });
      await driver.transaction(async (tx) => {
        await tx.execute('CREATE TABLE t (n INTEGER)');
        await tx.execute('INSERT INTO t (n) VALUES ($1)', [1]);
        await tx.query('SELECT n FROM t');
      });
      // synchronous = NORMAL, BEGIN, the statement, COMMIT.
      await driver.transaction((tx) => tx.query('SELECT 1 AS one'), { durability: 'redoable' });
      await driver.transaction(async (tx) => {
        await tx.query('SELECT 1 AS one');
        throw new Error('boom');
      }, { durability: 'redoable' }).catch(() => undefined);
      expect(await counted()).toEqual({ 'sqlite/acknowledged': 5, 'sqlite/redoable': 7, 'sqlite/migration': 0 });
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
