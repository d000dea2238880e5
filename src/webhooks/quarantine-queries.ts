/**
 * What an operator asks of the inbox's quarantine (the CLI, /admin): entries by page, one with its body, a
 * replay of a selection. Bounded: every list has a page size.
 */
import type { Channel } from '../domain/domain-event.js';
import { InvalidCursor, decodeCursor, encodeCursor, iso, placeholders, type Page } from '../store/page-cursor.js';
import type { SqlDriver, SqlExecutor } from '../store/sql-driver.js';

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

export interface QuarantineQuery {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly channel?: Channel | undefined;
  readonly state?: 'unrecognised' | 'quarantined' | undefined;
  /** Entries whose reason starts with this. */
  readonly reason?: string | undefined;
}

export interface QuarantineQueries {
  pageQuarantine(query: QuarantineQuery): Promise<Page<QuarantineSummary>>;
  getQuarantined(inboxId: number): Promise<QuarantineDetail | null>;
  /** Puts these quarantined or unrecognised webhooks back in the inbox queue; returns how many were. */
  replayQuarantineById(inboxIds: readonly number[], now: number): Promise<number>;
}

export function createQuarantineQueries(driver: SqlDriver): QuarantineQueries {
  const read = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work);
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

  };
}
