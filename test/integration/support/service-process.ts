/**
 * The real service as a child process (`src/main.ts` under tsx), for tests that kill it,
 * restart it or run two replicas side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../../tools/free-port.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface ServiceProcess {
  readonly url: string;
  readonly port: number;
  readonly output: () => string;
  /** Still running (it neither exited nor was killed). */
  alive(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Resolves once the service listens and, unless `waitForStore` is false, its store is past start-up
 * (`/readyz` no longer says `starting`): the service listens before its schema is migrated.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  options: { port?: number; timeoutMs?: number; waitForStore?: boolean } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited during start-up:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok && options.waitForStore === false) break;
      if (response.ok) {
        const ready = (await (await fetch(`${url}/readyz`)).json()) as { store?: string };
        if (ready.store !== 'starting') break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
