/**
 * The processes a bench run drives, each a child with its own event loop: the service as it ships
 * (`npm run build`, then `node dist/main.js`), the baselines and the downstream stub
 * (scripts/bench/tsconfig.json, compiled likewise). Every child runs compiled JavaScript on plain node:
 * no loader in the figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../tools/free-port.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Inside the checkout, so that the compiled modules find node_modules, and not inside node_modules: checkouts
 * that share one node_modules (git worktrees) would rebuild each other's servers under a running bench.
 */
const BENCH_BUILD_DIR = join(ROOT, '.bench-build');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Builds the service as `npm run build` does, and the bench's own servers, once per bench. */
export function compileForBench(): void {
  execFileSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  rmSync(BENCH_BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [TSC, '-p', 'scripts/bench/tsconfig.json', '--outDir', BENCH_BUILD_DIR], { cwd: ROOT, stdio: 'inherit' });
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

async function waitHealthy(child: ChildProcess, url: string, name: string, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during start-up:\n${output()}`);
    try {
      const response = await fetch(`${url}/healthz`);
      // The service listens before its store is migrated: wait until /readyz no longer says `starting`.
      const ready = response.ok ? ((await (await fetch(`${url}/readyz`)).json().catch(() => ({}))) as { store?: string }) : null;
      if (ready && ready.store !== 'starting') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start in time:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startChild(name: string, args: readonly string[], env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: String(port), NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(child, url, name, () => output);
  if (child.pid === undefined) throw new Error(`${name} has no pid`);
  return {
    name,
    pid: child.pid,
    url,
    output: () => output,
    async stop(graceMs = 60_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sent to /metrics, in case the service is configured to require it. */
export const METRICS_TOKEN = 'bench-metrics-token-0123456789';

export interface ServiceOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly secret: string;
  /** Where deliveries go: the downstream stub. */
  readonly downstreamUrl: string;
  readonly databaseUrl?: string;
  /** Extra node flags, e.g. `--cpu-prof --cpu-prof-dir=…`. */
  readonly nodeFlags?: readonly string[];
}

export function startService(options: ServiceOptions): Promise<Child> {
  return startChild(options.name, [...(options.nodeFlags ?? []), join(ROOT, 'dist', 'main.js')], {
    LOG_LEVEL: 'warn',
    DATA_DIR: options.dataDir,
    DOWNSTREAM_URL: options.downstreamUrl,
    CODAT_EVENTS_SECRET: options.secret,
    CODAT_LEGACY_SECRET: options.secret,
    METRICS_TOKEN,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
  });
}

export type BaselineKind = 'express' | 'naive' | 'http' | 'relay' | 'durable-sqlite' | 'durable-postgres';

export interface BaselineOptions {
  readonly databaseUrl?: string | undefined;
  readonly downstreamUrl?: string | undefined;
  /** Where `durable-sqlite` keeps its file. */
  readonly dataDir?: string | undefined;
  /** What the durable relays check each signature with. */
  readonly secret?: string | undefined;
}

/** A baseline from scripts/bench/baseline-server.ts; `naive` and `durable-postgres` need a database of their own. */
export function startBaseline(kind: BaselineKind, options: BaselineOptions = {}): Promise<Child> {
  return startChild(`baseline-${kind}`, [join(BENCH_BUILD_DIR, 'baseline-server.js'), kind], {
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.downstreamUrl ? { DOWNSTREAM_URL: options.downstreamUrl } : {}),
    ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}),
    ...(options.secret ? { WEBHOOK_SECRET: options.secret } : {}),
  });
}

export function startDownstreamStub(): Promise<Child> {
  return startChild('downstream-stub', [join(BENCH_BUILD_DIR, 'downstream-stub.js')], {});
}

const metricsText = async (url: string): Promise<string> => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();

/** The service's store backlog, from its own /metrics. */
export async function backlog(url: string): Promise<{ inbox: number; deliveries: number }> {
  const text = await metricsText(url);
  const value = (kind: string) => Number(new RegExp(`^codat_cutover_backlog\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { inbox: value('inbox'), deliveries: value('deliveries') };
}

/**
 * Statements a process has sent to PostgreSQL so far, every kind summed: `codat_cutover_store_statements_total
 * {dialect="postgres"}` on its /metrics (the service's, and the naive baseline's, which counts its own the same way).
 */
export async function postgresStatements(url: string): Promise<number> {
  const text = await metricsText(url);
  let total = 0;
  for (const match of text.matchAll(/^codat_cutover_store_statements_total\{([^}]*)\} (\S+)$/gm)) {
    if (/(^|,)dialect="postgres"/.test(match[1] ?? '')) total += Number(match[2]);
  }
  return total;
}
