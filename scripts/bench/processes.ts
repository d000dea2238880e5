/**
 * The processes a benchmark drives: the real service (`src/main.ts`), the baselines
 * (scripts/bench/baseline-server.ts), each a child of the bench with its own event loop, and what
 * the bench reads about them from /proc (RSS, peak RSS, CPU time). Every child runs compiled
 * JavaScript with plain `node`, as `npm start` runs the service: no loader in the figures.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../test/integration/support/service-process.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Inside the project, so that the compiled modules find node_modules. */
const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'codat-cutover-bench');

/** Compiles the service and the bench's own entry points (scripts/bench/tsconfig.json) once per run. */
export function compileForBench(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'scripts/bench/tsconfig.json', '--outDir', BUILD_DIR], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** `src/main.ts` → the compiled module's path. */
const compiled = (entry: string): string => join(BUILD_DIR, entry.replace(/^\.\//, '').replace(/\.ts$/, '.js'));

export interface Child {
  readonly name: string;
  /** Backed by the machine's PostgreSQL: its CPU is part of this side's cost. */
  readonly usesPostgres?: boolean;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
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
      if (response.ok) return;
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

export async function startChild(name: string, args: readonly string[], env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: String(port), ...env },
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
    port,
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

export interface ServiceOptions {
  readonly dataDir: string;
  readonly databaseUrl?: string;
  /** Extra node flags, e.g. `--cpu-prof --cpu-prof-dir=…`. */
  readonly nodeFlags?: readonly string[];
  readonly secret: string;
  readonly name?: string;
  /** The entry module; see `diagnostic()` for the diagnostic variants. */
  readonly entry?: string;
  /** Modules loaded after tsx and before the entry (scripts/bench/probe.ts). */
  readonly preload?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** What the diagnostic entry (scripts/bench/diagnostic-server.ts) switches off; see its header. */
export type DiagnosticVariant = 'ingest-only' | 'request-path';

/** Options that start the service as a diagnostic variant: a bound to compare against, never a way to run it. */
export function diagnostic(variant: DiagnosticVariant): Pick<ServiceOptions, 'entry' | 'env'> {
  return { entry: 'scripts/bench/diagnostic-server.ts', env: { BENCH_VARIANT: variant } };
}

/** Sent to /metrics, in case the service is configured to require it. */
export const METRICS_TOKEN = 'bench-metrics-token-0123456789';

export async function startService(options: ServiceOptions): Promise<Child> {
  const preload = (options.preload ?? []).flatMap((m) => ['--import', pathToFileURL(compiled(m)).href]);
  const child = await startChild(options.name ?? 'service', [...(options.nodeFlags ?? []), ...preload, compiled(options.entry ?? 'src/main.ts')], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATA_DIR: options.dataDir,
    DOWNSTREAM_FILE: join(options.dataDir, 'downstream.jsonl'),
    CODAT_EVENTS_SECRET: options.secret,
    CODAT_LEGACY_SECRET: options.secret,
    METRICS_TOKEN,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  return { ...child, usesPostgres: options.databaseUrl !== undefined };
}

export function startBaseline(kind: 'express' | 'http'): Promise<Child> {
  return startChild(`baseline-${kind}`, [compiled('scripts/bench/baseline-server.ts'), kind], { NODE_ENV: 'production' });
}

export interface ProcStatus {
  /** Resident set now, MB. */
  readonly rssMb: number;
  /** Peak resident set since the process started (VmHWM), MB. */
  readonly peakRssMb: number;
  /** User + system CPU time so far, seconds. */
  readonly cpuSeconds: number;
  /** The same for the main thread alone (the one that answers HTTP): the rest is worker threads, GC and libuv. */
  readonly mainThreadCpuSeconds: number;
}

const CLOCK_TICKS = 100;

export function readProc(pid: number): ProcStatus | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const cpu = (statFile: string) => parseProcessStat(readFileSync(statFile, 'utf8')).ownSeconds;
    return {
      rssMb: kb('VmRSS') / 1024,
      peakRssMb: kb('VmHWM') / 1024,
      cpuSeconds: cpu(`/proc/${pid}/stat`),
      mainThreadCpuSeconds: cpu(`/proc/${pid}/task/${pid}/stat`),
    };
  } catch {
    return null;
  }
}

/**
 * CPU seconds the whole machine has spent busy so far (every process, the kernel included; /proc/stat),
 * and its seconds in total (busy + idle, summed over cores). Shows whether the cores were the limit.
 */
export function machineCpuSeconds(): { busy: number; total: number } {
  return parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
}

/** The first (all-cores) `cpu` line of /proc/stat, in seconds. */
export function parseProcStatCpu(procStat: string): { busy: number; total: number } {
  const fields = (procStat.split('\n')[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu') throw new Error(`not /proc/stat: ${fields[0] ?? '(empty)'}`);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields.slice(1, 9).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle + iowait) / CLOCK_TICKS };
}

/** Command name and CPU seconds from one `/proc/PID/stat`: its own (`utime`, `stime`) and its ended, reaped children's (`cutime`, `cstime`). */
export function parseProcessStat(stat: string): { command: string; ownSeconds: number; reapedChildrenSeconds: number } {
  // The command may hold spaces and parentheses: it ends at the last ')'. Fields from the state (field 3) on follow.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ownSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    reapedChildrenSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
  };
}

/**
 * CPU seconds used so far by every process with this command name (e.g. all `postgres` backends), those that
 * have ended included: a backend that exits is reaped by the postmaster, whose `cutime`/`cstime` then hold its
 * CPU. Counting only live processes made the figure fall when connections closed (a drain once read −20 %).
 * A backend reaped while /proc is being read would be missed (or counted twice); the read is repeated until the
 * reaped children's total held still across it.
 */
export function cpuSecondsOf(command: string): number {
  const read = () => {
    let own = 0;
    let reaped = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = parseProcessStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
        if (stat.command !== command) continue;
        own += stat.ownSeconds;
        reaped += stat.reapedChildrenSeconds;
      } catch {
        // gone meanwhile
      }
    }
    return { own, reaped };
  };
  let last = read();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const again = read();
    if (again.reaped === last.reaped) return again.own + again.reaped;
    last = again;
  }
  return last.own + last.reaped;
}

/** Samples RSS of some processes while work runs; `stop()` returns the highest RSS seen per pid. */
export function sampleRss(pids: readonly number[], everyMs = 250) {
  const peak = new Map<number, number>(pids.map((pid) => [pid, 0]));
  const timer = setInterval(() => {
    for (const pid of pids) {
      const status = readProc(pid);
      if (status) peak.set(pid, Math.max(peak.get(pid) ?? 0, status.rssMb));
    }
  }, everyMs);
  return {
    stop(): Map<number, number> {
      clearInterval(timer);
      return peak;
    },
  };
}

/** The service's store backlog, from its own /metrics. */
export async function backlog(url: string): Promise<{ inbox: number; deliveries: number; held: number; heapUsedMb: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const value = (kind: string) => Number(new RegExp(`^codat_cutover_backlog\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  // prom-client's default process metrics: the V8 heap in use (live objects and not-yet-collected garbage).
  const heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN);
  return { inbox: value('inbox'), deliveries: value('deliveries'), held: value('held'), heapUsedMb: heapUsed / 1024 / 1024 };
}

/**
 * Waits until the inbox and the outbox are empty (held shadow copies wait for their grace period
 * and are not waited for). Resolves with the seconds it took, or null on timeout.
 */
export async function waitDrained(urls: readonly string[], timeoutMs: number): Promise<number | null> {
  const started = Date.now();
  for (;;) {
    const backlogs = await Promise.all(urls.map((url) => backlog(url).catch(() => ({ inbox: NaN, deliveries: NaN, held: NaN, heapUsedMb: NaN }))));
    if (backlogs.every((b) => b.inbox === 0 && b.deliveries === 0)) return (Date.now() - started) / 1000;
    if (Date.now() - started > timeoutMs) return null;
    // Each look costs the service a few COUNT(*)s: often at first (short drains), then once a second.
    await new Promise((r) => setTimeout(r, Date.now() - started < 2_000 ? 200 : 1_000));
  }
}
