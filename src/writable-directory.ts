/**
 * Folders the service writes to are checked at start-up, so that a read-only or missing volume is
 * one clear line (which variable, which path, what is wrong) instead of a background thread that
 * dies without a reason, or deliveries that fail one by one into the dead letters.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The service cannot start in this environment; the message is the whole explanation, on one line. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied for the user the service runs as',
  EPERM: 'permission denied for the user the service runs as',
  EROFS: 'it is on a read-only file system',
  ENOTDIR: 'part of the path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
};

/**
 * Creates the folder if needed and proves it writable by writing and removing a file: permission
 * bits alone do not tell (a read-only mount, ACLs, or root, who ignores them).
 */
export function ensureWritableDirectory(variable: string, path: string, holds: string): void {
  const where = resolve(path);
  try {
    mkdirSync(where, { recursive: true });
    const probe = join(where, `.write-test-${randomBytes(6).toString('hex')}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const reason = REASONS[code] ?? (error instanceof Error ? error.message : String(error));
    throw new StartupError(`${variable}: ${where} is not a writable folder (${code ? `${code}: ` : ''}${reason}); it must hold ${holds}`);
  }
}
