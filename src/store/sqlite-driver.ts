import Database from 'better-sqlite3';
import type { Row, SqlDriver, SqlExecutor, TransactionOptions } from './sql-driver.js';

type Statement = Database.Statement<Record<string, unknown>>;

/**
 * better-sqlite3 is synchronous; transactions are serialised through a queue so that the async
 * store code above cannot interleave two of them on the one connection. Urgent transactions (a
 * request waiting for its append) go before queued background ones.
 * `synchronous=FULL` in WAL mode: an acknowledged commit survives power loss, not only a process
 * crash; a `redoable` one runs under `synchronous=NORMAL` (written to the WAL, not synced by itself).
 */
export function createSqliteDriver(path: string): SqlDriver {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  let synchronousNow: 'FULL' | 'NORMAL' = 'FULL';
  db.pragma('busy_timeout = 5000');
  // Sorts and temporary indexes in memory: under load they created and unlinked a file each (strace).
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

  const executor: SqlExecutor = {
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      return prepare(sql).all(bind(params)) as R[];
    },
    async execute(sql, params) {
      return prepare(sql).run(bind(params)).changes;
    },
    async lockKey() {},
  };

  return {
    dialect: 'sqlite',
    skipLocked: '',
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const synchronous = options.durability === 'redoable' ? 'NORMAL' : 'FULL';
      return new Promise<T>((resolve, reject) => {
        const run = async (): Promise<void> => {
          try {
            // Set before every transaction that needs another level, so a failure cannot leave it relaxed.
            if (synchronousNow !== synchronous) {
              db.pragma(`synchronous = ${synchronous}`);
              synchronousNow = synchronous;
            }
            db.exec('BEGIN IMMEDIATE');
            try {
              const result = await work(executor);
              db.exec('COMMIT');
              resolve(result);
            } catch (error) {
              if (db.inTransaction) db.exec('ROLLBACK');
              throw error;
            }
          } catch (error) {
            reject(error);
          }
        };
        (options.urgent ? urgentQueue : queue).push(run);
        pump();
      });
    },
    async close() {
      if (running || queue.length > 0 || urgentQueue.length > 0) await new Promise<void>((resolve) => (idle = resolve));
      db.close();
    },
  };
}
