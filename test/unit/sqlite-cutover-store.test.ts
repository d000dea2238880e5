import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEventType } from '../../src/domain/domain-event.js';
import { sql, type Kysely } from 'kysely';
import { createSqlCutoverStore, type CutoverStore } from '../../src/cutover-store.js';
import { SchemaMigrationError, migrateSchema } from '../../src/store/migrate.js';
import { schemaMigrations } from '../../src/store/schema.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';
import { describeCutoverStoreContract } from '../contract/cutover-store.contract.js';
import { migrateAsThePreviousRelease } from '../fixtures/schema/previous-release-schema.js';
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

describe('SQLite: schema migrations', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-schema-'));
    path = join(dir, 'cutover.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function alter(sql: string): void {
    const db = new Database(path);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }

  /** Rows read with a connection of its own. */
  function read<T>(sql: string): T[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const tables = () => read<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).map((r) => r.name);
  const indexNames = () =>
    read<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`).map((r) => r.name);
  const recordedSteps = () => read<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name').map((r) => r.name);
  const occurredAtNotNull = () => read<{ notnull: number }>(`SELECT "notnull" FROM pragma_table_info('occurrences') WHERE name = 'occurred_at'`)[0]?.notnull;
  const allSteps = Object.keys(schemaMigrations('sqlite'));

  /** A database the previous release made and used: a webhook waiting, one settled into an occurrence and its delivery. */
  async function previousReleaseDatabase(): Promise<void> {
    const driver = createSqliteDriver(path);
    await migrateAsThePreviousRelease(driver);
    const store = createSqlCutoverStore(driver);
    // This release's store writes deliveries.request_id: the column is there while it fills the rows, then gone.
    await driver.transaction((tx) => tx.execute('ALTER TABLE deliveries ADD COLUMN request_id TEXT'));
    await store.append([buildNewWebhook({ dedupeKey: 'settled-by-the-old-release' })]);
    const [settled] = await store.claimPending(LATER, 10, 30_000);
    await store.settle(settled!, buildConversion([buildDomainEvent({ correlationKey: 'kept|1' })], 'legacy'), policy('legacy', 60_000, 300_000));
    await store.append([buildNewWebhook({ dedupeKey: 'waiting-in-the-old-release' })]);
    await driver.transaction((tx) => tx.execute('ALTER TABLE deliveries DROP COLUMN request_id'));
    await store.close();
  }

  async function migrated<T>(check: (store: CutoverStore, ran: string[]) => Promise<T>): Promise<T> {
    const driver = createSqliteDriver(path);
    const store = createSqlCutoverStore(driver);
    try {
      return await check(store, await migrateSchema(driver));
    } finally {
      await store.close();
    }
  }

  it('when an empty database is migrated, then every step runs in order and is recorded, and a second run runs none', async () => {
    await migrated(async (_, ran) => expect(ran).toEqual(allSteps));
    expect(recordedSteps()).toEqual(allSteps);
    expect(occurredAtNotNull()).toBe(1);
    expect(tables()).not.toContain('cutover_schema_version');
    const indexes = indexNames();

    await migrated(async (_, ran) => expect(ran).toEqual([]));
    expect(recordedSteps()).toEqual(allSteps);
    expect(indexNames()).toEqual(indexes);
  });

  it('when a database made by the previous release is migrated, then it is adopted at the baseline, altered in place and its rows are kept', async () => {
    await previousReleaseDatabase();
    expect(tables()).toContain('cutover_schema_version');
    expect(occurredAtNotNull()).toBe(0);
    const occurrencesBefore = read('SELECT * FROM occurrences');
    const deliveriesBefore = read('SELECT * FROM deliveries');
    expect(occurrencesBefore).toHaveLength(1);
    expect(deliveriesBefore).toHaveLength(1);

    await migrated(async (store, ran) => {
      expect(ran).toEqual(allSteps);
      // The rows are the same ones, and the store goes on with them: the waiting webhook is claimed, its
      // occurrence is new; the settled one's delivery is still due.
      expect(read('SELECT * FROM occurrences')).toEqual(occurrencesBefore);
      expect(read('SELECT * FROM deliveries')).toEqual(deliveriesBefore.map((row) => ({ ...(row as object), request_id: null })));
      const [waiting] = await store.claimPending(LATER, 10, 30_000);
      expect(waiting?.dedupeKey).toBe('waiting-in-the-old-release');
      await store.settle(waiting!, buildConversion([buildDomainEvent({ correlationKey: 'new|1' })], 'legacy'), policy('legacy', 60_000, 300_000));
      expect((await store.counts()).deliveriesPending).toBe(2);
    });
    expect(recordedSteps()).toEqual(allSteps);
    expect(occurredAtNotNull()).toBe(1);
    expect(tables()).not.toContain('cutover_schema_version');
    expect(indexNames()).toEqual(expect.arrayContaining(['occurrences_pairing', 'occurrences_rescue', 'occurrences_first_seen', 'occurrences_window_open']));
    expect(read('SELECT * FROM occurrences')).toHaveLength(2);
    expect(read<{ name: string }>(`SELECT name FROM pragma_table_info('deliveries')`).map((r) => r.name)).toContain('request_id');

    await migrated(async (_, ran) => expect(ran).toEqual([]));
  });

  it('when a database was made while the statement list itself added deliveries.request_id, then the step finds the column there and the upgrade completes', async () => {
    await previousReleaseDatabase();
    alter(`ALTER TABLE deliveries ADD COLUMN request_id TEXT; UPDATE deliveries SET request_id = 'req-1'; UPDATE cutover_schema_version SET version = 'the list with request_id'`);

    await migrated(async (_, ran) => expect(ran).toEqual(allSteps));
    expect(read<{ request_id: string }>('SELECT request_id FROM deliveries')).toEqual([{ request_id: 'req-1' }]);
  });

  it('when a database an older release left short (no settle-failure count, another fingerprint) is migrated, then the baseline completes it and its webhooks are kept', async () => {
    await previousReleaseDatabase();
    alter(`ALTER TABLE inbox DROP COLUMN settle_failures; UPDATE cutover_schema_version SET version = 'an older release'`);
    // An older release still had the (state, …) index the baseline drops.
    alter('CREATE INDEX inbox_state ON inbox (state, received_at)');

    await migrated(async (store, ran) => {
      expect(ran).toEqual(allSteps);
      const [old] = await store.claimPending(LATER, 10, 30_000);
      expect(old?.dedupeKey).toBe('waiting-in-the-old-release');
      // The count works on the kept row: a failing settle is counted, and the row is still pending.
      const poison = buildConversion([buildDomainEvent({ type: 'no.such.type' as DomainEventType })], 'legacy');
      await expect(store.settle(old!, poison, policy('legacy', 60_000, 300_000))).rejects.toBeInstanceOf(TypeError);
    });
    expect(read<{ settle_failures: number }>(`SELECT settle_failures FROM inbox WHERE state = 'pending'`)).toEqual([{ settle_failures: 1 }]);
    expect(indexNames()).not.toContain('inbox_state');
  });

  it('when a step fails, then that run is rolled back whole and the failure names the step with a stable code', async () => {
    const driver = createSqliteDriver(path);
    try {
      const steps = {
        ...schemaMigrations('sqlite'),
        '0099_fails': { up: async (db: Kysely<unknown>) => {
          await sql`CREATE TABLE half_done (id INTEGER)`.execute(db);
          await sql`SELECT no_such_column FROM inbox`.execute(db);
        } },
      };
      const failure = await migrateSchema(driver, steps).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SchemaMigrationError);
      expect(failure).toMatchObject({ code: 'schema_migration_failed', step: '0099_fails' });
      // Not even the steps before it are recorded: the next start runs them all again.
      expect(tables()).toEqual([]);
      expect(await migrateSchema(driver)).toEqual(allSteps);
    } finally {
      await driver.close();
    }
  });
});
