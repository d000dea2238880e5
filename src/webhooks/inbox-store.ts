/**
 * The inbox: every authentic webhook, stored (and committed) before it is acknowledged, then claimed by the
 * ledger. Its own SQL, on the one driver both databases share.
 */
import type { Channel } from '../domain/domain-event.js';
import { escapeUnsafeText } from '../domain/conversion-screening.js';
import type { SqlDriver } from '../store/sql-driver.js';
import { CLAIM_MAX_BYTES, REDOABLE, budgetOf, compareText, cutAtBytes, durabilityOf } from '../store/sql-driver.js';

export type InboxState = 'pending' | 'processed' | 'unrecognised' | 'quarantined';

export interface NewWebhook {
  /** The wire format (decides primary/shadow). */
  readonly channel: Channel;
  /** The URL it arrived on. */
  readonly endpoint: Channel;
  /** `webhook-id` header when present, else the body's `AlertId`/`id`, else a hash of the body. */
  readonly dedupeKey: string;
  readonly receivedAt: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Authentic but unusable bodies (e.g. malformed JSON) are kept in quarantine with the reason. */
  readonly state: 'pending' | 'quarantined';
  readonly detail: string | null;
}

export type AppendResult = { readonly status: 'stored'; readonly inboxId: number } | { readonly status: 'duplicate' };

export interface StoredWebhook {
  readonly inboxId: number;
  readonly channel: Channel;
  readonly endpoint: Channel;
  readonly dedupeKey: string;
  readonly receivedAt: number;
  readonly body: Buffer;
  /** The id of the request that brought it (src/http/access-log.ts), when it was recorded. */
  readonly requestId?: string;
}

export interface QuarantinedWebhook {
  readonly inboxId: number;
  readonly channel: Channel;
  readonly state: 'unrecognised' | 'quarantined';
  readonly detail: string | null;
  readonly receivedAt: number;
}

export interface InboxStore {
  /** Stores the webhooks in one transaction; resolves only once they are committed. */
  append(webhooks: readonly NewWebhook[]): Promise<AppendResult[]>;
  /**
   * Leases pending inbox rows to this process, oldest first (several replicas may claim concurrently): at most
   * `limit` of them, and no more after the bodies claimed so far reach `maxBytes` (the first is always claimed).
   */
  claimPending(now: number, limit: number, leaseMs: number, maxBytes?: number): Promise<StoredWebhook[]>;
  listQuarantine(limit: number): Promise<QuarantinedWebhook[]>;
  /** Puts quarantined and unrecognised webhooks back in the queue, e.g. after the mapping was fixed. */
  replayQuarantine(now: number): Promise<number>;
}

function compareKeys(a: NewWebhook, b: NewWebhook): number {
  return compareText(a.channel, b.channel) || compareText(a.dedupeKey, b.dedupeKey);
}

/**
 * The dedupe key as both databases store it alike: PostgreSQL refuses a NUL, and the two drivers write a lone
 * surrogate differently (and read it back as something else than was written). The receiver makes none such.
 */
const storedKey = (webhook: NewWebhook): string => escapeUnsafeText(webhook.dedupeKey);

type AppendedRow = { id: number; channel: string; dedupe_key: string };

/** Rows appended per INSERT statement (bounded by SQLite's parameter limit). */
const APPEND_CHUNK = 500;

