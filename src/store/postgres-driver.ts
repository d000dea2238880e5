import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor } from './sql-driver.js';

// BIGINT columns hold epoch milliseconds: read them as numbers, not strings.
const INT8_OID = 20;

export function createPostgresDriver(connectionString: string, poolSize = 10): SqlDriver {
  const pool = new pg.Pool({ connectionString, max: poolSize });
  // An idle client losing its connection must not crash the process: the next query fails instead.
  pool.on('error', () => undefined);
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format) };

  return {
    dialect: 'postgres',
    skipLocked: 'FOR UPDATE SKIP LOCKED',
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const executor: SqlExecutor = {
        async query<R extends Row>(sql: string, params?: readonly unknown[]) {
          const result = await client.query({ text: sql, values: params as unknown[] | undefined, types });
          return result.rows as R[];
        },
        async execute(sql, params) {
          const result = await client.query({ text: sql, values: params as unknown[] | undefined, types });
          return result.rowCount ?? 0;
        },
        async lockKey(key) {
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        },
      };
      try {
        await client.query('BEGIN');
        const result = await work(executor);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        // A broken connection is not returned to the pool.
        client.release(error instanceof Error ? error : true);
        throw error;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
