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
 *   durable-sqlite, durable-postgres:
 *            the relay plus the two things every design with the service's promises must also do before it
 *            answers: the Standard Webhooks signature checked over the raw bytes ($WEBHOOK_SECRET, the
 *            `standardwebhooks` library, which also parses the body), and the webhook on stable storage. The
 *            webhooks of one turn of the event loop are stored together, then answered 202, then each occurrence is
 *            POSTed once downstream (a redelivery, already stored, is answered 202 and not sent again). SQLite (a fresh file in $DATA_DIR, WAL) commits them in one transaction and
 *            syncs the WAL on libuv's thread pool, so the thread answers other requests meanwhile; PostgreSQL
 *            ($DATABASE_URL) takes them as text in one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`, several
 *            turns in flight on pg's default pool. No conversion, pairing, delivery outbox or retry: the floor,
 *            on each store, of the design the service's throughput targets ask for.
 *
 *   PORT=3100 node .bench-build/baseline-server.js naive
 */
import { fdatasync, openSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';

const kind = process.argv[2] ?? 'express';
const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const ACCEPTED = JSON.stringify({ status: 'accepted' });
const LEGACY_PATH = '/webhooks/codat/legacy';
const EVENTS_PATH = '/webhooks/codat/events';
const PATHS = [LEGACY_PATH, EVENTS_PATH];

/** What every Express baseline shares: the `/healthz` the bench waits on. */
function bareApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return app;
}

/** The baselines that take the body as JSON, as a team's first consumer would. */
function jsonApp(): express.Express {
  const app = bareApp();
  app.use(express.json());
  return app;
}

/**
 * The statements a PostgreSQL baseline sent (its table's creation counted), on `GET /metrics` in the service's
 * metric, for the bench's round trips per webhook.
 */
function statementMetrics(app: express.Express): { count: () => void } {
  let statements = 1;
  app.get('/metrics', (_req, res) => {
    res.type('text/plain').send(`codat_cutover_store_statements_total{dialect="postgres",kind="acknowledged"} ${statements}\n`);
  });
  return { count: () => void (statements += 1) };
}

function listenExpress(): Server {
  const app = jsonApp();
  app.post(PATHS, (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  return app.listen(port, host);
}

/** POSTs one occurrence downstream as the service's deliveries do (src/delivery/downstream-sink.ts); not retried. */
function downstreamPoster(downstreamUrl: string, name: string): (idempotencyKey: string, body: string) => void {
  let failed = 0;
  return (idempotencyKey, body) => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'user-agent': `codat-cutover-bench-${name}` };
    void request(downstreamUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })
      .then((response) => response.body.dump())
      .catch((error: unknown) => {
        // Not retried: a lost delivery shows as a run that does not finish, and here is why.
        failed += 1;
        if (failed === 1 || failed % 1000 === 0) process.stderr.write(`${name}: ${failed} deliveries failed, the last: ${String(error)}\n`);
      });
  };
}

function listenRelay(): Server {
  const downstreamUrl = process.env.DOWNSTREAM_URL;
  if (!downstreamUrl) throw new Error('the relay baseline needs DOWNSTREAM_URL');
  const app = jsonApp();
  const post = downstreamPoster(downstreamUrl, 'relay');
  // Every occurrence arrives once on each channel: its legacy copy stands for it downstream.
  app.post(LEGACY_PATH, (req, res) => {
    res.status(202).json({ status: 'accepted' });
    post(req.get('webhook-id') ?? '', JSON.stringify(req.body));
  });
  app.post(EVENTS_PATH, (_req, res) => {
    res.status(202).json({ status: 'accepted' });
  });
  return app.listen(port, host);
}

/** One webhook on its way to the store: its key (channel and webhook-id), its raw JSON, and who waits for it. */
interface Pending {
  readonly key: string;
  readonly body: string;
  /** Called once it is on stable storage (`fresh`: first stored now, not a redelivery), or could not be. */
  readonly done: (outcome: { readonly error: unknown } | { readonly fresh: boolean }) => void;
}

/** Stores one turn's webhooks together; resolves, once they are on stable storage, with the keys stored for the first time. */
type StoreBatch = (batch: readonly Pending[]) => Promise<ReadonlySet<string>>;

function sqliteBatches(dataDir: string): StoreBatch {
  const path = join(dataDir, 'durable.sqlite');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Each COMMIT only writes the WAL; the sync below makes the batch durable, off this thread. (SQLite's own
  // checkpoints, every 1,000 pages, still run and sync on this thread, as the service's do on its store's thread.)
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE webhooks (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO webhooks (id, received_at, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING');
  const insertAll = db.transaction((batch: readonly Pending[], at: number) => {
    const fresh = new Set<string>();
    for (const webhook of batch) if (insert.run(webhook.key, at, webhook.body).changes === 1) fresh.add(webhook.key);
    return fresh;
  });
  // The WAL exists once the table is created, and stays the same file while this connection is open.
  const wal = openSync(`${path}-wal`, 'r');
  return async (batch) => {
    const fresh = insertAll(batch, Date.now());
    await new Promise<void>((resolve, reject) => fdatasync(wal, (error) => (error ? reject(error) : resolve())));
    return fresh;
  };
}

function postgresBatches(pool: pg.Pool, countStatement: () => void): StoreBatch {
  return async (batch) => {
    countStatement();
    // Text, not jsonb: the body is stored as it came, as the service stores it, and the server parses nothing.
    const { rows } = await pool.query<{ id: string }>(
      'INSERT INTO webhooks (id, body) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO NOTHING RETURNING id',
      [batch.map((w) => w.key), batch.map((w) => w.body)],
    );
    return new Set(rows.map((row) => row.id));
  };
}

function listenDurable(app: express.Express, store: StoreBatch, name: string): Server {
  const downstreamUrl = process.env.DOWNSTREAM_URL;
  const secret = process.env.WEBHOOK_SECRET;
  if (!downstreamUrl || !secret) throw new Error(`the ${name} baseline needs DOWNSTREAM_URL and WEBHOOK_SECRET`);
  const verifier = new Webhook(secret);
  const post = downstreamPoster(downstreamUrl, name);
  let turn: Pending[] = [];
  const storeTurn = () => {
    const batch = turn;
    turn = [];
    store(batch).then(
      (fresh) => batch.forEach((webhook) => webhook.done({ fresh: fresh.has(webhook.key) })),
      (error: unknown) => batch.forEach((webhook) => webhook.done({ error })),
    );
  };
  app.post(PATHS, express.raw({ type: () => true }), (req, res) => {
    const raw = req.body as Buffer;
    try {
      // The library's check: the signature over the raw bytes, the timestamp's tolerance, and a JSON body.
      verifier.verify(raw, req.headers as Record<string, string>);
    } catch {
      res.status(401).json({ code: 'invalid_signature' });
      return;
    }
    const id = req.get('webhook-id') ?? '';
    const body = raw.toString('utf8');
    if (turn.length === 0) setImmediate(storeTurn);
    turn.push({
      key: `${req.path} ${id}`,
      body,
      done(outcome) {
        if ('error' in outcome) {
          res.status(503).json({ code: 'store_unavailable' });
          return;
        }
        res.status(202).json({ status: 'accepted' });
        // Every occurrence arrives once on each channel: its legacy copy stands for it downstream, once.
        if (outcome.fresh && req.path === LEGACY_PATH) post(id, body);
      },
    });
  });
  return app.listen(port, host);
}

async function listenNaive(): Promise<{ server: Server; close: () => Promise<void> }> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('the naive baseline needs DATABASE_URL');
  // pg's default pool size, as the afternoon's code would leave it.
  const pool = new pg.Pool({ connectionString: databaseUrl });
  await pool.query('CREATE TABLE IF NOT EXISTS webhooks (id text PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)');
  const app = jsonApp();
  // One statement per request (no BEGIN).
  const statements = statementMetrics(app);
  app.post(PATHS, async (req, res) => {
    try {
      statements.count();
      await pool.query('INSERT INTO webhooks (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [req.get('webhook-id') ?? '', req.body]);
      res.status(202).json({ status: 'accepted' });
    } catch {
      res.status(503).json({ code: 'store_unavailable' });
    }
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

async function listen(): Promise<{ server: Server; close: () => Promise<void> }> {
  const none = async () => undefined;
  switch (kind) {
    case 'naive':
      return listenNaive();
    case 'durable-sqlite': {
      const dataDir = process.env.DATA_DIR;
      if (!dataDir) throw new Error('the durable-sqlite baseline needs DATA_DIR');
      return { server: listenDurable(bareApp(), sqliteBatches(dataDir), kind), close: none };
    }
    case 'durable-postgres': {
      const databaseUrl = process.env.DATABASE_URL;
      if (!databaseUrl) throw new Error('the durable-postgres baseline needs DATABASE_URL');
      const pool = new pg.Pool({ connectionString: databaseUrl });
      // An idle client's connection lost: the next query fails and is answered 503, the process goes on.
      pool.on('error', () => undefined);
      await pool.query('CREATE TABLE IF NOT EXISTS webhooks (id text PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)');
      const app = bareApp();
      // One statement per turn of the event loop.
      const statements = statementMetrics(app);
      return { server: listenDurable(app, postgresBatches(pool, statements.count), kind), close: () => pool.end() };
    }
    case 'http':
      return { server: listenHttp(), close: none };
    case 'relay':
      return { server: listenRelay(), close: none };
    default:
      return { server: listenExpress(), close: none };
  }
}

const { server, close } = await listen();
// Same timeouts as the service, so keep-alive behaves alike.
server.keepAliveTimeout = 5_000;
server.headersTimeout = 5_000;
server.requestTimeout = 10_000;
const stop = () => server.close(() => void close().finally(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
