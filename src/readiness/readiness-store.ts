/**
 * The readiness figures' read model: occurrences whose correlation window closed are counted once into
 * hourly `window_stats` figures (named by `figuresOf`), which the verdict reads back per type. Its own SQL.
 */
import type { DomainEventType } from '../domain/domain-event.js';
import type { TypeStats } from '../domain/readiness.js';
import type { EachRowStatement, SqlDriver, SqlExecutor } from '../store/sql-driver.js';
import { compareText, durabilityOf } from '../store/sql-driver.js';

export const HOUR_MS = 3600_000;

/** One occurrence whose correlation window has just closed: which channels delivered a copy. */
export interface ClosedOccurrence {
  readonly type: DomainEventType;
  readonly seen: 'both' | 'legacy_only' | 'events_only';
}

export interface StoreCounts {
  readonly inboxPending: number;
  readonly deliveriesPending: number;
  readonly deadLetters: number;
  readonly quarantined: number;
  readonly held: number;
}

export interface ReadinessStore {
  /** Marks occurrences whose window ended before `now - windowMs` as closed, once, and returns them. */
  closeWindows(now: number, windowMs: number, limit: number): Promise<ClosedOccurrence[]>;
  /** Per-type figures over occurrences first seen since `since`, for the readiness verdict. */
  cutoverStats(since: number): Promise<TypeStats[]>;
  counts(): Promise<StoreCounts>;
}

/** An occurrence as the figures see it. */
export interface ClosingRow extends Record<string, unknown> {
  id: string;
  type: string;
  first_seen_at: number;
  legacy_seen_at: number | null;
  events_seen_at: number | null;
  legacy_role: string | null;
  delivered_via: string | null;
  delivery_reason: string | null;
  mismatched_fields: string | null;
}

function seenOf(row: ClosingRow): ClosedOccurrence['seen'] {
  return row.legacy_seen_at != null && row.events_seen_at != null ? 'both' : row.legacy_seen_at != null ? 'legacy_only' : 'events_only';
}

