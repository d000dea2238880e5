/**
 * The baselines the service is compared with, each in its own process (its own event loop):
 *
 *   express: a bare Express 5 app, `express.json()` and `202 {"status":"accepted"}` on both webhook
 *            paths: the floor cost of "an Express app that takes JSON webhooks".
 *   http:    raw node:http: read the body, JSON.parse it, answer 202: the floor of Node itself.
 *
 *   PORT=3100 node --import tsx scripts/bench/baseline-server.ts express
 */
import { createServer } from 'node:http';
import express from 'express';

const kind = process.argv[2] ?? 'express';
const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const ACCEPTED = JSON.stringify({ status: 'accepted' });

function listenExpress() {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.post(['/webhooks/codat/legacy', '/webhooks/codat/events'], (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return app.listen(port, host);
}

function listenHttp() {
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': ACCEPTED.length }).end(ACCEPTED);
    });
  });
  return server.listen(port, host);
}

const server = kind === 'http' ? listenHttp() : listenExpress();
// Same timeouts as src/main.ts, so keep-alive behaves alike.
server.keepAliveTimeout = 5_000;
server.headersTimeout = 5_000;
server.requestTimeout = 10_000;
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
