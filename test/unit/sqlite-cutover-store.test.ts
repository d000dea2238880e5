import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
