import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly idempotencyKey: string;
  readonly body: Record<string, unknown>;
}

/** A stand-in for the existing system: records every POST and answers 200 (or fails on demand). */
export async function startDownstreamRecorder(): Promise<{ url: string; received: RecordedRequest[]; failing: { value: boolean }; close(): Promise<void> }> {
  const received: RecordedRequest[] = [];
  const failing = { value: false };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing.value) {
        res.writeHead(503).end();
        return;
      }
      received.push({ idempotencyKey: String(req.headers['idempotency-key']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    failing,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
