/**
 * A real Unleash server for integration tests, without Docker.
 *
 * The server is an npm package that must stay OUT of the service's dependency tree: it is installed,
 * version pinned, into its own folder `node_modules/.cache/unleash-server/` (own package.json; npm
 * ignores dot folders, so it is not part of the service's tree). Each started server gets a fresh
 * PostgreSQL database (dropped by stop()), a free 127.0.0.1 port, random tokens, and imports
 * `flags/unleash-export.json` through IMPORT_FILE — the same provisioning as production.
 *
 * Outages: `stopProcess()` / `startProcess()` stop and start the server PROCESS only; the database, the
 * port and the tokens stay, so clients configured with `url`/`clientToken` reconnect to "the same
 * server". A restart does NOT set IMPORT_FILE unless asked: IMPORT_FILE is applied on every start and
 * writes the file's state over the database (the flag's `enabled` goes back to the file's `false`),
 * which is a re-provisioning, not an outage-and-recovery.
 *
 * PostgreSQL: `UNLEASH_IT_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), a role
 * allowed to CREATE/DROP DATABASE.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../../tools/free-port.js';

export const UNLEASH_SERVER_VERSION = '8.2.0';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const UNLEASH_SERVER_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'unleash-server');
export const FLAGS_EXPORT_FILE = join(REPO_ROOT, 'flags', 'unleash-export.json');
const SERVER_JS = join(UNLEASH_SERVER_DIR, 'node_modules', 'unleash-server', 'dist', 'server.js');
const PG_ADMIN_URL = process.env['UNLEASH_IT_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface UnleashAdmin {
  /** Turns the flag on in `development` (Admin API). */
  enable(flag: string): Promise<void>;
  disable(flag: string): Promise<void>;
  /** Replaces the flag's `development` strategies by one flexibleRollout on stickiness companyId. */
  setRollout(flag: string, percent: number): Promise<void>;
}

export interface UnleashTestServer {
  /** API base for the SDK, e.g. `http://127.0.0.1:43123/api/`. */
  readonly url: string;
  /** Backend token for `default:development`. */
  readonly clientToken: string;
  readonly adminToken: string;
  readonly database: string;
  /** The 127.0.0.1 port; kept across `stopProcess()`/`startProcess()`. */
  readonly port: number;
  /** Pid of the current (or, once stopped, the last) server process. */
  readonly pid: number;
  /** Is a server process running (started and not yet exited)? */
  readonly running: boolean;
  readonly admin: UnleashAdmin;
  /** The server's last output lines (for failure messages). */
  logs(): string;
  /**
   * Stops the server PROCESS only (by pid; SIGTERM by default, SIGKILL after 10 s), keeping its database,
   * port and tokens: an outage of the flag server. Idempotent.
   */
  stopProcess(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /**
   * Starts the server process again on the same port, database and tokens, and waits for `/health`.
   * Without `importFile` the flags stay as they were in the database (no IMPORT_FILE: it would reset
   * them to the file's state on every start). No-op while a process is running.
   */
  startProcess(options?: RestartUnleashServerOptions): Promise<void>;
  /** Stops the process (if running) and drops its database. Idempotent. */
  stop(): Promise<void>;
}

export interface RestartUnleashServerOptions {
  /** Export-format file to import at this start (IMPORT_FILE). Default: none (keep the database's flags). */
  importFile?: string;
  /** Longest wait for `/health`. Default 90 s. */
  startTimeoutMs?: number;
}

function installedVersion(): string | null {
  const pkg = join(UNLEASH_SERVER_DIR, 'node_modules', 'unleash-server', 'package.json');
  if (!existsSync(pkg) || !existsSync(SERVER_JS)) return null;
  const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
  const version = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'version') : undefined;
  return typeof version === 'string' ? version : null;
}

