import pg from 'pg';
import { schemaStatements } from '../src/store/schema.ts';
const admin = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await admin.connect();
await admin.query('DROP DATABASE IF EXISTS scratch_plans'); await admin.query('CREATE DATABASE scratch_plans'); await admin.end();
const c = new pg.Client('postgres://postgres@127.0.0.1:5432/scratch_plans'); await c.connect();
for (const s of schemaStatements('postgres')) await c.query(s);
await c.query(`INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state, processed_at)
  SELECT 'events','events','k'||g, g, '{}', decode(repeat('61', 1200), 'hex'), CASE WHEN g < 50000 THEN 'processed' ELSE 'pending' END, g FROM generate_series(1, 200000) g`);
await c.query(`INSERT INTO deliveries (occurrence_id, payload, state, next_attempt_at, created_at)
  SELECT 'o'||g, '{}', CASE WHEN g < 50000 THEN 'delivered' ELSE 'pending' END, g, g FROM generate_series(1, 200000) g`);
const explain = async (label: string) => {
  for (const [n, sql] of [
    ['inbox', `EXPLAIN ANALYZE UPDATE inbox SET claimed_until = 5 WHERE id IN (SELECT id FROM inbox WHERE state = 'pending' AND claimed_until <= 1 ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING id`],
    ['deliveries', `EXPLAIN ANALYZE UPDATE deliveries SET claimed_until = 5 WHERE occurrence_id IN (SELECT occurrence_id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= 999999999 AND claimed_until <= 1 ORDER BY next_attempt_at LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING occurrence_id`],
  ]) {
    await c.query('BEGIN');
    const r = await c.query(sql!);
    await c.query('ROLLBACK');
    console.log(label, n, '\n   ' + r.rows.map((x: any) => x['QUERY PLAN']).filter((l: string) => /Scan|Sort|Execution/.test(l)).join('\n   '));
  }
};
await explain('no-analyze');
await c.query('ANALYZE');
await explain('analyzed');
await c.end();
const a2 = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await a2.connect(); await a2.query('DROP DATABASE scratch_plans'); await a2.end();
