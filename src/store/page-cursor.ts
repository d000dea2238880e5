/**
 * Keyset pages for the operator's lists (dead letters, quarantine): an opaque cursor, a bounded page.
 */
export const MAX_PAGE = 500;

export interface Page<T> {
  readonly entries: readonly T[];
  /** Pass as `after` for the next page; null on the last one. */
  readonly next: string | null;
}

export const encodeCursor = (parts: readonly (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(cursor: string | undefined): unknown[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(parts) ? parts : null;
  } catch {
    return null;
  }
}

export class InvalidCursor extends Error {
  constructor() {
    super('The `after` cursor is not one this service gave out.');
    this.name = 'InvalidCursor';
  }
}

export const placeholders = (from: number, count: number) => Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
export const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
