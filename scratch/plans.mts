import Database from 'better-sqlite3';
import { schemaStatements } from '../src/store/schema.ts';
const db = new Database(':memory:');
for (const s of schemaStatements('sqlite')) db.exec(s);
const qs = {
  deliveriesClaim: `SELECT occurrence_id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= 1 AND claimed_until <= 1 ORDER BY next_attempt_at LIMIT 50`,
  rescue: `SELECT id, correlation_key FROM occurrences WHERE rescue_at IS NOT NULL AND rescue_at <= 1 ORDER BY rescue_at LIMIT 50`,
  closeWindows: `SELECT id FROM occurrences WHERE window_closed_at IS NULL AND first_seen_at <= 1 ORDER BY first_seen_at LIMIT 50`,
  windowed: `SELECT * FROM occurrences WHERE correlation_key = 'x' AND legacy_seen_at IS NULL AND first_seen_at BETWEEN 1 AND 2 ORDER BY first_seen_at, id LIMIT 1`,
  purgeInbox: `DELETE FROM inbox WHERE state = 'processed' AND processed_at < 1`,
  purgeDeliveries: `DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < 1`,
  purgeOcc: `DELETE FROM occurrences WHERE first_seen_at < 1 AND rescue_at IS NULL AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.occurrence_id = occurrences.id)`,
  resetInbox: `UPDATE inbox SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0`,
};
for (const [n, sql] of Object.entries(qs)) console.log(n.padEnd(16), db.prepare('EXPLAIN QUERY PLAN ' + sql).all().map((r: any) => r.detail).join(' | '));
