/**
 * One run of one side: warm it up, send the occurrences, wait until the last one reached the downstream
 * stub, and read what it cost from /proc and from PostgreSQL's own statistics.
 */
import pg from 'pg';
import { POSTGRES_ADMIN_URL } from '../../tools/postgres.js';
import type { BenchSettings } from './arguments.js';
import { runAutocannon, runPaced, type LoadResult } from './load.js';
import { cpuSecondsOf, machineCpuSeconds, readProc } from './proc-stat.js';
import { postgresStatements, type Child } from './processes.js';
import type { RunningSide } from './sides.js';
import { topStatements, type StatementStats } from './statement-stats.js';
import type { WebhookStream } from './webhooks.js';

export interface RunFigures {
  readonly load: LoadResult;
  /** 2xx answers per second while the load ran. */
  readonly acceptedPerSecond: number;
  /** Accepted webhooks per second from the first one sent until the last occurrence was delivered; NaN for sides that do not deliver. */
  readonly endToEndPerSecond: number;
  readonly endToEndSeconds: number;
  /** CPU of the side's own processes per accepted webhook, until the last delivery (ms). */
  readonly cpuMsPerWebhook: number;
  /** CPU of every PostgreSQL process on the machine over the same time, per accepted webhook (ms). */
  readonly postgresCpuMsPerWebhook: number;
  /** Transactions committed in the side's database per accepted webhook, over the side's life. */
  readonly commitsPerWebhook: number;
  /**
   * Statements sent to the side's database per accepted webhook, over the side's life (BEGIN, COMMIT and ROLLBACK
   * included): the processes' own `codat_cutover_store_statements_total`, read just before they stop, replicas summed.
   */
  readonly roundTripsPerWebhook: number;
  /** The side database's most expensive statements, if the server collects them (pg_stat_statements); null off PostgreSQL. */
  readonly statementStats: StatementStats | null;
  /**
   * Bytes written to storage per accepted webhook, KB, until the last delivery: on the embedded store what the
   * side's processes wrote (`write_bytes`: SQLite's WAL and checkpoints); on PostgreSQL the WAL the server generated
   * (`pg_stat_wal.wal_bytes`, the whole server: another tenant's writes would count), which every commit waits on.
   */
  readonly kbWrittenPerWebhook: number;
  /** The highest resident set (VmHWM) of any of its processes, MB. */
  readonly peakRssMb: number;
  /** The whole machine's busy CPU over the run, % of all its cores: near 100, the cores were the limit. */
  readonly machineBusyPercent: number;
}

interface Stub {
  readonly url: string;
}

interface StubDeliveries {
  readonly distinct: number;
  readonly received: number;
  readonly lastDistinctAt: number | null;
}

const deliveries = async (stub: Stub): Promise<StubDeliveries> => (await (await fetch(`${stub.url}/deliveries`)).json()) as StubDeliveries;
export const resetStub = async (stub: Stub): Promise<void> => void (await fetch(`${stub.url}/reset`, { method: 'POST' })).arrayBuffer();

/** Waits until the stub holds `occurrences` distinct deliveries; null after the timeout. */
async function waitDelivered(stub: Stub, occurrences: number, timeoutMs: number): Promise<StubDeliveries | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await deliveries(stub);
    if (seen.distinct >= occurrences) return seen;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `webhooks` spread over the side's processes, the connections shared between them. */
async function sendLoad(targets: readonly Child[], stream: WebhookStream, webhooks: number, settings: BenchSettings): Promise<LoadResult> {
  // Whole occurrences per target, so that a pair is never split between replicas by the amount alone.
  const share = 2 * Math.floor(webhooks / 2 / targets.length);
  const connections = Math.max(1, Math.floor(settings.connections / targets.length));
  const results = await Promise.all(
    targets.map((target) =>
      settings.rate === undefined
        ? runAutocannon({ url: target.url, stream, connections, amount: share })
        : runPaced({ url: target.url, stream, rate: settings.rate / targets.length, seconds: share / (settings.rate / targets.length) }),
    ),
  );
  const sum = (pick: (r: LoadResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  return {
    okPerSecond: sum((r) => r.ok) / seconds,
    // Replicas: the worse of the two, so a slow replica is not hidden.
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    ok: sum((r) => r.ok),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    seconds,
    statusCodes: results.reduce<Record<string, number>>((all, r) => {
      for (const [code, n] of Object.entries(r.statusCodes)) all[code] = (all[code] ?? 0) + n;
      return all;
    }, {}),
  };
}

/** Transactions committed in a database so far (pg_stat_database), read from the admin database. */
async function commitsIn(databaseUrl: string): Promise<number> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ commits: string }>('SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = $1', [name]);
    return Number(rows[0]?.commits ?? NaN);
  } finally {
    await client.end();
  }
}

