/**
 * The claim's cost against the inbox backlog, with and without naming the partial index (docs/performance.md,
 * "the claim plan"): a throwaway SQLite database with the service's schema, N pending rows of 1.2 KB, 50 claims
 * per size. Prints figures; asserts nothing.
 *
 *   npx tsx scripts/bench/claim-plan.ts
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateSchema } from '../../src/store/migrate.js';
import { createSqliteDriver } from '../../src/store/sqlite-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'claim-plan-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const path = join(dir, 'cutover.db');
const driver = createSqliteDriver(path);
await migrateSchema(driver);
await driver.close();
const db = new Database(path);
db.pragma('synchronous = OFF');
const insert = db.prepare(`INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state) VALUES ('events', 'events', ?, ?, '{}', ?, ?)`);
const body = Buffer.alloc(1200, 97);
const fill = db.transaction((from: number, count: number, state: string) => {
  for (let i = from; i < from + count; i++) insert.run(`k${i}`, i, body, state);
});
const claims = {
  'without a hint': `SELECT id FROM inbox WHERE state = 'pending' AND claimed_until <= ? ORDER BY id LIMIT 50`,
  'INDEXED BY inbox_pending': `SELECT id FROM inbox INDEXED BY inbox_pending WHERE state = 'pending' AND claimed_until <= ? ORDER BY id LIMIT 50`,
};
const planOf = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(0) as { detail: string }[]).map((r) => r.detail).join('; ');

console.log('| pending rows | claim | ms per claim | plan |\n|--:|:--|--:|:--|');
let rows = 0;
for (const pending of [1_000, 10_000, 50_000, 150_000]) {
  fill(rows, 20_000, 'processed'); // processed rows alongside, as in a running service
  rows += 20_000;
  const { n } = db.prepare(`SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'`).get() as { n: number };
  fill(rows, pending - n, 'pending');
  rows += pending - n;
  for (const [name, sql] of Object.entries(claims)) {
    const statement = db.prepare(sql);
    const started = performance.now();
    for (let i = 0; i < 50; i++) statement.all(0);
    console.log(`| ${pending.toLocaleString('en')} | ${name} | ${((performance.now() - started) / 50).toFixed(3)} | ${planOf(sql)} |`);
  }
}
