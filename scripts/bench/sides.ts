/**
 * The sides a bench run compares. Each run of a side starts from nothing (fresh processes, a fresh data
 * folder, a fresh database), so one run's backlog, caches or peak RSS never leak into the next.
 *
 *   embedded  the service on its embedded store (SQLite), as `npm start` runs it
 *   postgres  the service on PostgreSQL
 *   replicas  two replicas of the service on one PostgreSQL database, the load split between them
 *   naive     the naive durable consumer: Express + one PostgreSQL INSERT … ON CONFLICT per request
 *   express   bare Express 5: parse, 202, store nothing
 *   http      raw node:http: parse, 202
 *   relay     bare Express that delivers each occurrence once, unstored: the floor of taking in and delivering
 *   durable-sqlite, durable-postgres
 *             the relay that also checks each signature and stores each webhook durably before its 202: the floor,
 *             on each store, of any design with the service's promises (scripts/bench/baseline-server.ts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';
import type { SideName } from './arguments.js';
import { startBaseline, startService, type Child } from './processes.js';
import { BENCH_SECRET } from './webhooks.js';

export interface SideSpec {
  readonly name: SideName;
  readonly label: string;
  /** It delivers each occurrence downstream: its end-to-end time is measured. */
  readonly delivers: boolean;
  /** Backed by PostgreSQL: commits and PostgreSQL's CPU are part of its cost. */
  readonly usesPostgres: boolean;
}

export const SIDES: Readonly<Record<SideName, SideSpec>> = {
  embedded: { name: 'embedded', label: 'service, embedded store', delivers: true, usesPostgres: false },
  postgres: { name: 'postgres', label: 'service, PostgreSQL', delivers: true, usesPostgres: true },
  replicas: { name: 'replicas', label: 'service, PostgreSQL, 2 replicas', delivers: true, usesPostgres: true },
  naive: { name: 'naive', label: 'naive durable consumer', delivers: false, usesPostgres: true },
  express: { name: 'express', label: 'bare Express', delivers: false, usesPostgres: false },
  http: { name: 'http', label: 'raw node:http', delivers: false, usesPostgres: false },
  relay: { name: 'relay', label: 'Express relay, unstored', delivers: true, usesPostgres: false },
  'durable-sqlite': { name: 'durable-sqlite', label: 'durable relay, SQLite', delivers: true, usesPostgres: false },
  'durable-postgres': { name: 'durable-postgres', label: 'durable relay, PostgreSQL', delivers: true, usesPostgres: true },
};

export interface RunningSide {
  readonly spec: SideSpec;
  /** The processes that take the load (two for `replicas`). */
  readonly targets: readonly Child[];
  /** The side's own database, for its commit count. */
  readonly database: TestDatabase | null;
  /** Stops the processes (so their statistics reach PostgreSQL); the database is kept until `discard`. */
  stop(): Promise<void>;
  /** Drops the database and the data folders. */
  discard(): Promise<void>;
}

export interface SideContext {
  readonly downstreamUrl: string;
  /** Where service sides write CPU profiles, if asked. */
  readonly cpuProfDir: string | undefined;
}

/** Everything started, so that Ctrl-C or a failure stops and removes it. */
const live = new Set<RunningSide>();

export async function startSide(name: SideName, context: SideContext): Promise<RunningSide> {
  const spec = SIDES[name];
  const database = spec.usesPostgres ? await createTestDatabase(`cutover_bench_${name.replace(/-/g, '_')}`) : null;
  const dirs: string[] = [];
  const targets: Child[] = [];
  const side: RunningSide = {
    spec,
    targets,
    database,
    async stop() {
      await Promise.all(targets.map((target) => target.stop(30_000)));
    },
    async discard() {
      await side.stop();
      live.delete(side);
      await database?.drop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(side);
  // Removed with the side.
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), `cutover-bench-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const service = (replica: number) => {
    const dataDir = freshDir();
    return startService({
      name: `${name}-${replica}`,
      dataDir,
      secret: BENCH_SECRET,
      downstreamUrl: context.downstreamUrl,
      ...(database ? { databaseUrl: database.url } : {}),
      ...(context.cpuProfDir ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${context.cpuProfDir}`] } : {}),
    });
  };
  try {
    if (name === 'embedded' || name === 'postgres') targets.push(await service(1));
    // One at a time: two replicas migrating the same empty database at once is not what is measured.
    else if (name === 'replicas') for (const replica of [1, 2]) targets.push(await service(replica));
    else {
      const dataDir = name === 'durable-sqlite' ? freshDir() : undefined;
      targets.push(await startBaseline(name, { databaseUrl: database?.url, downstreamUrl: context.downstreamUrl, dataDir, secret: BENCH_SECRET }));
    }
  } catch (error) {
    await side.discard().catch(() => undefined);
    throw error;
  }
  return side;
}

/** Stops and removes every side still running (Ctrl-C, a failed run). */
export async function discardAllSides(): Promise<void> {
  await Promise.all([...live].map((side) => side.discard().catch(() => undefined)));
}
