import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StartupError, ensureWritableDirectory } from '../../src/writable-directory.js';

describe('ensureWritableDirectory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-writable-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the folder does not exist, then it is created and nothing is left behind by the check', () => {
    const target = join(dir, 'a', 'b');
    ensureWritableDirectory('DATA_DIR', target, 'the embedded store');
    expect(existsSync(target)).toBe(true);
    expect(readdirSync(target)).toEqual([]);
  });

  it('when part of the path is a file, then one line names the variable, the path and what is wrong', () => {
    writeFileSync(join(dir, 'file'), '');
    const target = join(dir, 'file', 'data');
    let thrown: unknown;
    try {
      ensureWritableDirectory('DATA_DIR', target, 'the embedded store (cutover.sqlite)');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartupError);
    expect((thrown as Error).message).toBe(
      `DATA_DIR: ${target} is not a writable folder (ENOTDIR: part of the path is a file, not a folder); it must hold the embedded store (cutover.sqlite)`,
    );
  });

  it('when the path is a file, then it says so', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(() => ensureWritableDirectory('DOWNSTREAM_FILE', join(dir, 'file'), 'the JSON-lines downstream')).toThrow(/ENOTDIR|EEXIST/);
  });
});
