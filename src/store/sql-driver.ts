/**
 * The small SQL seam both stores share, so that the inbox, ledger and outbox are written once
 * (src/store/sql-cutover-store.ts) and run on SQLite (embedded default) and PostgreSQL alike.
 * SQL is written with PostgreSQL placeholders (`$1`); the SQLite driver rewrites them.
 */
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Serialises work on one correlation key across processes for the rest of the transaction
   * (PostgreSQL advisory lock). SQLite transactions are already serial: a no-op there.
   */
  lockKey(key: string): Promise<void>;
}

export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** `FOR UPDATE SKIP LOCKED` where concurrent claimers exist (PostgreSQL), nothing on SQLite. */
  readonly skipLocked: string;
  close(): Promise<void>;
}
