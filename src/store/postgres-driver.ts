import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { columnsOf, compareText, kindOf, type EachRowStatement, type Row, type SqlDriver, type SqlExecutor, type StatementCounter, type TransactionOptions } from './sql-driver.js';
import { StoreUnavailableError } from './store-unavailable.js';

// BIGINT columns hold epoch milliseconds: read them as numbers, not strings.
const INT8_OID = 20;

export interface PostgresTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. */
  readonly connectMs: number;
  /**
   * PostgreSQL's `statement_timeout`. The client gives up a second later by itself: a frozen or
   * partitioned server never sends the cancellation.
   */
  readonly statementMs: number;
  /** PostgreSQL's `idle_in_transaction_session_timeout`: a transaction whose client vanished frees its locks. */
  readonly idleInTransactionMs: number;
}

export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = { connectMs: 3000, statementMs: 5000, idleInTransactionMs: 10_000 };

/** What the client waits beyond the server's own statement timeout, so the server's cleaner error usually wins. */
const CLIENT_MARGIN_MS = 1000;

/**
 * SQLSTATEs that mean "the server cannot do work now", not "this statement is wrong": connection
 * exceptions (08), shutdown or start-up (57P01-57P03), a cancelled statement (57014: our timeout),
 * a read-only server (25006: a standby after a failover), insufficient resources (53: disk full, too
 * many connections) and the idle-in-transaction timeout (25P03).
 */
const UNAVAILABLE_STATES = /^(08|53|57P0[123]$|57014$|25006$|25P03$)/;

/** A server-reported error has a severity; everything else (refused, reset, timed out) is the connection's. */
function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { severity, code } = error as Error & { severity?: unknown; code?: unknown };
  if (severity === undefined) return true;
  return typeof code === 'string' && UNAVAILABLE_STATES.test(code);
}

/** Only what pg itself rejected is judged here: an error thrown by the transaction's own code stays what it is. */
function unavailable(error: unknown): unknown {
  if (!isUnavailable(error) || !(error instanceof Error)) return error;
  return new StoreUnavailableError(`PostgreSQL is unavailable: ${error.message}`, { cause: error });
}

/**
 * `countStatements` hears of every statement sent, each one round trip: the transactions' own (BEGIN, COMMIT,
 * ROLLBACK and SET LOCAL included) and the migrator's.
 */
export function createPostgresDriver(
  connectionString: string,
  poolSize = 10,
  timeouts: PostgresTimeouts = DEFAULT_POSTGRES_TIMEOUTS,
  countStatements: StatementCounter = () => undefined,
): SqlDriver {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    query_timeout: timeouts.statementMs + CLIENT_MARGIN_MS,
    // A peer that vanished without a FIN (failover, partition) is noticed by the kernel, not never.
    keepAlive: true,
  });
  // A connection can fail at any time: idle in the pool (the pool's 'error') or held by a transaction
  // (the client's own 'error', which pg emits besides failing the query in flight). Unheard, either
  // ends the process; heard, the transaction fails, its client is discarded and the next one reconnects.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const types = { getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : (pg.types.getTypeParser(oid, format) as (value: string | Buffer) => unknown) };

  const driver: SqlDriver = {
    dialect: 'postgres',
    skipLocked: 'FOR UPDATE SKIP LOCKED',
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const client = await pool.connect().catch((error: unknown) => {
        throw unavailable(error);
      });
      // Long by nature (retention): the server's limit is lifted for this transaction and the client's with it.
      const queryTimeout = options.unbounded ? 0 : undefined;
      const kind = kindOf(options);
      const run = (text: string, values?: readonly unknown[]) => {
        countStatements(kind);
        return client
          .query({ text, values: values as unknown[] | undefined, types, ...(queryTimeout === undefined ? {} : { query_timeout: queryTimeout }) })
          .catch((error: unknown) => {
            throw unavailable(error);
          });
      };
      const executor: SqlExecutor = {
        async query<R extends Row>(sql: string, params?: readonly unknown[]) {
          return (await run(sql, params)).rows as R[];
        },
        async execute(sql, params) {
          return (await run(sql, params)).rowCount ?? 0;
        },
        async lockKey(key) {
          await run('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        },
        async lockKeys(keys) {
          if (keys.length === 0) return;
          // Sorted here, not by ORDER BY on the text (the database's collation is not code-unit order); the
          // ordinality keeps the array's order, and a volatile function in the output is evaluated after the sort.
          const sorted = [...new Set(keys)].sort(compareText);
          await run(
            'SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS t(k, i) ORDER BY i',
            [sorted],
          );
        },
        async queryEach<R extends Row>(statement: EachRowStatement, rows: readonly (readonly unknown[])[]) {
          if (rows.length === 0) return [];
          return (await run(statement.postgres, columnsOf(rows))).rows as R[];
        },
      };
      try {
        await run('BEGIN');
        if (options.unbounded) await run('SET LOCAL statement_timeout = 0');
        const result = await work(executor);
        await run('COMMIT');
        client.release();
        return result;
      } catch (error) {
        // On a lost or frozen connection a ROLLBACK would only wait out another timeout: the server rolls
        // back when the connection closes.
        if (!(error instanceof StoreUnavailableError)) await run('ROLLBACK').catch(() => undefined);
        // A broken connection is not returned to the pool.
        client.release(error instanceof Error ? error : true);
        throw error;
      }
    },
    async statement<R extends Row>(sql: string, params: readonly unknown[], options: TransactionOptions = {}): Promise<R[]> {
      // Long by nature: in a transaction, where SET LOCAL lifts the server's limit for it alone.
      if (options.unbounded) return driver.transaction((tx) => tx.query<R>(sql, params), options);
      countStatements(kindOf(options));
      // The pool's own query: a connection, the statement, and back, under the same timeouts; pg discards a
      // connection that broke under it, as a failed transaction's is.
      const result = await pool.query({ text: sql, values: params as unknown[], types }).catch((error: unknown) => {
        throw unavailable(error);
      });
      return result.rows as R[];
    },
    async probe() {
      // Assigning a transaction id is a write: a standby left behind by a failover refuses it, SELECT 1 would not.
      await driver.transaction((tx) => tx.query('SELECT txid_current() AS id'));
    },
    async withKysely<T>(work: (kysely: Kysely<unknown>) => Promise<T>): Promise<T> {
      // A pool of one connection of its own, without the statement timeout: a step may be long by nature, and
      // a replica waits on the migrator's advisory lock for as long as another replica's steps run.
      const migrationPool = new pg.Pool({
        connectionString,
        max: 1,
        connectionTimeoutMillis: timeouts.connectMs,
        idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
        keepAlive: true,
      });
      migrationPool.on('error', () => undefined);
      migrationPool.on('connect', (client) => {
        client.on('error', () => undefined);
        // Kysely sends every statement (its BEGIN and COMMIT too) through the connection's query().
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as { query: unknown }).query = (...args: unknown[]) => {
          countStatements('migration');
          return query(...args);
        };
      });
      const kysely = new Kysely<unknown>({
        dialect: new PostgresDialect({
          pool: {
            connect: () => migrationPool.connect().catch((error: unknown) => {
              throw unavailable(error);
            }),
            end: () => migrationPool.end(),
          },
        }),
      });
      try {
        return await work(kysely);
      } finally {
        await kysely.destroy();
      }
    },
    async close() {
      await pool.end();
    },
  };
  return driver;
}
