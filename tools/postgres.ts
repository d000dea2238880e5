/**
 * Throwaway PostgreSQL databases, dropped at the end: one per integration test file, one per bench side and run.
 * The server is the local one (trust auth, user `postgres`) unless TEST_POSTGRES_ADMIN_URL names
 * another; if it is down: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.
 */
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection string of the new, empty database. */
  readonly url: string;
  /** Drops the database, closing any connection still open to it. Idempotent. */
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${POSTGRES_ADMIN_URL} (${String(error)}); ` +
        'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(prefix = 'cutover_it'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`);
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      dropped = true;
    },
  };
}