export function createInboxStore(driver: SqlDriver): InboxStore {
  const { skipLocked } = driver;
  const { urgent, claimIndex } = durabilityOf(driver);

  /** One INSERT of a chunk of rows; `resultsOf` reads what it returned. */
  function appendStatement(chunk: readonly NewWebhook[]): { sql: string; params: unknown[] } {
    const params: unknown[] = [];
    const rows = chunk.map((w) => {
      const base = params.length;
      params.push(w.channel, w.endpoint, storedKey(w), w.receivedAt, JSON.stringify(w.headers), w.body, w.state, w.detail);
      return `(${Array.from({ length: 8 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
    });
    return {
      sql: `INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state, detail)
       VALUES ${rows.join(', ')}
       ON CONFLICT (channel, dedupe_key) DO NOTHING
       RETURNING id, channel, dedupe_key`,
      params,
    };
  }

  function resultsOf(chunk: readonly NewWebhook[], inserted: readonly AppendedRow[]): AppendResult[] {
    const ids = new Map(inserted.map((r) => [`${r.channel}\u0000${r.dedupe_key}`, Number(r.id)]));
    // Two copies of one webhook in the same batch: the first is stored, the second is a duplicate.
    return chunk.map((w) => {
      const key = `${w.channel}\u0000${storedKey(w)}`;
      const id = ids.get(key);
      if (id === undefined) return { status: 'duplicate' };
      ids.delete(key);
      return { status: 'stored', inboxId: id };
    });
  }

  /** Every chunk in one transaction; a batch of one chunk (the usual case) is one statement, its own transaction. */
  async function appendSorted(sorted: readonly NewWebhook[]): Promise<AppendResult[]> {
    if (sorted.length <= APPEND_CHUNK) {
      const { sql, params } = appendStatement(sorted);
      return resultsOf(sorted, await driver.statement<AppendedRow>(sql, params, { urgent: true }));
    }
    return urgent(async (tx) => {
      const results: AppendResult[] = [];
      for (let i = 0; i < sorted.length; i += APPEND_CHUNK) {
        const chunk = sorted.slice(i, i + APPEND_CHUNK);
        const { sql, params } = appendStatement(chunk);
        results.push(...resultsOf(chunk, await tx.query<AppendedRow>(sql, params)));
      }
      return results;
    });
  }

  return {
    async append(webhooks) {
      if (webhooks.length === 0) return [];
      // Rows go in in one global order (channel, then dedupe key): two replicas storing the same webhooks at
      // once (a Codat retry reaching the other replica) then wait on each other's unique keys in the same order
      // instead of deadlocking on PostgreSQL (reproduced: 30 of 100 crossing pairs). The sort is stable, so of
      // two copies in one batch the first is still the one stored.
      const order = webhooks.map((_, i) => i).sort((x, y) => compareKeys(webhooks[x]!, webhooks[y]!));
      const inserted = await appendSorted(order.map((i) => webhooks[i]!));
      const results = new Array<AppendResult>(webhooks.length);
      order.forEach((original, position) => (results[original] = inserted[position]!));
      return results;
    },

    async claimPending(now, limit, leaseMs, maxBytes = CLAIM_MAX_BYTES) {
      // The request id the receiver kept among the headers (src/webhooks/webhook-receiver.ts).
      const requestIdOfHeaders = driver.dialect === 'postgres' ? `(headers::json ->> 'x-request-id') AS request_id` : `json_extract(headers, '$."x-request-id"') AS request_id`;
      // One statement claims the batch (no UPDATE per row: one round trip on PostgreSQL, fewer WAL writes on
      // SQLite); RETURNING has no order, so the oldest-first order is restored here. `length` of a body is its
      // size in bytes on both databases, read without the body itself.
      const candidates = `SELECT id, length(body) AS size FROM inbox ${claimIndex('inbox_pending')} WHERE state = 'pending' AND claimed_until <= $1 ORDER BY id LIMIT $2 ${skipLocked}`;
      const rows = await driver.statement<{ id: number; channel: Channel; endpoint: Channel; dedupe_key: string; received_at: number; body: Buffer; request_id: string | null }>(
        `UPDATE inbox SET claimed_until = $3 WHERE id IN (${cutAtBytes(candidates, 'id', 'id', '$4')})
         RETURNING id, channel, endpoint, dedupe_key, received_at, body, ${requestIdOfHeaders}`,
        [now, limit, now + leaseMs, budgetOf(maxBytes)],
        REDOABLE,
      );
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      return rows.map((r): StoredWebhook => ({
        inboxId: Number(r.id), channel: r.channel, endpoint: r.endpoint, dedupeKey: r.dedupe_key, receivedAt: Number(r.received_at), body: Buffer.from(r.body),
        ...(r.request_id ? { requestId: r.request_id } : {}),
      }));
    },

    listQuarantine(limit) {
      return driver.transaction(async (tx) => {
        const rows = await tx.query<{ id: number; channel: Channel; state: 'unrecognised' | 'quarantined'; detail: string | null; received_at: number }>(
          `SELECT id, channel, state, detail, received_at FROM inbox WHERE state IN ('quarantined', 'unrecognised') ORDER BY id LIMIT $1`,
          [limit],
        );
        return rows.map((r): QuarantinedWebhook => ({ inboxId: Number(r.id), channel: r.channel, state: r.state, detail: r.detail, receivedAt: Number(r.received_at) }));
      });
    },

    replayQuarantine(now) {
      return driver.transaction((tx) =>
        tx.execute(
          `UPDATE inbox SET state = 'pending', claimed_until = 0, processed_at = NULL, settle_failures = 0
           WHERE state IN ('quarantined', 'unrecognised') AND received_at <= $1`,
          [now],
        ),
      );
    },

  };
}
