/**
 * What an operator asks of the dead letters (the CLI, /admin): entries by page, one with what the downstream
 * would receive, a replay of a selection. Bounded: every list has a page size.
 */
import { InvalidCursor, decodeCursor, encodeCursor, iso, placeholders, type Page } from '../store/page-cursor.js';
import type { SqlDriver, SqlExecutor } from '../store/sql-driver.js';

export interface DeadLetterSummary {
  readonly occurrenceId: string;
  readonly type: string | null;
  readonly companyId: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  /** ISO 8601: when the delivery was first queued. */
  readonly createdAt: string;
}

export interface DeadLetterDetail extends DeadLetterSummary {
  /** What the downstream would receive, as the object it is (src/domain/delivery-payload.ts). */
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface DeadLetterQuery {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly type?: string | undefined;
}

export interface DeadLetterQueries {
  pageDeadLetters(query: DeadLetterQuery): Promise<Page<DeadLetterSummary>>;
  getDeadLetter(occurrenceId: string): Promise<DeadLetterDetail | null>;
  /** Puts these dead letters back in the delivery queue; returns how many were dead. */
  replayDeadLettersById(occurrenceIds: readonly string[], now: number): Promise<number>;
}

export function createDeadLetterQueries(driver: SqlDriver): DeadLetterQueries {
  const read = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work);
  type DeadRow = { occurrence_id: string; type: string | null; company_id: string | null; attempts: number; last_error: string | null; created_at: number | string };
  const deadSummary = (r: DeadRow): DeadLetterSummary => ({
    occurrenceId: r.occurrence_id,
    type: r.type,
    companyId: r.company_id,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    createdAt: iso(r.created_at),
  });

  return {
    pageDeadLetters({ limit, after, type }) {
      const cursor = decodeCursor(after);
      if (after && (!cursor || typeof cursor[0] !== 'number' || typeof cursor[1] !== 'string')) return Promise.reject(new InvalidCursor());
      return read(async (tx) => {
        const params: unknown[] = [];
        const where = [`d.state = 'dead'`];
        if (cursor) {
          params.push(cursor[0], cursor[1]);
          where.push(`(d.created_at > $1 OR (d.created_at = $1 AND d.occurrence_id > $2))`);
        }
        if (type) {
          params.push(type);
          where.push(`o.type = $${params.length}`);
        }
        params.push(limit + 1);
        const rows = await tx.query<DeadRow>(
          `SELECT d.occurrence_id, o.type, o.company_id, d.attempts, d.last_error, d.created_at
           FROM deliveries d LEFT JOIN occurrences o ON o.id = d.occurrence_id
           WHERE ${where.join(' AND ')} ORDER BY d.created_at, d.occurrence_id LIMIT $${params.length}`,
          params,
        );
        const entries = rows.slice(0, limit).map(deadSummary);
        const last = rows.length > limit ? rows[limit - 1] : undefined;
        return { entries, next: last ? encodeCursor([Number(last.created_at), last.occurrence_id]) : null };
      });
    },

    getDeadLetter(occurrenceId) {
      return read(async (tx) => {
        const [row] = await tx.query<DeadRow & { payload: string }>(
          `SELECT d.occurrence_id, o.type, o.company_id, d.attempts, d.last_error, d.created_at, d.payload
           FROM deliveries d LEFT JOIN occurrences o ON o.id = d.occurrence_id
           WHERE d.state = 'dead' AND d.occurrence_id = $1`,
          [occurrenceId],
        );
        return row ? { ...deadSummary(row), payload: JSON.parse(row.payload) as Record<string, unknown> } : null;
      });
    },

    replayDeadLettersById(occurrenceIds, now) {
      if (occurrenceIds.length === 0) return Promise.resolve(0);
      return driver.transaction((tx) =>
        tx.execute(
          `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = 0
           WHERE state = 'dead' AND occurrence_id IN (${placeholders(2, occurrenceIds.length)})`,
          [now, ...occurrenceIds],
        ),
      );
    },

  };
}