/** Installs unleash-server@UNLEASH_SERVER_VERSION into its cache folder unless it is there already (~25–50 s). */
export async function ensureUnleashServerInstalled(log: (line: string) => void = () => {}): Promise<string> {
  if (installedVersion() === UNLEASH_SERVER_VERSION) return SERVER_JS;
  mkdirSync(UNLEASH_SERVER_DIR, { recursive: true });
  writeFileSync(
    join(UNLEASH_SERVER_DIR, 'package.json'),
    `${JSON.stringify(
      {
        name: 'codat-cutover-unleash-server-for-tests',
        private: true,
        description: 'Installed by test/integration/support/unleash-server.ts; not a dependency of the service',
        dependencies: { 'unleash-server': UNLEASH_SERVER_VERSION },
      },
      null,
      2,
    )}\n`,
  );
  log(`installing unleash-server@${UNLEASH_SERVER_VERSION} into ${UNLEASH_SERVER_DIR} …`);
  const started = Date.now();
  await new Promise<void>((resolvePromise, reject) => {
    execFile(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', UNLEASH_SERVER_DIR],
      { cwd: UNLEASH_SERVER_DIR, timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`npm install unleash-server@${UNLEASH_SERVER_VERSION} failed: ${error.message}\n${stderr}`));
        else resolvePromise();
      },
    );
  });
  const version = installedVersion();
  if (version !== UNLEASH_SERVER_VERSION) {
    throw new Error(`unleash-server install left version ${String(version)}, expected ${UNLEASH_SERVER_VERSION}`);
  }
  log(`unleash-server@${UNLEASH_SERVER_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return SERVER_JS;
}


async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL not reachable at ${PG_ADMIN_URL} (${error instanceof Error ? error.message : String(error)}); ` +
        'start it, e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
      { cause: error },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface StartUnleashServerOptions {
  /** Export-format file imported at start-up. Default: the repo's `flags/unleash-export.json`. */
  importFile?: string;
  /** Longest wait for `/health`. Default 90 s. */
  startTimeoutMs?: number;
}

export async function startUnleashServer(options: StartUnleashServerOptions = {}): Promise<UnleashTestServer> {
  const serverJs = installedVersion() === UNLEASH_SERVER_VERSION ? SERVER_JS : await ensureUnleashServerInstalled();
  const database = `unleash_it_${process.pid}_${Date.now()}_${randomBytes(2).toString('hex')}`;
  await withPg((c) => c.query(`CREATE DATABASE "${database}"`));

  const port = await freePort();
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`;
  const clientToken = `default:development.${randomBytes(16).toString('hex')}`;
  const baseUrl = `http://127.0.0.1:${port}`;

  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
    if (output.length > 200) output.splice(0, output.length - 200);
  };

  interface RunningProcess {
    readonly pid: number;
    readonly exit: Promise<void>;
    exited: boolean;
    readonly killOnExit: () => void;
  }
  let current: RunningProcess | null = null;
  let lastPid = 0;
  let dropped = false;

  const dropDatabase = async (): Promise<void> => {
    if (dropped) return;
    await withPg((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    dropped = true;
  };

  /** Stops the current process by its pid (if any) and waits for it to exit. */
  const stopProcess = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = current;
    current = null;
    if (proc === null) return;
    process.removeListener('exit', proc.killOnExit);
    if (!proc.exited) {
      process.kill(proc.pid, signal);
      const bounded = await Promise.race([proc.exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!bounded && !proc.exited) {
        process.kill(proc.pid, 'SIGKILL');
        await proc.exit;
      }
    }
  };

  /** Spawns a server process on this port/database/tokens and waits for `/health`. */
  const spawnProcess = async (importFile: string | undefined, startTimeoutMs: number): Promise<void> => {
    const child: ChildProcess = spawn(process.execPath, [serverJs], {
      cwd: UNLEASH_SERVER_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        // As in Unleash's own image; vitest's NODE_ENV=test changes the server's behaviour.
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl(database),
        DATABASE_SSL: 'false',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        CHECK_VERSION: 'false',
        SEND_TELEMETRY: 'false',
        LOG_LEVEL: 'warn',
        INIT_ADMIN_API_TOKENS: adminToken,
        INIT_BACKEND_API_TOKENS: clientToken,
        ...(importFile !== undefined
          ? { IMPORT_FILE: importFile, IMPORT_PROJECT: 'default', IMPORT_ENVIRONMENT: 'development' }
          : {}),
      },
    });
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not spawn unleash-server');
    lastPid = pid;
    let resolveExit: () => void = () => {};
    const proc: RunningProcess = {
      pid,
      exit: new Promise<void>((r) => {
        resolveExit = r;
      }),
      exited: false,
      // If the test process dies without stop(), do not leave the server running.
      killOnExit: () => {
        if (!proc.exited) process.kill(pid, 'SIGTERM');
      },
    };
    child.once('exit', () => {
      proc.exited = true;
      resolveExit();
    });
    process.once('exit', proc.killOnExit);
    current = proc;

    // Wait for /health.
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (proc.exited) {
        await stopProcess();
        throw new Error(`unleash-server exited during start-up:\n${output.join('\n')}`);
      }
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stopProcess();
        throw new Error(`unleash-server not healthy after ${startTimeoutMs} ms:\n${output.join('\n')}`);
      }
      await sleep(200);
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcess();
    await dropDatabase();
  };

  try {
    await spawnProcess(options.importFile ?? FLAGS_EXPORT_FILE, options.startTimeoutMs ?? 90_000);
  } catch (error) {
    await dropDatabase();
    throw error;
  }

  const adminCall = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${baseUrl}/api/admin${path}`, {
      method,
      headers: { Authorization: adminToken, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Unleash Admin API ${method} ${path} → ${res.status}: ${text}`);
    return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  };
  const envPath = (flag: string): string =>
    `/projects/default/features/${encodeURIComponent(flag)}/environments/development`;

  const admin: UnleashAdmin = {
    async enable(flag) {
      await adminCall('POST', `${envPath(flag)}/on`);
    },
    async disable(flag) {
      await adminCall('POST', `${envPath(flag)}/off`);
    },
    async setRollout(flag, percent) {
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
        throw new Error(`rollout must be an integer 0–100, got ${percent}`);
      }
      const strategy = {
        name: 'flexibleRollout',
        parameters: { rollout: String(percent), stickiness: 'companyId', groupId: flag },
        constraints: [],
      };
      const env = await adminCall('GET', envPath(flag));
      const existing: unknown = typeof env === 'object' && env !== null ? Reflect.get(env, 'strategies') : undefined;
      const ids = Array.isArray(existing)
        ? existing.flatMap((s: unknown) => {
            const id = typeof s === 'object' && s !== null ? Reflect.get(s, 'id') : undefined;
            return typeof id === 'string' ? [id] : [];
          })
        : [];
      const [first, ...rest] = ids;
      // Update one strategy in place (no moment without a strategy: an enabled flag with none is on
      // for everyone), then remove the others.
      if (first === undefined) {
        await adminCall('POST', `${envPath(flag)}/strategies`, strategy);
      } else {
        await adminCall('PUT', `${envPath(flag)}/strategies/${first}`, strategy);
      }
      for (const id of rest) {
        await adminCall('DELETE', `${envPath(flag)}/strategies/${id}`);
      }
    },
  };

  return {
    url: `${baseUrl}/api/`,
    clientToken,
    adminToken,
    database,
    port,
    get pid() {
      return current?.pid ?? lastPid;
    },
    get running() {
      return current !== null && !current.exited;
    },
    admin,
    logs: () => output.join('\n'),
    stopProcess,
    async startProcess(restart: RestartUnleashServerOptions = {}) {
      if (stopped) throw new Error('startProcess() after stop(): the database is gone');
      if (current !== null && !current.exited) return;
      await spawnProcess(restart.importFile, restart.startTimeoutMs ?? 90_000);
    },
    stop,
  };
}
