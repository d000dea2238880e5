/**
 * The baselines the service is compared with, each in its own process (its own event loop):
 *
 *   express: a bare Express 5 app, `express.json()` and `202 {"status":"accepted"}` on both webhook paths:
 *            the limit of a Node HTTP process that takes JSON webhooks and stores nothing.
 *   naive:   the same plus one PostgreSQL `INSERT … ON CONFLICT DO NOTHING` per request before the 202 (on
 *            $DATABASE_URL): the durable consumer a team writes in an afternoon, with no signature check,
 *            no conversion and no delivery. GET /metrics counts its statements as the service does.
 *   http:    raw node:http: read the body, JSON.parse it, answer 202: the floor of Node itself.
 *   relay:   bare Express that also POSTs each occurrence once to $DOWNSTREAM_URL (its legacy copy, keyed by
 *            its `webhook-id`), on undici's kept-alive connections as the service does, after the 202: the
 *            floor of any one process that takes webhooks in and delivers them over HTTP, with nothing stored,
 *            checked, converted or paired, and nothing retried.
 *
 *   PORT=3100 node .bench-build/baseline-server.js naive
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import pg from 'pg';
import { request } from 'undici';

const kind = process.argv[2] ?? 'express';
const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const ACCEPTED = JSON.stringify({ status: 'accepted' });
const LEGACY_PATH = '/webhooks/codat/legacy';
const EVENTS_PATH = '/webhooks/codat/events';
const PATHS = [LEGACY_PATH, EVENTS_PATH];

/** What every Express baseline shares: `express.json()` and the `/healthz` the bench waits on. */
function jsonApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return app;
}

function listenExpress(): Server {
  const app = jsonApp();
  app.post(PATHS, (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  return app.listen(port, host);
}

function listenRelay(): Server {
  const downstreamUrl = process.env.DOWNSTREAM_URL;
  if (!downstreamUrl) throw new Error('the relay baseline needs DOWNSTREAM_URL');
  const app = jsonApp();
  let failed = 0;
  // Every occurrence arrives once on each channel: its legacy copy stands for it downstream.
  app.post(LEGACY_PATH, (req, res) => {
    res.status(202).json({ status: 'accepted' });
    // The headers and the per-request timeout the service's deliveries carry (src/delivery/downstream-sink.ts).
    const headers = { 'content-type': 'application/json', 'idempotency-key': req.get('webhook-id') ?? '', 'user-agent': 'codat-cutover-bench-relay' };
    void request(downstreamUrl, { method: 'POST', headers, body: JSON.stringify(req.body), signal: AbortSignal.timeout(10_000) })
      .then((response) => response.body.dump())
      .catch((error: unknown) => {
        // Not retried: a lost delivery shows as a run that does not finish, and here is why.
        failed += 1;
        if (failed === 1 || failed % 1000 === 0) process.stderr.write(`relay: ${failed} deliveries failed, the last: ${String(error)}\n`);
      });
  });
  app.post(EVENTS_PATH, (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  return app.listen(port, host);
}

async function listenNaive(): Promise<{ server: Server; close: () => Promise<void> }> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('the naive baseline needs DATABASE_URL');
  // pg's default pool size, as the afternoon's code would leave it.
  const pool = new pg.Pool({ connectionString: databaseUrl });
  // Its statements, for the bench's round trips per webhook, in the service's metric: one per request (no BEGIN).
  let statements = 1;
  await pool.query('CREATE TABLE IF NOT EXISTS webhooks (id text PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)');
  const app = jsonApp();
  app.post(PATHS, async (req, res) => {
    try {
      statements += 1;
      await pool.query('INSERT INTO webhooks (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [req.get('webhook-id') ?? '', req.body]);
      res.status(202).json({ status: 'accepted' });
    } catch {
      res.status(503).json({ code: 'store_unavailable' });
    }
  });
  app.get('/metrics', (_req, res) => {
    res.type('text/plain').send(`codat_cutover_store_statements_total{dialect="postgres",kind="acknowledged"} ${statements}\n`);
  });
  return { server: app.listen(port, host), close: () => pool.end() };
}

function listenHttp(): Server {
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

const { server, close } = kind === 'naive' ? await listenNaive() : { server: kind === 'http' ? listenHttp() : kind === 'relay' ? listenRelay() : listenExpress(), close: async () => undefined };
// Same timeouts as the service, so keep-alive behaves alike.
server.keepAliveTimeout = 5_000;
server.headersTimeout = 5_000;
server.requestTimeout = 10_000;
const stop = () => server.close(() => void close().finally(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
