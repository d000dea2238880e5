import Database from 'better-sqlite3';
import { schemaStatements } from '/work/main/src/store/schema.ts';
const db = new Database(':memory:');
for (const s of schemaStatements('sqlite')) db.exec(s);
const q = (sql) => console.log(sql.slice(0,90), '\n  ', db.prepare('EXPLAIN QUERY PLAN ' + sql).all().map(r=>r.detail).join(' | '));
q(`SELECT id FROM inbox WHERE state = 'pending' AND claimed_until <= 1 ORDER BY id LIMIT 50`);
q(`UPDATE inbox SET claimed_until = 5 WHERE id IN (SELECT id FROM inbox WHERE state = 'pending' AND claimed_until <= 1 ORDER BY id LIMIT 50) RETURNING id`);
q(`SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'`);
