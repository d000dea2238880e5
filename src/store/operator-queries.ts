/**
 * What an operator asks of the store (the CLI, /admin and the /cutover page): dead letters and quarantine by
 * page, one entry with its body, a replay of a selection, and the figures the page draws (held and pending
 * occurrences, hourly trends, per-company progress). Read-mostly and bounded: every list has a page size, every
 * figure a period. One SQL path for both databases, like the rest of the store.
 */
import { DOMAIN_EVENT_TYPES, type Channel } from '../domain/domain-event.js';
import type { SqlDriver, SqlExecutor } from './sql-driver.js';

const HOUR_MS = 3600_000;
export const MAX_PAGE = 500;

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

export interface QuarantineSummary {
  readonly inboxId: number;
  readonly channel: Channel;
  readonly state: 'unrecognised' | 'quarantined';
  /** Why it is there (e.g. `malformed_json`, `unknown_event_type:…`); `detail`, as the older list called it. */
  readonly detail: string | null;
  /** ISO 8601. */
  readonly receivedAt: string;
  readonly bytes: number;
}

export interface QuarantineDetail extends QuarantineSummary {
  /** The body as received, as UTF-8 text (lossy where it was not UTF-8: see `bodyBase64`). */
  readonly body: string;
  readonly bodyBase64: string;
}

export interface Page<T> {
  readonly entries: readonly T[];
  /** Pass as `after` for the next page; null on the last one. */
  readonly next: string | null;
}

export interface DeadLetterQuery {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly type?: string | undefined;
}

export interface QuarantineQuery {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly channel?: Channel | undefined;
  readonly state?: 'unrecognised' | 'quarantined' | undefined;
  /** Entries whose reason starts with this. */
  readonly reason?: string | undefined;
}

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

export interface OperatorQueries {
  pageDeadLetters(query: DeadLetterQuery): Promise<Page<DeadLetterSummary>>;
  getDeadLetter(occurrenceId: string): Promise<DeadLetterDetail | null>;
  /** Puts these dead letters back in the delivery queue; returns how many were dead. */
  replayDeadLettersById(occurrenceIds: readonly string[], now: number): Promise<number>;
  pageQuarantine(query: QuarantineQuery): Promise<Page<QuarantineSummary>>;
  getQuarantined(inboxId: number): Promise<QuarantineDetail | null>;
  /** Puts these quarantined or unrecognised webhooks back in the inbox queue; returns how many were. */
  replayQuarantineById(inboxIds: readonly number[], now: number): Promise<number>;
  cutoverDetails(since: number, now: number): Promise<CutoverDetails>;
}

const encodeCursor = (parts: readonly (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

function decodeCursor(cursor: string | undefined): unknown[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parts) ? parts : null;
  } catch {
    return null;
  }
}

export class InvalidCursor extends Error {
  constructor() {
    super('The `after` cursor is not one this service gave out.');
    this.name = 'InvalidCursor';
  }
}

const placeholders = (from: number, count: number) => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
const PAIRED = Object.entries(DOMAIN_EVENT_TYPES).filter(([, carriage]) => carriage === 'both').map(([type]) => type);

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

async function countByType(tx: SqlExecutor, where: string, params: readonly unknown[]): Promise<Record<string, number>> {
  const rows = await tx.query<{ type: string; n: number | string }>(`SELECT type, COUNT(*) AS n FROM occurrences WHERE ${where} GROUP BY type ORDER BY type`, params);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

export function createOperatorQueries(driver: SqlDriver): OperatorQueries {
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
  type QuarantineRow = { id: number | string; channel: Channel; state: 'unrecognised' | 'quarantined'; detail: string | null; received_at: number | string; bytes: number | string };
  const quarantineSummary = (r: QuarantineRow): QuarantineSummary => ({
    inboxId: Number(r.id),
    channel: r.channel,
    state: r.state,
    detail: r.detail,
    receivedAt: iso(r.received_at),
    bytes: Number(r.bytes),
  });
  const bodyLength = driver.dialect === 'postgres' ? 'octet_length(body)' : 'length(body)';

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

    pageQuarantine({ limit, after, channel, state, reason }) {
      const cursor = decodeCursor(after);
      if (after && (!cursor || typeof cursor[0] !== 'number')) return Promise.reject(new InvalidCursor());
      return read(async (tx) => {
        const params: unknown[] = [];
        const where = [`state IN ('quarantined', 'unrecognised')`];
        const add = (clause: string, value: unknown) => {
          params.push(value);
          where.push(clause.replace('?', `$${params.length}`));
        };
        if (cursor) add('id > ?', cursor[0]);
        if (channel) add('channel = ?', channel);
        if (state) add('state = ?', state);
        // A prefix, not a pattern: LIKE wildcards in the operator's text are matched literally.
        if (reason) add(`substr(detail, 1, ${Math.trunc(reason.length)}) = ?`, reason);
        params.push(limit + 1);
        const rows = await tx.query<QuarantineRow>(
          `SELECT id, channel, state, detail, received_at, ${bodyLength} AS bytes FROM inbox
           WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.length}`,
          params,
        );
        const entries = rows.slice(0, limit).map(quarantineSummary);
        const last = rows.length > limit ? rows[limit - 1] : undefined;
        return { entries, next: last ? encodeCursor([Number(last.id)]) : null };
      });
    },

    getQuarantined(inboxId) {
      return read(async (tx) => {
        const [row] = await tx.query<QuarantineRow & { body: Uint8Array }>(
          `SELECT id, channel, state, detail, received_at, ${bodyLength} AS bytes, body FROM inbox
           WHERE state IN ('quarantined', 'unrecognised') AND id = $1`,
          [inboxId],
        );
        if (!row) return null;
        const body = Buffer.from(row.body);
        return { ...quarantineSummary(row), body: body.toString('utf8'), bodyBase64: body.toString('base64') };
      });
    },

    replayQuarantineById(inboxIds, now) {
      if (inboxIds.length === 0) return Promise.resolve(0);
      return driver.transaction((tx) =>
        tx.execute(
          `UPDATE inbox SET state = 'pending', claimed_until = 0, processed_at = NULL, settle_failures = 0
           WHERE state IN ('quarantined', 'unrecognised') AND received_at <= $1 AND id IN (${placeholders(2, inboxIds.length)})`,
          [now, ...inboxIds],
        ),
      );
    },

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
