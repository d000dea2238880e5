import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { kindOf, type EachRowStatement, type Row, type SqlDriver, type SqlExecutor, type StatementCounter, type StatementKind, type TransactionOptions } from './sql-driver.js';
import { StoreUnavailableError } from './store-unavailable.js';

type Statement = Database.Statement<Record<string, unknown>>;

/**
 * better-sqlite3 is synchronous; transactions are serialised through a queue so that the async
 * store code above cannot interleave two of them on the one connection. Urgent transactions (a
 * request waiting for its append) go before queued background ones.
 * `synchronous=FULL` in WAL mode: an acknowledged commit survives power loss, not only a process
 * crash; a `redoable` one runs under `synchronous=NORMAL` (written to the WAL, not synced by itself).
 */
/**
 * Below this much free space next to the database, /readyz says not ready: the WAL grows by up to a
 * checkpoint's worth (1000 pages, ~4 MiB) before it is reused, and one batch of large bodies adds more.
 */
export const MIN_FREE_BYTES = 16 * 1024 * 1024;

/** Failures of the disk or the file, not of the statement: they pass (space freed, lock released). */
const UNAVAILABLE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|PROTOCOL)/;

function unavailable(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (!(error instanceof Error) || typeof code !== 'string' || !UNAVAILABLE_CODES.test(code)) return error;
  return new StoreUnavailableError(`SQLite cannot write: ${error.message} (${code})`, { cause: error });
}

/** `countStatements` hears of every statement run in a transaction: BEGIN, COMMIT, ROLLBACK and a change of `synchronous` included. */
export function createSqliteDriver(path: string, options: { minFreeBytes?: number; countStatements?: StatementCounter } = {}): SqlDriver {
  const minFreeBytes = options.minFreeBytes ?? MIN_FREE_BYTES;
  const countStatements = options.countStatements ?? (() => undefined);
  // The kind of the transaction running now: the one connection runs one at a time.
  let kindNow: StatementKind = 'acknowledged';
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  let synchronousNow: 'FULL' | 'NORMAL' = 'FULL';
  db.pragma('busy_timeout = 5000');
  // Sorts and temporary indexes in memory: on disk each one creates and unlinks a temporary file.
  db.pragma('temp_store = MEMORY');
  const statements = new Map<string, Statement>();
  const urgentQueue: (() => Promise<void>)[] = [];
  const queue: (() => Promise<void>)[] = [];
  let running = false;
  let idle: (() => void) | null = null;

  const pump = () => {
    if (running) return;
    const next = urgentQueue.shift() ?? queue.shift();
    if (!next) {
      idle?.();
      return;
    }
    running = true;
    void next().finally(() => {
      running = false;
      pump();
    });
  };

  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql.replace(/\$(\d+)/g, '@p$1'));
      statements.set(sql, statement);
    }
    return statement;
  };
  const bind = (params: readonly unknown[] = []): Record<string, unknown> => {
    const named: Record<string, unknown> = {};
    params.forEach((value, index) => {
      named[`p${index + 1}`] = typeof value === 'boolean' ? Number(value) : value;
    });
    return named;
  };

  /** Runs `body` alone on the connection, in one BEGIN IMMEDIATE … COMMIT, after what is queued before it. */
  const inQueuedTransaction = <T>(body: () => Promise<T>, synchronous: 'FULL' | 'NORMAL', urgent: boolean, kind: StatementKind): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = async (): Promise<void> => {
        kindNow = kind;
        try {
          // Set before every transaction that needs another level, so a failure cannot leave it relaxed.
          if (synchronousNow !== synchronous) {
            countStatements(kind);
            db.pragma(`synchronous = ${synchronous}`);
            synchronousNow = synchronous;
          }
          countStatements(kind);
          db.exec('BEGIN IMMEDIATE');
          try {
            const result = await body();
            countStatements(kind);
            db.exec('COMMIT');
            resolve(result);
          } catch (error) {
            if (db.inTransaction) {
              countStatements(kind);
              db.exec('ROLLBACK');
            }
            throw error;
          }
        } catch (error) {
          reject(unavailable(error));
        }
      };
      (urgent ? urgentQueue : queue).push(run);
      pump();
    });

  const executor: SqlExecutor = {
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      countStatements(kindNow);
      return prepare(sql).all(bind(params)) as R[];
    },
    async execute(sql, params) {
      countStatements(kindNow);
      return prepare(sql).run(bind(params)).changes;
    },
    async lockKey() {},
    async lockKeys() {},
    async queryEach<R extends Row>(statement: EachRowStatement, rows: readonly (readonly unknown[])[]) {
      const prepared = prepare(statement.sqlite);
      const results: R[] = [];
      for (const row of rows) {
        countStatements(kindNow);
        if (prepared.reader) results.push(...(prepared.all(bind(row)) as R[]));
        else prepared.run(bind(row));
      }
      return results;
    },
  };

  const driver: SqlDriver = {
    dialect: 'sqlite',
    skipLocked: '',
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      return inQueuedTransaction(() => work(executor), options.durability === 'redoable' ? 'NORMAL' : 'FULL', options.urgent === true, kindOf(options));
    },
    statement<R extends Row>(sql: string, params: readonly unknown[], options: TransactionOptions = {}): Promise<R[]> {
      return driver.transaction(async () => {
        countStatements(kindNow);
        const prepared = prepare(sql);
        // better-sqlite3 reads rows only from a statement that returns some (a SELECT, a RETURNING).
        if (prepared.reader) return prepared.all(bind(params)) as R[];
        prepared.run(bind(params));
        return [];
      }, options);
    },
    withKysely<T>(work: (kysely: Kysely<unknown>) => Promise<T>): Promise<T> {
      return inQueuedTransaction(async () => {
        // The driver's own connection, lent: Kysely's destroy() must not close it.
        // Kysely prepares each statement it runs: each prepare is counted as one.
        const prepareCounted = (sql: string) => {
          countStatements('migration');
          return db.prepare(sql);
        };
        const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: { prepare: prepareCounted, close: () => undefined } }) });
        try {
          return await work(kysely);
        } finally {
          await kysely.destroy();
        }
      }, 'FULL', false, 'migration');
    },
    async probe() {
      // BEGIN IMMEDIATE takes the write lock (a read-only file or a held lock fails here); the room left
      // is what a full disk would fail on only later, one webhook at a time.
      await driver.transaction(async (tx) => {
        const [pages] = await tx.query<{ page_count: number }>('PRAGMA page_count');
        const [max] = await tx.query<{ max_page_count: number }>('PRAGMA max_page_count');
        const [free] = await tx.query<{ freelist_count: number }>('PRAGMA freelist_count');
        if (pages && max && free && free.freelist_count === 0 && pages.page_count >= max.max_page_count) {
          throw new StoreUnavailableError('SQLite cannot write: the database has reached max_page_count');
        }
      }, { urgent: true });
      const disk = statfsSync(dirname(path));
      const freeBytes = disk.bavail * disk.bsize;
      if (freeBytes < minFreeBytes) {
        throw new StoreUnavailableError(`SQLite cannot write: ${freeBytes} bytes free next to ${path}, fewer than ${minFreeBytes}`);
      }
    },
    async close() {
      if (running || queue.length > 0 || urgentQueue.length > 0) await new Promise<void>((resolve) => (idle = resolve));
      db.close();
    },
  };
  return driver;
}
