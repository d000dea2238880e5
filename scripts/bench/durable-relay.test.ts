import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/free-port.js';
import { signedHeaders } from '../../tools/signing.js';
import { BENCH_SECRET } from './webhooks.js';

/**
 * The durable SQLite relay is a floor the service's figures are read against: if it skipped the signature or the
 * store, or delivered a redelivery again, it would be a lower bar than the one it claims to be. (That it stores
 * before, not after, its answer is the code's order, which a test from outside cannot tell apart.)
 */
describe('the durable SQLite relay (bench baseline)', () => {
  let dataDir: string;
  let relay: ChildProcess;
  let downstream: Server;
  let url: string;
  const received: { key: string | undefined; body: string }[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'durable-relay-test-'));
    downstream = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ key: req.headers['idempotency-key'] as string | undefined, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    const address = downstream.address();
    if (typeof address !== 'object' || !address) throw new Error('no downstream address');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    relay = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'baseline-server.ts'), 'durable-sqlite'], {
      env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, WEBHOOK_SECRET: BENCH_SECRET, DOWNSTREAM_URL: `http://127.0.0.1:${address.port}/` },
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let waited = 0; ; waited += 100) {
      if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
      if (waited > 20_000) throw new Error('the durable relay did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);

  afterAll(async () => {
    relay?.kill('SIGTERM');
    await new Promise<void>((resolve) => downstream?.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: string, headers: Record<string, string>) => fetch(`${url}${path}`, { method: 'POST', body, headers });
  const stored = () => {
    const db = new Database(join(dataDir, 'durable.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT id FROM webhooks ORDER BY id').all() as { id: string }[]).map((row) => row.id);
    } finally {
      db.close();
    }
  };

  it('when a signed legacy copy and its new twin arrive, then both are stored by the 202 and the legacy copy is delivered, once, whatever Codat redelivers', async () => {
    const legacy = JSON.stringify({ RuleType: 'Company Data Connection status changed' });
    const legacyHeaders = signedHeaders(legacy, { id: 'msg_legacy_1' });
    expect((await post('/webhooks/codat/legacy', legacy, legacyHeaders)).status).toBe(202);
    expect(stored()).toContain('/webhooks/codat/legacy msg_legacy_1');
    const twin = JSON.stringify({ eventType: 'connection.status-changed' });
    expect((await post('/webhooks/codat/events', twin, signedHeaders(twin, { id: 'msg_events_1' }))).status).toBe(202);
    expect(stored()).toContain('/webhooks/codat/events msg_events_1');
    await expect.poll(() => received.length).toBe(1);
    // Redelivered (the same webhook-id): answered 202, already stored, not sent again.
    expect((await post('/webhooks/codat/legacy', legacy, legacyHeaders)).status).toBe(202);
    const later = JSON.stringify({ RuleType: 'New Company Synchronised' });
    expect((await post('/webhooks/codat/legacy', later, signedHeaders(later, { id: 'msg_legacy_2' }))).status).toBe(202);
    await expect.poll(() => received.length).toBe(2);
    expect(received).toEqual([{ key: 'msg_legacy_1', body: legacy }, { key: 'msg_legacy_2', body: later }]);
    expect(stored().filter((id) => id.endsWith('msg_legacy_1'))).toHaveLength(1);
  });

  it('when a signature does not match, then it is answered 401 and nothing is stored or delivered', async () => {
    const body = JSON.stringify({ RuleType: 'Company Deleted' });
    const headers = { ...signedHeaders(body, { id: 'msg_forged' }), 'webhook-signature': 'v1,AAAA' };
    const before = received.length;
    expect((await post('/webhooks/codat/legacy', body, headers)).status).toBe(401);
    expect(stored()).not.toContain('/webhooks/codat/legacy msg_forged');
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toHaveLength(before);
  });
});
