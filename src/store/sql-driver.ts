/**
 * The small SQL seam both stores share, so that the inbox, ledger and outbox are written once
 * (each stage's store: src/webhooks/inbox-store.ts, src/ledger/ledger-store.ts, src/delivery/outbox-store.ts, src/readiness/readiness-store.ts) and run on SQLite (embedded default) and PostgreSQL alike.
 * SQL is written with PostgreSQL placeholders (`$1`); the SQLite driver rewrites them.
 */
import type { Kysely } from 'kysely';

export type Row = Record<string, unknown>;

export interface SqlExecutor {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Serialises work on one key across processes for the rest of the transaction (PostgreSQL advisory
   * lock): a correlation key while its occurrence is settled, or the schema migration. SQLite
   * transactions are already serial: a no-op there.
   */
  lockKey(key: string): Promise<void>;
  /**
   * `lockKey` for many keys in one round trip, taken in code-unit order (`compareText`), the order every
   * settle takes its keys in: transactions that share some keys then queue on the first instead of deadlocking.
   */
  lockKeys(keys: readonly string[]): Promise<void>;
  /**
   * One statement over many rows of parameters, so that a batch costs one round trip and not one per row.
   * PostgreSQL runs `postgres` once, each parameter the column of the rows' values as an array (read with
   * `unnest($1::text[], $2::bigint[], …)`); SQLite runs `sqlite` once per row, in-process, where a round trip
   * costs nothing. Returns every row the statement returned.
   */
  queryEach<R extends Row = Row>(statement: EachRowStatement, rows: readonly (readonly unknown[])[]): Promise<R[]>;
}

/** A statement of `SqlExecutor.queryEach`, in each database's words. */
export interface EachRowStatement {
  readonly postgres: string;
  readonly sqlite: string;
}

/** The rows' values by column: what `unnest` of `SqlExecutor.queryEach`'s arrays gives back as rows. */
export function columnsOf(rows: readonly (readonly unknown[])[]): unknown[][] {
  const width = rows[0]?.length ?? 0;
  return Array.from({ length: width }, (_, column) => rows.map((row) => row[column] ?? null));
}

export interface TransactionOptions {
  /**
   * `acknowledged` (the default): on stable storage when the promise resolves, because a 2xx or an
   * operator's answer will promise it. `redoable`: work that is redone from acknowledged state if
   * lost (settling stored webhooks, delivery bookkeeping). On SQLite such a commit is not synced by
   * itself: a process crash loses nothing, a power cut can lose the last redoable commits, only ever
   * the newest (WAL order; the next acknowledged commit syncs everything before it).
   * PostgreSQL keeps every commit synchronous (docs/correlation.md, "Durability").
   */
  readonly durability?: 'acknowledged' | 'redoable';
  /** Someone is waiting for it (a request's append): runs before queued transactions that are not. SQLite only. */
  readonly urgent?: boolean;
  /**
   * Long by nature (the retention purge): not cut off by the statement timeout that
   * bounds everything else on PostgreSQL (src/store/postgres-driver.ts).
   */
  readonly unbounded?: boolean;
}

export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * One statement that is a transaction by itself, with the same options and guarantees as `transaction` (it
   * commits or changes nothing, under its durability). PostgreSQL runs it in autocommit: one round trip, not
   * three (BEGIN, the statement, COMMIT), for the appends and claims that are a single statement.
   */
  statement<R extends Row = Row>(sql: string, params: readonly unknown[], options?: TransactionOptions): Promise<R[]>;
  /** `FOR UPDATE SKIP LOCKED` where concurrent claimers exist (PostgreSQL), nothing on SQLite. */
  readonly skipLocked: string;
  /**
   * Resolves if the store can take a write now, cheaply: /readyz. Rejects (`StoreUnavailableError`)
   * on a read-only server, a full disk, a lost connection.
   */
  probe(): Promise<void>;
  /**
   * Runs `work` (the schema migrator, src/store/migrate.ts) with Kysely on this database and without the
   * statement timeout. SQLite: in one transaction of this driver's queue, which Kysely's migrator does not open
   * there itself, on the same connection (so an in-memory database works too). PostgreSQL: on a connection of
   * its own, where the migrator takes its advisory lock and its transaction. A database that cannot be reached
   * fails with `StoreUnavailableError`.
   */
  withKysely<T>(work: (db: Kysely<unknown>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** What a statement was sent for: a transaction's durability, or the schema migrator (`withKysely`). */
export const STATEMENT_KINDS = ['acknowledged', 'redoable', 'migration'] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

/**
 * Called by a driver for every statement it sends, BEGIN, COMMIT and ROLLBACK included: on
 * PostgreSQL, its round trips. The service passes one bound to `codat_cutover_store_statements_total`
 * (src/observability/metrics.ts); without one nothing is counted.
 */
export type StatementCounter = (kind: StatementKind) => void;

/** The options of work that is redone from acknowledged state if lost (`TransactionOptions.durability`). */
export const REDOABLE: TransactionOptions = { durability: 'redoable' };

export const kindOf = (options: TransactionOptions): StatementKind => (options.durability === 'redoable' ? 'redoable' : 'acknowledged');

/** Code-unit order, the one every lock order in the stores uses (as `Array.prototype.sort` does by default). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What one claim's rows (stored bodies, delivery payloads) may add up to. A claim is held in memory whole (each
 * row read, copied and parsed), so a count alone would let a backlog of large rows (Codat's bodies are small,
 * `BODY_LIMIT_BYTES` is not) take a claim's worth of body limits at once: hundreds of MiB, and a crash under a
 * container's memory limit that the restart repeats on the same backlog.
 */
export const CLAIM_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The `key`s of `candidates` (a SELECT of `key` and `size`, already limited, ordered and locked as the claim
 * wants) as far as the sizes before each one stay under the budget parameter: so a claim holds at most the budget
 * plus one row, and always its first row. `budgetOf` makes any budget one that claims at least that row.
 * `order` is the one the candidates are read in, so that SQLite, reading them from the claim's index, sorts
 * nothing; rows that tie in it are summed in the order they are read, and any such prefix is within the budget.
 */
export function cutAtBytes(candidates: string, key: string, order: string, budgetParam: string): string {
  return `SELECT ${key} FROM (
             SELECT ${key}, SUM(size) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) - size AS bytes_before FROM (${candidates}) AS candidates
           ) AS sized WHERE bytes_before < ${budgetParam}`;
}

export const budgetOf = (maxBytes: number): number => Math.max(1, Math.floor(maxBytes));

/** The durability each kind of write asks for, and the one planner hint SQLite needs, for any stage's store. */
export function durabilityOf(driver: SqlDriver) {
  // Without statistics SQLite may read every pending row through another index and sort them all to return
  // the first few, so a claim slows as a backlog grows; the partial index is already in claim order.
  // PostgreSQL's planner has statistics: no hint.
  const claimIndex = (name: 'inbox_pending' | 'deliveries_due') => (driver.dialect === 'sqlite' ? `INDEXED BY ${name}` : '');
  // What a 2xx acknowledges is synced before the answer and goes first, and what leaves the process
  // (delivery claims) is synced too; the rest (claiming and settling webhooks, rescues, recording deliveries
  // and failed attempts, windows, retention) is redone if a power cut loses it.
  const urgent = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work, { urgent: true });
  const redoable = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work, { durability: 'redoable' });
  return { urgent, redoable, claimIndex };
}
