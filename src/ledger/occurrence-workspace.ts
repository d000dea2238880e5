/**
 * The occurrences one settle can touch, read once under its locks, changed in memory as each copy is decided,
 * and written back in a few statements at the end. A batch then costs the same handful of round trips on
 * PostgreSQL however many webhooks it holds, and every copy still sees what the copies before it decided (a
 * legacy copy and its twin in one batch pair), as if each had been written at once.
 *
 * It holds only what the batch's locks cover: the rows are read under the advisory locks of their pairing keys
 * (every writer of an occurrence holds its key's) and locked for update (the monitor's window closing skips
 * them), so nothing changes them between the read and the write.
 */
import type { DeliveryReason } from '../domain/ledger.js';
import { enqueueDeliveries, type QueuedDelivery } from '../delivery/outbox-store.js';
import type { EachRowStatement, SqlExecutor } from '../store/sql-driver.js';

/** A row of `occurrences`, as the ledger reads and writes it. */
export interface OccurrenceRecord {
  readonly id: string;
  readonly type: string;
  readonly correlation_key: string;
  readonly key_strength: string;
  readonly company_id: string | null;
  readonly first_seen_at: number;
  readonly occurred_at: number;
  readonly window_closed_at: number | null;
  key_qualifiers: string | null;
  legacy_seen_at: number | null;
  events_seen_at: number | null;
  legacy_copy: string | null;
  events_copy: string | null;
  legacy_role: string | null;
  events_role: string | null;
  mismatched_fields: string | null;
  duplicate_copies: number;
  delivered_via: string | null;
  delivery_reason: DeliveryReason | 'rescued' | null;
  decided_at: number | null;
  rescue_at: number | null;
}