/** NaN if any process could not say. */
const sumOf = async (counts: readonly Promise<number>[]): Promise<number> =>
  (await Promise.all(counts.map((count) => count.catch(() => NaN)))).reduce((total, n) => total + n, 0);

const cpuOf = (targets: readonly Child[]) => targets.reduce((sum, t) => sum + (readProc(t.pid)?.cpuSeconds ?? NaN), 0);
const writtenBy = (targets: readonly Child[]) => targets.reduce((sum, t) => sum + (readProc(t.pid)?.writtenBytes ?? NaN), 0);

/** WAL bytes the server has generated so far (pg_stat_wal, PostgreSQL 14 and later); NaN where it cannot say. */
async function walBytes(): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>('SELECT wal_bytes AS bytes FROM pg_stat_wal');
    return Number(rows[0]?.bytes ?? NaN);
  } catch {
    return NaN;
  } finally {
    await client.end();
  }
}

/** What the side has written so far, bytes: see `RunFigures.kbWrittenPerWebhook`. */
const writtenSoFar = (side: RunningSide): Promise<number> => (side.spec.usesPostgres ? walBytes() : Promise.resolve(writtenBy(side.targets)));

export async function measureRun(side: RunningSide, stream: WebhookStream, stub: Stub, settings: BenchSettings): Promise<RunFigures> {
  const { targets, spec } = side;
  const timeoutMs = settings.drainTimeoutSeconds * 1000;
  let accepted = 0;
  if (settings.warmup > 0) {
    accepted += (await sendLoad(targets, stream, 2 * settings.warmup, { ...settings, rate: undefined })).ok;
    if (spec.delivers && !(await waitDelivered(stub, settings.warmup, timeoutMs))) throw new Error(`${spec.label}: the warm-up was not delivered in time`);
  }
  await resetStub(stub);

  const cpu0 = cpuOf(targets);
  const postgres0 = spec.usesPostgres ? cpuSecondsOf('postgres') : 0;
  const machine0 = machineCpuSeconds();
  const written0 = await writtenSoFar(side);
  const startedAt = Date.now();
  const load = await sendLoad(targets, stream, 2 * settings.occurrences, settings);
  accepted += load.ok;
  let endToEndSeconds = NaN;
  if (spec.delivers) {
    const occurrences = Math.floor(load.ok / 2);
    const seen = await waitDelivered(stub, occurrences, timeoutMs);
    // Never shorter than the load: the last answer may reach the load generator after the last delivery.
    if (seen?.lastDistinctAt) endToEndSeconds = Math.max(load.seconds, (seen.lastDistinctAt - startedAt) / 1000);
    else process.stdout.write(`  ${spec.label}: ${(await deliveries(stub)).distinct} of ${occurrences} occurrences delivered after ${settings.drainTimeoutSeconds} s\n`);
  }
  const machine1 = machineCpuSeconds();
  const writtenBytes = (await writtenSoFar(side)) - written0;
  const cpuSeconds = cpuOf(targets) - cpu0;
  const postgresSeconds = spec.usesPostgres ? cpuSecondsOf('postgres') - postgres0 : NaN;
  const peakRssMb = Math.max(...targets.map((t) => readProc(t.pid)?.peakRssMb ?? NaN));

  // Each process counts its own statements, until it exits: read them last, while it still answers.
  const statements = side.database ? await sumOf(targets.map((t) => postgresStatements(t.url))) : NaN;
  // A PostgreSQL backend may keep its counts for a while before it reports them; it reports them when it exits.
  await side.stop();
  let commitsPerWebhook = NaN;
  let statementStats: StatementStats | null = null;
  if (side.database) {
    await new Promise((r) => setTimeout(r, 500));
    commitsPerWebhook = (await commitsIn(side.database.url)) / accepted;
    statementStats = await topStatements(side.database.url);
  }
  return {
    load,
    acceptedPerSecond: load.okPerSecond,
    endToEndSeconds,
    endToEndPerSecond: load.ok / endToEndSeconds,
    cpuMsPerWebhook: (1000 * cpuSeconds) / load.ok,
    postgresCpuMsPerWebhook: (1000 * postgresSeconds) / load.ok,
    commitsPerWebhook,
    roundTripsPerWebhook: statements / accepted,
    statementStats,
    kbWrittenPerWebhook: writtenBytes / 1024 / load.ok,
    peakRssMb,
    machineBusyPercent: (100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total),
  };
}
