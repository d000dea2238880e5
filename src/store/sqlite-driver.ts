import Database from 'better-sqlite3';
import type { Row, SqlDriver, SqlExecutor } from './sql-driver.js';

type Statement = Database.Statement<Record<string, unknown>>;

/**
 * better-sqlite3 is synchronous; transactions are serialised through a promise chain so that the
 * async store code above cannot interleave two of them on the one connection.
 * `synchronous=FULL` in WAL mode: a committed row survives power loss, not only a process crash.
 */
export function createSqliteDriver(path: string): SqlDriver {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const statements = new Map<string, Statement>();
  let queue: Promise<unknown> = Promise.resolve();

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
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const run = async (): Promise<T> => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(executor);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      await queue;
      db.close();
    },
  };
}
