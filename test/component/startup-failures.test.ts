/**
 * What an operator reads when the service cannot start: the real process (`src/main.ts` under tsx), its
 * exit code and its output. One line per problem, no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { refusingPort } from '../../tools/free-port.js';

const ROOT = join(import.meta.dirname, '..', '..');

function runService(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('start-up failures, as the process reports them', () => {
  let dataDir: string | undefined;
  let occupier: Server | undefined;
  afterEach(async () => {
    if (occupier) await new Promise((resolve) => occupier?.close(resolve));
    occupier = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('when PORT is already in use, then the process says so in one line and exits 1, with no stack trace', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-port-'));
    const server = createServer();
    occupier = server;
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    const { code, stderr } = await runService({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`PORT ${port} on 127.0.0.1 is already in use`);
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 40_000);

  it('when the configuration is wrong, then every problem is listed, one line each, and the process exits 2', async () => {
    const { code, stderr } = await runService({ PORT: 'abc', DOWNSTREAM_URL: 'localhost:8080', UNLEASH_URL: 'unleash:4242' });
    expect(code).toBe(2);
    expect(stderr).toContain('PORT: got "abc"; expected a whole number from 0 to 65535');
    expect(stderr).toContain('DOWNSTREAM_URL: got "localhost:8080"');
    expect(stderr).toContain('did you mean http://unleash:4242?');
    expect(stderr).toContain('UNLEASH_API_TOKEN: got nothing (unset)');
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 40_000);

  it('when DATABASE_URL refuses connections, then start-up names PostgreSQL and its address, says it retries, gives up after its time and exits 1', async () => {
    const port = await refusingPort();
    const { code, stdout, stderr } = await runService({
      DATABASE_URL: `postgres://cutover:do-not-print@127.0.0.1:${port}/cutover`,
      STORE_START_TIMEOUT_SECONDS: '2',
      LOG_LEVEL: 'info',
    });
    expect(code).toBe(1);
    const output = stdout + stderr;
    expect(output).toMatch(new RegExp(`waiting for PostgreSQL at 127\\.0\\.0\\.1:${port} \\(DATABASE_URL\\) \\(attempt 1, next in [\\d.]+ s, giving up in [\\d.]+ s\\): .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    expect(output).toContain(`PostgreSQL at 127.0.0.1:${port} (DATABASE_URL) did not become ready within 2 s; giving up`);
    expect(output).not.toContain('do-not-print');
  }, 40_000);
});
