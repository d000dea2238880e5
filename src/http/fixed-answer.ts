import type { ServerResponse } from 'node:http';

/**
 * A success answer whose body never changes, serialised once. The webhook routes give one of two such answers
 * per webhook; through `res.json` each would be stringified, its content type parsed and formatted again, and its
 * length counted. The status line, headers (names in Express's case) and body on the wire are the bytes
 * `res.status(status).json(body)` writes.
 */
export function fixedJsonAnswer(status: number, body: unknown): (res: ServerResponse) => void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  const length = String(bytes.length);
  return (res) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', length);
    res.end(bytes);
  };
}
