/**
 * A PostgreSQL cluster of a test's own (initdb into a temporary directory, its own port), for tests
 * that restart, terminate or freeze the database: the shared server at 127.0.0.1:5432 is never
 * disturbed. Run as root (CI), the server runs as the `postgres` OS user, which initdb requires.
 * Only the processes this module started are signalled: the postmaster it spawned and that
 * postmaster's children.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../../tools/free-port.js';

export interface PrivatePostgres {
  /** postgres://…/postgres on the private cluster. */
  readonly url: string;
  readonly port: number;
  /** Ends every backend of `database` (pg_terminate_backend); returns how many. */
  terminateBackends(database?: string): Promise<number>;
  /** Fast shutdown (SIGINT to the postmaster); waits for it to exit. */
  stop(): Promise<void>;
  /** Starts the cluster again on the same port and waits until it accepts connections; nothing if it runs. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT to the postmaster and all its backends: a server that is there but answers nothing. */
  freeze(): void;
  thaw(): void;
  /** Stops the cluster and removes its directory. Idempotent. */
  destroy(): Promise<void>;
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(`no PostgreSQL binaries under ${root}/*/bin (apt-get install postgresql)`);
}

/** uid/gid of the `postgres` OS user when running as root (initdb refuses root), else nothing. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) throw new Error('running as root, but there is no `postgres` OS user to run the server as');
  return { uid, gid };
}

/** The pids whose parent is `parent` (Linux /proc). */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may contain spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'cutover-private-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8',
    ...(user ?? {}),
    cwd: dir,
  });
  if (init.status !== 0) throw new Error(`initdb failed (${String(init.status)}):\n${init.stdout}\n${init.stderr}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let server: ChildProcess | null = null;
  let output = '';
  let destroyed = false;

  const accepts = async (): Promise<boolean> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const running = () => server !== null && server.exitCode === null && server.signalCode === null;
  const start = async () => {
    if (running()) return;
    output = '';
    const child = spawn(
      join(bin, 'postgres'),
      // fsync off: this cluster's durability is not what these tests are about, and it is thrown away.
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50'],
      { ...(user ?? {}), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server = child;
    // A test run that ends abruptly (an uncaught error, process.exit) must not leave the server behind.
    const stopOnExit = () => child.kill('SIGINT');
    process.once('exit', stopOnExit);
    child.once('exit', () => process.off('exit', stopOnExit));
    const deadline = Date.now() + 30_000;
    while (!(await accepts())) {
      if (child.exitCode !== null) throw new Error(`the private PostgreSQL exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the private PostgreSQL did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async () => {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT'); // a frozen server would never act on the shutdown
    child.kill('SIGINT');
    await exited;
    server = null;
  };

  const signalAll = (signal: NodeJS.Signals) => {
    const pid = server?.pid;
    if (!running() || pid === undefined) throw new Error('the private PostgreSQL is not running');
    // The backends first when freezing (none can answer once its postmaster stopped), the postmaster first when thawing.
    const targets = signal === 'SIGSTOP' ? [...childrenOf(pid), pid] : [pid, ...childrenOf(pid)];
    for (const target of targets) {
      try {
        process.kill(target, signal);
      } catch {
        // ended meanwhile
      }
    }
  };

  await start();
  return {
    url,
    port,
    async terminateBackends(database) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // Materialised first: in one WHERE, PostgreSQL may call pg_terminate_backend before it excludes this backend.
        const result = await client.query<{ pid: number }>(
          `WITH targets AS MATERIALIZED (
             SELECT pid FROM pg_stat_activity
              WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' AND ($1::text IS NULL OR datname = $1))
           SELECT pid FROM targets WHERE pg_terminate_backend(pid)`,
          [database ?? null],
        );
        return result.rowCount ?? 0;
      } finally {
        await client.end();
      }
    },
    stop,
    start,
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
