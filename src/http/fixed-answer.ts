import type { ServerResponse } from 'node:http';

/**
 * A success answer whose body never changes, serialised once. The webhook routes give one of two such answers
 * per webhook; through `res.json` each would be stringified, its content type parsed and formatted again, and its
 * length counted. The bytes and headers on the wire are the same as `res.status(status).json(body)` gives.
 */
export function fixedJsonAnswer(status: number, body: unknown): (res: ServerResponse) => void {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  const length = String(bytes.length);
  return (res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', length);
    res.end(bytes);
  };
}
