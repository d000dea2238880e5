/**
 * The statements that took the most time in a side's database, from `pg_stat_statements` when the server collects
 * them. It only does with the module in `shared_preload_libraries` (a restart): `CREATE EXTENSION` succeeds without
 * it, but reading the view then fails, so a failed read is reported as such, never as an empty list.
 */
import pg from 'pg';

export interface TopStatement {
  readonly calls: number;
  readonly totalMs: number;
  /** The normalised text, on one line, cut at 120 characters. */
  readonly query: string;
}

export type StatementStats =
  | { readonly active: true; readonly top: readonly TopStatement[] }
  | { readonly active: false; readonly why: string };

const ENABLE = "shared_preload_libraries = 'pg_stat_statements' in postgresql.conf and a restart of PostgreSQL";

/** Read after the side's processes have exited, before its database is dropped. */
export async function topStatements(databaseUrl: string, limit = 5): Promise<StatementStats> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    } catch (error) {
      return { active: false, why: `pg_stat_statements is not available on this server (${(error as Error).message}); install PostgreSQL's contrib modules, then set ${ENABLE}` };
    }
    try {
      const { rows } = await client.query<{ calls: string; total_ms: number; query: string }>(
        `SELECT calls, total_exec_time AS total_ms, query FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_exec_time DESC LIMIT $1`,
        [limit],
      );
      return { active: true, top: rows.map((r) => ({ calls: Number(r.calls), totalMs: r.total_ms, query: r.query.replace(/\s+/g, ' ').slice(0, 120) })) };
    } catch (error) {
      return { active: false, why: `pg_stat_statements is not preloaded on this server (${(error as Error).message}): no top statements; to see them, set ${ENABLE}` };
    }
  } finally {
    await client.end();
  }
}