/** The figures one closed occurrence adds to its type's hour (names read back by cutoverStats). */
export function figuresOf(row: ClosingRow): string[] {
  const figures = [`seen:${seenOf(row)}`];
  if (row.delivered_via != null) figures.push('delivered');
  if (row.delivery_reason === 'rescued') figures.push(`rescued:${row.delivered_via}`);
  if (row.delivery_reason === 'primary' && row.delivered_via === 'legacy') figures.push('legacy-primary-delivery');
  if (row.legacy_seen_at != null && row.legacy_role === 'shadow') figures.push('legacy-copy-while-events-primary');
  for (const field of (row.mismatched_fields ?? '').split(',').filter(Boolean)) figures.push(`mismatch:${field}`);
  return figures;
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

/** Changes to `window_stats` counters made in one transaction, keyed by `type|hour|figure`. */
export type FigureChanges = Map<string, { readonly type: string; readonly hour: number; readonly figure: string; n: number }>;

function addFigure(changes: FigureChanges, type: string, hour: number, figure: string, n: number) {
  const key = `${type}|${hour}|${figure}`;
  const entry = changes.get(key) ?? { type, hour, figure, n: 0 };
  entry.n += n;
  changes.set(key, entry);
}

/**
 * A copy that completes an occurrence whose window already closed (a retry hours late) moves that
 * occurrence's figures rather than adding any: readiness counts each occurrence once. Only noted here:
 * `writeFigureChanges` writes them when the transaction's other writes are done.
 */
export function recountClosed(changes: FigureChanges, before: ClosingRow, after: ClosingRow) {
  const hour = Math.floor(Number(before.first_seen_at) / HOUR_MS);
  for (const figure of figuresOf(before)) addFigure(changes, before.type, hour, figure, -1);
  for (const figure of figuresOf(after)) addFigure(changes, before.type, hour, figure, 1);
}

/**
 * The counters are shared by every replica and every pass: they are written last in a transaction, and in
 * key order, so that two transactions never each hold a counter (or an occurrence) the other waits for. A
 * settle that wrote a counter and then waited on an occurrence row the monitor holds while it waits on that
 * counter would be a deadlock (a batch settles many occurrences); two passes taking counters in first-seen
 * order would be another (reproduced: test/integration/cutover-monitor-replicas.test.ts).
 */
export async function writeFigureChanges(tx: SqlExecutor, changes: FigureChanges) {
  const byKey = [...changes.values()]
    .filter(({ n }) => n !== 0)
    .sort((a, b) => compareText(a.type, b.type) || a.hour - b.hour || compareText(a.figure, b.figure));
  if (byKey.length === 0) return;
  await tx.queryEach(ADD_FIGURES, byKey.map(({ type, hour, figure, n }) => [type, hour, figure, n]));
}

// The ordinality keeps the rows in key order as they are inserted (and their counters locked).
const ADD_FIGURES: EachRowStatement = {
  postgres: `INSERT INTO window_stats (type, hour, figure, n)
    SELECT type, hour, figure, n FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) WITH ORDINALITY AS f(type, hour, figure, n, i) ORDER BY i
    ON CONFLICT (type, hour, figure) DO UPDATE SET n = window_stats.n + excluded.n`,
  sqlite: `INSERT INTO window_stats (type, hour, figure, n) VALUES ($1, $2, $3, $4)
    ON CONFLICT (type, hour, figure) DO UPDATE SET n = window_stats.n + excluded.n`,
};

const count = async (tx: SqlExecutor, sql: string) => Number((await tx.query<{ n: number }>(sql))[0]?.n ?? 0);

export function createReadinessStore(driver: SqlDriver): ReadinessStore {
  const { skipLocked } = driver;
  const { redoable } = durabilityOf(driver);
  return {
    counts() {
      return driver.transaction(async (tx): Promise<StoreCounts> => ({
        inboxPending: await count(tx, `SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'`),
        deliveriesPending: await count(tx, `SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending'`),
        deadLetters: await count(tx, `SELECT COUNT(*) AS n FROM deliveries WHERE state = 'dead'`),
        quarantined: await count(tx, `SELECT COUNT(*) AS n FROM inbox WHERE state IN ('quarantined', 'unrecognised')`),
        held: await count(tx, `SELECT COUNT(*) AS n FROM occurrences WHERE rescue_at IS NOT NULL`),
      }));
    },

    closeWindows(now, windowMs, limit) {
      return redoable(async (tx) => {
        const rows = await tx.query<ClosingRow>(
          `SELECT id, type, first_seen_at, legacy_seen_at, events_seen_at, legacy_role, delivered_via, delivery_reason, mismatched_fields
           FROM occurrences WHERE window_closed_at IS NULL AND first_seen_at <= $1 ORDER BY first_seen_at LIMIT $2 ${skipLocked}`,
          [now - windowMs, limit],
        );
        if (rows.length === 0) return [];
        const ids = rows.map((r) => r.id);
        await tx.execute(`UPDATE occurrences SET window_closed_at = $1 WHERE id IN (${ids.map((_, i) => `$${i + 2}`).join(', ')})`, [now, ...ids]);
        // Counted once, here, under the same lock that marks the window closed. Each replica closes its own
        // occurrences (SKIP LOCKED) but adds to shared counters: in key order, as every writer of them does.
        const figures: FigureChanges = new Map();
        for (const row of rows) {
          const hour = Math.floor(Number(row.first_seen_at) / HOUR_MS);
          for (const figure of figuresOf(row)) addFigure(figures, row.type, hour, figure, 1);
        }
        await writeFigureChanges(tx, figures);
        return rows.map((r): ClosedOccurrence => ({ type: r.type as DomainEventType, seen: seenOf(r) }));
      });
    },

    cutoverStats(since) {
      return driver.transaction(async (tx) => {
        const figures = await tx.query<{ type: string; figure: string; n: number | string }>(
          'SELECT type, figure, SUM(n) AS n FROM window_stats WHERE hour >= $1 GROUP BY type, figure ORDER BY type',
          [Math.floor(since / HOUR_MS)],
        );
        // Lag quantiles from the latest pairs only: enough for a p99, and a bounded read.
        const lagRows = await tx.query<{ type: string; lag: number }>(
          `SELECT type, ABS(legacy_seen_at - events_seen_at) AS lag FROM occurrences
           WHERE first_seen_at >= $1 AND legacy_seen_at IS NOT NULL AND events_seen_at IS NOT NULL
           ORDER BY first_seen_at DESC LIMIT 5000`,
          [since],
        );
        const byType = new Map<string, Map<string, number>>();
        for (const f of figures) {
          const values = byType.get(f.type) ?? new Map<string, number>();
          values.set(f.figure, Number(f.n));
          byType.set(f.type, values);
        }
        return [...byType.entries()].map(([type, values]): TypeStats => {
          const n = (figure: string) => values.get(figure) ?? 0;
          const mismatches: Record<string, number> = {};
          for (const [figure, count] of values) {
            if (figure.startsWith('mismatch:')) mismatches[figure.slice('mismatch:'.length)] = count;
          }
          const lags = lagRows.filter((l) => l.type === type).map((l) => Number(l.lag) / 1000).sort((a, b) => a - b);
          return {
            type: type as DomainEventType,
            both: n('seen:both'),
            legacyOnly: n('seen:legacy_only'),
            eventsOnly: n('seen:events_only'),
            mismatches,
            lagP50Seconds: quantile(lags, 0.5),
            lagP99Seconds: quantile(lags, 0.99),
            rescuedFromLegacy: n('rescued:legacy'),
            rescuedFromEvents: n('rescued:events'),
            deliveredFromLegacyPrimary: n('legacy-primary-delivery'),
            legacyCopiesWhileEventsPrimary: n('legacy-copy-while-events-primary'),
            delivered: n('delivered'),
          };
        });
      });
    },

  };
}
