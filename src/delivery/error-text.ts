import { inspect } from 'node:util';

/**
 * A failed delivery as the operator reads it in a dead letter: the error with its causes. An HTTP client may
 * wrap what happened (ECONNREFUSED, a TLS error, a reset) in an error of its own, with the rest in `cause`.
 */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    parts.push(partText(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' — caused by: ');
}

/** A thrown value that is not an Error (a plain object from a library) would otherwise read `[object Object]`. */
function partText(value: unknown): string {
  if (value instanceof Error) return String(value);
  if (typeof value === 'string') return value;
  return inspect(value, { breakLength: Infinity });
}
