/**
 * The downstream the service delivers to during a bench: answers 200 to every POST and keeps the distinct
 * `idempotency-key`s it saw (one per occurrence), so the bench learns when the last occurrence arrived.
 *
 *   GET  /deliveries   {"distinct": n, "received": n, "lastDistinctAt": epoch ms or null}
 *   POST /reset        forgets everything (between runs)
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 3200);
const host = process.env.HOST ?? '127.0.0.1';
let keys = new Set<string>();
let received = 0;
let lastDistinctAt: number | null = null;

const server = createServer((req, res) => {
  const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method === 'GET' && req.url === '/healthz') return answer(200, { status: 'ok' });
  if (req.method === 'GET' && req.url === '/deliveries') return answer(200, { distinct: keys.size, received, lastDistinctAt });
  if (req.method === 'POST' && req.url === '/reset') {
    keys = new Set();
    received = 0;
    lastDistinctAt = null;
    return answer(200, { status: 'reset' });
  }
  if (req.method !== 'POST') return answer(405, { code: 'method_not_allowed' });
  // The body is not needed, only read to the end so the connection can be reused.
  req.resume();
  req.on('end', () => {
    received += 1;
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string' && !keys.has(key)) {
      keys.add(key);
      lastDistinctAt = Date.now();
    }
    answer(200, { status: 'ok' });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, host);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
