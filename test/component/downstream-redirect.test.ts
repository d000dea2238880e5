/**
 * A downstream that redirects, through the real delivery path: the webhook is posted to the app,
 * converted, and delivered by the HTTP sink to a server on 127.0.0.1. `fetch` would follow a
 * 301/302/303 as a GET without the body, and the landing page's 200 would count as delivered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpSink } from '../../src/delivery/downstream-sink.js';
import { sampleText } from '../support/samples.js';
import { signedHeaders } from '../../tools/signing.js';
import { buildTestService, type TestService } from '../support/test-service.js';

interface RedirectingDownstream {
  readonly url: string;
  /** Every request that reached the landing page, with its method and body. */
  readonly landed: { method: string; body: string }[];
  /** Every request to the configured URL. */
  readonly posted: number[];
  close(): Promise<void>;
}

/** `POST /events` answers `status` with `Location: /landing`; `/landing` answers 200 to anything. */
async function startRedirectingDownstream(status: number): Promise<RedirectingDownstream> {
  const landed: { method: string; body: string }[] = [];
  const posted: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/landing') {
        landed.push({ method: req.method ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'text/html' }).end('<p>welcome</p>');
        return;
      }
      posted.push(status);
      res.writeHead(status, { location: '/landing' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    landed,
    posted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a downstream that redirects', () => {
  let service: TestService | undefined;
  let downstream: RedirectingDownstream | undefined;
  afterEach(async () => {
    await service?.close();
    await downstream?.close();
    service = undefined;
    downstream = undefined;
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`when the downstream answers ${status}, then nothing counts as delivered, the redirect is not followed, and the dead letter names the status and the Location`, async () => {
      downstream = await startRedirectingDownstream(status);
      service = await buildTestService({ downstream: createHttpSink({ url: downstream.url, timeoutMs: 5000, userAgent: 'codat-cutover/test' }), maxAttempts: 2 });
      const body = sampleText('legacy-SyncCompleted');
      const accepted = await request(service.app).post('/webhooks/codat/legacy').set(signedHeaders(body, { timestampMs: service.clock.now() })).send(body);
      expect(accepted.status).toBe(202);

      await service.settle();
      // The first attempt failed and waits for its retry (the existing backoff); the second is the last.
      service.clock.advance(60_000);
      await service.delivery.tick();

      expect(downstream.posted).toEqual([status, status]);
      expect(downstream.landed).toEqual([]);
      const delivered = (await service.metrics.deliveries.get()).values.find((v) => v.labels.outcome === 'delivered')?.value ?? 0;
      expect(delivered).toBe(0);
      const counts = await service.store.counts();
      expect(counts.deadLetters).toBe(1);
      const [dead] = await service.store.listDeadLetters(10);
      expect(dead?.attempts).toBe(2);
      expect(dead?.lastError).toContain(`HTTP ${status}`);
      expect(dead?.lastError).toContain(`redirecting to ${downstream.url.replace('/events', '/landing')}`);
    });
  }
});
