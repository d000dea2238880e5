/**
 * What the /cutover page draws beyond the verdict: held and pending occurrences, hourly trends and per-company
 * progress over the observation period. Read-only and bounded by the period.
 */
import { DOMAIN_EVENT_TYPES } from '../domain/domain-event.js';
import { placeholders } from '../store/page-cursor.js';
import type { SqlDriver, SqlExecutor } from '../store/sql-driver.js';
import { HOUR_MS } from './readiness-store.js';

export interface HourFigures {
  /** Start of the hour, epoch ms. */
  readonly hour: number;
  readonly both: number;
  readonly legacyOnly: number;
  readonly eventsOnly: number;
  readonly lagP50Seconds: number | null;
  readonly lagP99Seconds: number | null;
}

export interface CompanyProgress {
  /** Companies with any delivered occurrence of a type both channels carry, by where it came from. */
  readonly onLegacy: number;
  readonly onEvents: number;
  /** Delivered from both channels in the period: moved during it, or a rescue. */
  readonly onBoth: number;
  /** Companies with closed occurrences seen on one channel only (a gap), most gaps first. */
  readonly withGaps: readonly { readonly companyId: string; readonly gaps: number; readonly occurrences: number }[];
}

export interface CutoverDetails {
  /** Occurrences whose correlation window is still open, by type: not counted in the verdict yet. */
  readonly pending: Readonly<Record<string, number>>;
  /** Shadow copies waiting for their primary copy (rescued when the grace period ends), by type. */
  readonly held: Readonly<Record<string, number>>;
  readonly hours: readonly HourFigures[];
  readonly companies: CompanyProgress;
}

export interface CutoverDetailsQuery {
  cutoverDetails(since: number, now: number): Promise<CutoverDetails>;
}

const PAIRED = Object.entries(DOMAIN_EVENT_TYPES).filter(([, carriage]) => carriage === 'both').map(([type]) => type);

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

async function countByType(tx: SqlExecutor, where: string, params: readonly unknown[]): Promise<Record<string, number>> {
  const rows = await tx.query<{ type: string; n: number | string }>(`SELECT type, COUNT(*) AS n FROM occurrences WHERE ${where} GROUP BY type ORDER BY type`, params);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

export function createCutoverDetailsQuery(driver: SqlDriver): CutoverDetailsQuery {
  const read = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work);
  return {
    cutoverDetails(since, now) {
      return read(async (tx) => {
        const pending = await countByType(tx, 'window_closed_at IS NULL AND first_seen_at >= $1', [since]);
        const held = await countByType(tx, 'rescue_at IS NOT NULL', []);
        const paired = placeholders(2, PAIRED.length);
        const figures = await tx.query<{ hour: number | string; figure: string; n: number | string }>(
          `SELECT hour, figure, SUM(n) AS n FROM window_stats
           WHERE hour >= $1 AND figure LIKE 'seen:%' AND type IN (${paired}) GROUP BY hour, figure`,
          [Math.floor(since / HOUR_MS), ...PAIRED],
        );
        const lags = await tx.query<{ first_seen_at: number | string; lag: number | string }>(
          `SELECT first_seen_at, ABS(legacy_seen_at - events_seen_at) AS lag FROM occurrences
           WHERE first_seen_at >= $1 AND legacy_seen_at IS NOT NULL AND events_seen_at IS NOT NULL
           ORDER BY first_seen_at DESC LIMIT 5000`,
          [since],
        );
        const firstHour = Math.floor(since / HOUR_MS);
        const lastHour = Math.floor(now / HOUR_MS);
        const hours: HourFigures[] = [];
        for (let hour = firstHour; hour <= lastHour; hour += 1) {
          const n = (figure: string) => Number(figures.find((f) => Number(f.hour) === hour && f.figure === figure)?.n ?? 0);
          const hourLags = lags.filter((l) => Math.floor(Number(l.first_seen_at) / HOUR_MS) === hour).map((l) => Number(l.lag) / 1000).sort((a, b) => a - b);
          hours.push({
            hour: hour * HOUR_MS,
            both: n('seen:both'),
            legacyOnly: n('seen:legacy_only'),
            eventsOnly: n('seen:events_only'),
            lagP50Seconds: quantile(hourLags, 0.5),
            lagP99Seconds: quantile(hourLags, 0.99),
          });
        }
        const byCompany = await tx.query<{ company_id: string; via: string | null; n: number | string; gaps: number | string }>(
          `SELECT company_id, CASE WHEN delivery_reason = 'rescued' THEN NULL ELSE delivered_via END AS via, COUNT(*) AS n,
             SUM(CASE WHEN window_closed_at IS NOT NULL AND (legacy_seen_at IS NULL OR events_seen_at IS NULL) THEN 1 ELSE 0 END) AS gaps
           FROM occurrences WHERE first_seen_at >= $1 AND company_id IS NOT NULL AND type IN (${paired})
           GROUP BY company_id, CASE WHEN delivery_reason = 'rescued' THEN NULL ELSE delivered_via END`,
          [since, ...PAIRED],
        );
        const companies = new Map<string, { via: Set<string>; gaps: number; occurrences: number }>();
        for (const row of byCompany) {
          const entry = companies.get(row.company_id) ?? { via: new Set<string>(), gaps: 0, occurrences: 0 };
          if (row.via) entry.via.add(row.via);
          entry.gaps += Number(row.gaps);
          entry.occurrences += Number(row.n);
          companies.set(row.company_id, entry);
        }
        let onLegacy = 0;
        let onEvents = 0;
        let onBoth = 0;
        for (const { via } of companies.values()) {
          if (via.has('legacy') && via.has('events')) onBoth += 1;
          else if (via.has('legacy')) onLegacy += 1;
          else if (via.has('events')) onEvents += 1;
        }
        const withGaps = [...companies.entries()]
          .filter(([, c]) => c.gaps > 0)
          .sort((a, b) => b[1].gaps - a[1].gaps || a[0].localeCompare(b[0]))
          .slice(0, 10)
          .map(([companyId, c]) => ({ companyId, gaps: c.gaps, occurrences: c.occurrences }));
        return { pending, held, hours, companies: { onLegacy, onEvents, onBoth, withGaps } };
      });
    },
  };
}
