import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqlCutoverStore } from '../../src/store/sql-cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { describeCutoverStoreContract } from '../contract/cutover-store.contract.js';

// A fresh database file per test, migrated as the service does at start-up.
describeCutoverStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-sqlite-'));
  const store = createSqlCutoverStore(createSqliteDriver(join(dir, 'cutover.db')));
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite: the schema version', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-schema-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The indexes the database has, read with a connection of its own. */
  function indexNames(path: string): string[] {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    } finally {
      db.close();
    }
  }

  function alter(path: string, sql: string): void {
    const db = new Database(path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }

  it('when the recorded version is current, then migrate runs none of the statements; when it is not, then it runs them all', async () => {
    const path = join(dir, 'cutover.db');
    const migrate = async () => {
      const store = createSqlCutoverStore(createSqliteDriver(path));
      await store.migrate();
      await store.close();
    };
    await migrate();
    const complete = indexNames(path);
    expect(complete).toContain('inbox_pending');

    alter(path, 'DROP INDEX inbox_pending');
    await migrate();
    expect(indexNames(path)).not.toContain('inbox_pending');

    // What an older release left: another version recorded (the statements differ).
    alter(path, `UPDATE schema_version SET version = 'an older release'`);
    await migrate();
    expect(indexNames(path)).toEqual(complete);
  });
});
