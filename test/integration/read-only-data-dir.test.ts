/**
 * The real process (`src/main.ts`) started on a DATA_DIR it cannot write: it must stop at once with
 * one line that says which variable, which path and what is wrong. Permission bits do not bind root,
 * so when the suite runs as root the service runs as `nobody` (the folder is then root's, mode 0555).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/free-port.js';

const ROOT = join(import.meta.dirname, '..', '..');

function runService(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'runuser' : process.execPath;
  const node = ['--import', 'tsx', 'src/main.ts'];
  const args = asRoot ? ['-u', 'nobody', '--', process.execPath, ...node] : node;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A service that starts anyway would listen forever: ended here, and the assertions below fail.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('a read-only DATA_DIR at start-up', () => {
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'cutover-readonly-'));
    // mkdtemp makes 0700: the service (maybe another user) must be able to reach the folder inside.
    chmodSync(parent, 0o755);
  });
  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it('when DATA_DIR cannot be written, then the service exits at once with one line naming DATA_DIR, the path and the reason', async () => {
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o555);
    const { code, stderr, stdout } = await runService({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()) });

    expect(code).toBe(1);
    expect(stderr).toBe(
      `codat-cutover failed to start: DATA_DIR: ${dataDir} is not a writable folder (EACCES: permission denied for the user the service runs as); ` +
        'it must hold the embedded store (cutover.sqlite) and the JSON-lines downstream (downstream.jsonl)\n',
    );
    expect(stdout).not.toContain('listening');
  });
});
