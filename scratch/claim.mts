import Database from 'better-sqlite3';
import { schemaStatements } from '../src/store/schema.ts';
const db = new Database(':memory:');
for (const s of schemaStatements('sqlite')) db.exec(s);
const ins = db.prepare(`INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state) VALUES ('events','events',?,?,'{}',?,?)`);
const body = Buffer.alloc(1200, 97);
const fill = db.transaction((from: number, n: number, state: string) => { for (let i = from; i < from + n; i++) ins.run('k' + i, i, body, state); });
const plan = (sql: string) => db.prepare('EXPLAIN QUERY PLAN ' + sql).all(0).map((r: any) => r.detail).join(' | ');
const variants = {
  current: `SELECT id FROM inbox WHERE state = 'pending' AND claimed_until <= ? ORDER BY id LIMIT 50`,
  indexedBy: `SELECT id FROM inbox INDEXED BY inbox_pending WHERE state = 'pending' AND claimed_until <= ? ORDER BY id LIMIT 50`,
};
let done = 0;
for (const pending of [1000, 10000, 50000, 150000]) {
  fill(done, 20000, 'processed'); done += 20000;
  const before = db.prepare(`SELECT COUNT(*) n FROM inbox WHERE state='pending'`).get() as any;
  fill(done, pending - before.n, 'pending'); done += pending - before.n;
  for (const [name, sql] of Object.entries(variants)) {
    const st = db.prepare(sql);
    const t = performance.now(); for (let i = 0; i < 50; i++) st.all(0); const ms = (performance.now() - t) / 50;
    console.log(pending, name, ms.toFixed(3), 'ms', plan(sql));
  }
}
db.exec('ANALYZE');
console.log('after ANALYZE', plan(variants.current));
