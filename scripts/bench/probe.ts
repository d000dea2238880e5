/**
 * A diagnostic preload for the benchmark's profile mode (never for production):
 *
 *   node --import tsx --import ./scripts/bench/probe.ts src/main.ts
 *
 * It counts and times every SQL statement the service runs (better-sqlite3 synchronously, so the
 * time is main-thread time; pg as round trips, which overlap) and watches the event-loop delay.
 * On SIGUSR2 it writes what it saw since the previous SIGUSR2 as JSON to $BENCH_PROBE_FILE and
 * starts again, so the bench can bracket exactly its load.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.cwd(), 'package.json'));
const file = process.env.BENCH_PROBE_FILE;

type Tally = Map<string, { count: number; ms: number }>;
let sqlite: Tally = new Map();
let postgres: Tally = new Map();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let since = performance.now();

const keyOf = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 90);
function add(tally: Tally, sql: string, ms: number): void {
  const key = keyOf(sql);
  const entry = tally.get(key) ?? { count: 0, ms: 0 };
  entry.count += 1;
  entry.ms += ms;
  tally.set(key, entry);
}

try {
  const Database = require('better-sqlite3') as { prototype: Record<string, (...args: unknown[]) => unknown> };
  const exec = Database.prototype.exec as (this: unknown, sql: string) => unknown;
  Database.prototype.exec = function (this: unknown, ...args: unknown[]) {
    const started = performance.now();
    try {
      return exec.call(this, args[0] as string);
    } finally {
      add(sqlite, args[0] as string, performance.now() - started);
    }
  };
  const prepare = Database.prototype.prepare as (this: unknown, sql: string) => Record<string, unknown>;
  const patched = new WeakSet<object>();
  Database.prototype.prepare = function (this: unknown, ...args: unknown[]) {
    const statement = prepare.call(this, args[0] as string);
    const proto = Object.getPrototypeOf(statement) as Record<string, unknown>;
    if (!patched.has(proto)) {
      patched.add(proto);
      for (const method of ['run', 'all', 'get']) {
        const original = proto[method] as (this: { source: string }, ...a: unknown[]) => unknown;
        proto[method] = function (this: { source: string }, ...a: unknown[]) {
          const started = performance.now();
          try {
            return original.apply(this, a);
          } finally {
            add(sqlite, this.source, performance.now() - started);
          }
        };
      }
    }
    return statement;
  };
} catch {
  // better-sqlite3 not installed: nothing to probe there.
}

try {
  const pg = require('pg') as { Client: { prototype: Record<string, unknown> } };
  const query = pg.Client.prototype.query as (this: unknown, ...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    const config = args[0];
    const sql = typeof config === 'string' ? config : ((config as { text?: string } | undefined)?.text ?? '?');
    const started = performance.now();
    const result = query.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => add(postgres, sql, performance.now() - started),
        () => add(postgres, sql, performance.now() - started),
      );
    }
    return result;
  };
} catch {
  // pg not installed.
}

const table = (tally: Tally) =>
  [...tally.entries()].sort((a, b) => b[1].ms - a[1].ms).map(([sql, { count, ms }]) => ({ sql, count, ms: Math.round(ms * 10) / 10 }));

process.on('SIGUSR2', () => {
  const seconds = (performance.now() - since) / 1000;
  const report = {
    seconds,
    eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    sqlite: table(sqlite),
    postgres: table(postgres),
  };
  if (file) writeFileSync(file, JSON.stringify(report));
  sqlite = new Map();
  postgres = new Map();
  loop.reset();
  since = performance.now();
});