/** Occurrences of `key` placed from `from` to `to`, both included. */
export interface PlacedRange {
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

/** What a settle may read: occurrences by id, and by pairing key around a time. */
export interface OccurrenceReads {
  readonly ids: readonly string[];
  readonly ranges: readonly PlacedRange[];
}

export interface OccurrenceWorkspace {
  get(id: string): OccurrenceRecord | null;
  /** Every occurrence of `range.key` placed in it, as the batch has made it so far. The range must have been read. */
  placed(range: PlacedRange): OccurrenceRecord[];
  insert(row: OccurrenceRecord): void;
  /** Changes a row already here (read, or inserted by this batch). */
  update(id: string, change: (row: OccurrenceRecord) => void): void;
  queueDelivery(delivery: QueuedDelivery): void;
  /** Writes what changed: new rows, changed rows, queued deliveries. */
  write(tx: SqlExecutor): Promise<void>;
}

const COLUMNS = [
  ['id', 'text'], ['type', 'text'], ['correlation_key', 'text'], ['key_strength', 'text'], ['company_id', 'text'],
  ['first_seen_at', 'bigint'], ['occurred_at', 'bigint'], ['window_closed_at', 'bigint'], ['key_qualifiers', 'text'],
  ['legacy_seen_at', 'bigint'], ['events_seen_at', 'bigint'], ['legacy_copy', 'text'], ['events_copy', 'text'],
  ['legacy_role', 'text'], ['events_role', 'text'], ['mismatched_fields', 'text'], ['duplicate_copies', 'integer'],
  ['delivered_via', 'text'], ['delivery_reason', 'text'], ['decided_at', 'bigint'], ['rescue_at', 'bigint'],
] as const satisfies readonly (readonly [keyof OccurrenceRecord, string])[];

/** What a settle may change; the copies are written only when this batch recorded them (else null: kept). */
const CHANGING = COLUMNS.slice(8);
const COPIES = new Set<string>(['legacy_copy', 'events_copy']);

const unnestOf = (columns: readonly (readonly [string, string])[]) =>
  `unnest(${columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS r(${columns.map(([name]) => name).join(', ')})`;

const READ_BY_ID: EachRowStatement = {
  postgres: 'SELECT * FROM occurrences WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
  sqlite: 'SELECT * FROM occurrences WHERE id = $1',
};

/**
 * One index range per key, whatever PostgreSQL's statistics say. As a plain join, a table without fresh statistics
 * (autovacuum off or behind, a table that grew fast) is hash-joined by a sequential scan of every occurrence, so
 * each batch's settle grows with the table. `OFFSET 0` keeps the lateral lookup from being flattened into that join.
 */
export const READ_PLACED: EachRowStatement = {
  postgres: `SELECT * FROM occurrences WHERE id IN (
      SELECT o.id FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(k, lo, hi)
      CROSS JOIN LATERAL (SELECT id FROM occurrences
        WHERE correlation_key = r.k AND occurred_at BETWEEN r.lo AND r.hi OFFSET 0) o)
    ORDER BY id FOR UPDATE`,
  sqlite: 'SELECT * FROM occurrences WHERE correlation_key = $1 AND occurred_at BETWEEN $2 AND $3',
};

const INSERT: EachRowStatement = {
  postgres: `INSERT INTO occurrences (${COLUMNS.map(([name]) => name).join(', ')}) SELECT * FROM ${unnestOf(COLUMNS)}`,
  sqlite: `INSERT INTO occurrences (${COLUMNS.map(([name]) => name).join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
};

const assignment = (name: string, value: string, current: string) => (COPIES.has(name) ? `${name} = COALESCE(${value}, ${current})` : `${name} = ${value}`);
const UPDATE: EachRowStatement = {
  postgres: `UPDATE occurrences SET ${CHANGING.map(([name]) => assignment(name, `r.${name}`, `occurrences.${name}`)).join(', ')}
    FROM ${unnestOf([['id', 'text'], ...CHANGING])} WHERE occurrences.id = r.id`,
  sqlite: `UPDATE occurrences SET ${CHANGING.map(([name], i) => assignment(name, `$${i + 2}`, name)).join(', ')} WHERE id = $1`,
};

/** A row as read: PostgreSQL's BIGINT columns arrive as numbers (src/store/postgres-driver.ts), SQLite's as numbers. */
function recordOf(row: Record<string, unknown>): OccurrenceRecord {
  return { ...row, duplicate_copies: Number(row.duplicate_copies ?? 0) } as unknown as OccurrenceRecord;
}

/** Reads what `reads` names, under the settle's locks (see the top of this file). */
export async function loadWorkspace(tx: SqlExecutor, reads: OccurrenceReads): Promise<OccurrenceWorkspace> {
  const ids = [...new Set(reads.ids)].sort();
  const rangeKey = (r: PlacedRange) => `${r.key}\u0000${r.from}\u0000${r.to}`;
  const ranges = [...new Map(reads.ranges.map((r) => [rangeKey(r), r])).values()];
  const read = [
    ...(ids.length > 0 ? await tx.queryEach(READ_BY_ID, ids.map((id) => [id])) : []),
    ...(ranges.length > 0 ? await tx.queryEach(READ_PLACED, ranges.map((r) => [r.key, r.from, r.to])) : []),
  ];

  const rows = new Map<string, OccurrenceRecord>();
  const byKey = new Map<string, OccurrenceRecord[]>();
  const index = (row: OccurrenceRecord) => {
    rows.set(row.id, row);
    const sameKey = byKey.get(row.correlation_key) ?? [];
    sameKey.push(row);
    byKey.set(row.correlation_key, sameKey);
  };
  for (const row of read) if (!rows.has(String(row.id))) index(recordOf(row));
  // The copies as read: a changed row writes only the copy this batch recorded.
  const readCopies = new Map([...rows.values()].map((row) => [row.id, { legacy_copy: row.legacy_copy, events_copy: row.events_copy }]));
  const inserted = new Set<string>();
  const updated = new Set<string>();
  const deliveries: QueuedDelivery[] = [];

  const readRanges = new Set(ranges.map(rangeKey));
  return {
    get: (id) => rows.get(id) ?? null,
    placed(range) {
      // A range not read would silently miss rows of the database: a bug in the caller, not a pairing.
      if (!readRanges.has(rangeKey(range))) throw new Error(`occurrences of ${range.key} from ${range.from} to ${range.to} were not read`);
      return (byKey.get(range.key) ?? []).filter((row) => row.occurred_at >= range.from && row.occurred_at <= range.to);
    },
    insert(row) {
      if (rows.has(row.id)) throw new Error(`occurrence ${row.id} is already in the batch`);
      index(row);
      inserted.add(row.id);
    },
    update(id, change) {
      const row = rows.get(id);
      if (!row) throw new Error(`occurrence ${id} was not read`);
      change(row);
      if (!inserted.has(id)) updated.add(id);
    },
    queueDelivery(delivery) {
      deliveries.push(delivery);
    },
    async write(tx) {
      const valuesOf = (row: OccurrenceRecord, columns: readonly (readonly [keyof OccurrenceRecord, string])[]) => columns.map(([name]) => row[name]);
      const newRows = [...inserted].map((id) => rows.get(id)).filter((row) => row !== undefined);
      if (newRows.length > 0) await tx.queryEach(INSERT, newRows.map((row) => valuesOf(row, COLUMNS)));
      const changed = [...updated].sort().map((id) => rows.get(id)).filter((row) => row !== undefined);
      if (changed.length > 0) {
        await tx.queryEach(
          UPDATE,
          changed.map((row) => {
            const before = readCopies.get(row.id);
            const values = valuesOf(row, CHANGING);
            CHANGING.forEach(([name], i) => {
              if (COPIES.has(name) && before?.[name as 'legacy_copy' | 'events_copy'] === row[name]) values[i] = null;
            });
            return [row.id, ...values];
          }),
        );
      }
      await enqueueDeliveries(tx, deliveries);
    },
  };
}
