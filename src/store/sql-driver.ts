/**
 * The small SQL seam both stores share, so that the inbox, ledger and outbox are written once
 * (src/store/sql-cutover-store.ts) and run on SQLite (embedded default) and PostgreSQL alike.
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
}

export interface TransactionOptions {
  /**
   * `acknowledged` (the default): on stable storage when the promise resolves, because a 2xx or an
   * operator's answer will promise it. `redoable`: work that is redone from acknowledged state if
   * lost (settling stored webhooks, delivery bookkeeping). On SQLite such a commit is not synced by
   * itself: a process crash loses nothing, a power cut can lose the last redoable commits, only ever
   * the newest (WAL order; the next acknowledged commit syncs everything before it).
   * PostgreSQL keeps every commit synchronous (see docs/performance.md, "Durability").
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
