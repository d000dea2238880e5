import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEventType } from '../../src/domain/domain-event.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { describeCutoverStoreContract } from '../contract/cutover-store.contract.js';
import { T0, buildConversion, buildDomainEvent, buildNewWebhook, policy } from '../support/builders.js';

const LATER = T0 + 24 * 60 * 60 * 1000;

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

  function alter(path: string, sql: string): void {
    const db = new Database(path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }

  /** Rows read with a connection of its own. */
  function read<T>(path: string, sql: string): T[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const indexNames = (path: string) =>
    read<{ name: string }>(path, `SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`).map((r) => r.name);

  it('when an index this release drops exists, one it creates is missing, or another version is recorded, then migrate runs the statements again', async () => {
    const path = join(dir, 'cutover.db');
    const migrate = async () => {
      const store = createSqlCutoverStore(createSqliteDriver(path));
      await store.migrate();
      await store.close();
    };
    await migrate();
    const complete = indexNames(path);
    expect(complete).toContain('inbox_pending');

    // (That a current schema runs none of them matters on PostgreSQL, for its table locks: see its integration test.)

    // An older release started in between and re-created an index this one drops.
    alter(path, 'CREATE INDEX inbox_state ON inbox (state, received_at)');
    await migrate();
    expect(indexNames(path)).not.toContain('inbox_state');

    // An index is missing.
    alter(path, 'DROP INDEX inbox_processed');
    await migrate();
    expect(indexNames(path)).toEqual(complete);

    // Another version is recorded (the statements differ): they run, and this version is recorded.
    alter(path, `UPDATE cutover_schema_version SET version = 'an older release'`);
    await migrate();
    expect(read<{ version: string }>(path, 'SELECT version FROM cutover_schema_version')).toEqual([{ version: expect.not.stringMatching('an older release') }]);
    expect(indexNames(path)).toEqual(complete);
  });

  it('when a database made before the settle-failure count is migrated, then the column is added in place and its webhooks are kept', async () => {
    const path = join(dir, 'cutover.db');
    const first = createSqlCutoverStore(createSqliteDriver(path));
    await first.migrate();
    await first.append([buildNewWebhook({ dedupeKey: 'from-the-old-release' })]);
    await first.close();
    // The previous release's inbox: the same table without the column, and its own version recorded.
    alter(path, `ALTER TABLE inbox DROP COLUMN settle_failures; UPDATE cutover_schema_version SET version = 'the previous release'`);
    const columns = () => read<{ name: string }>(path, `SELECT name FROM pragma_table_info('inbox')`).map((r) => r.name);
    expect(columns()).not.toContain('settle_failures');

    const store = createSqlCutoverStore(createSqliteDriver(path));
    try {
      await store.migrate();
      await store.migrate();
      expect(columns()).toContain('settle_failures');
      const [old] = await store.claimPending(LATER, 10, 30_000);
      expect(old?.dedupeKey).toBe('from-the-old-release');
      // The count works on the kept row: a failing settle is counted, and the row is still pending.
      const poison = buildConversion([buildDomainEvent({ type: 'no.such.type' as DomainEventType })], 'legacy');
      await expect(store.settle(old!, poison, policy('legacy', 60_000, 300_000))).rejects.toBeInstanceOf(TypeError);
      expect(read<{ settle_failures: number }>(path, 'SELECT settle_failures FROM inbox')).toEqual([{ settle_failures: 1 }]);
    } finally {
      await store.close();
    }
  });
});
