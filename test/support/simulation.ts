/**
 * What the exactly-once simulations share: the real app listening on the loopback, copies posted as Codat
 * signs them (at a virtual time), and the deliveries counted per company and type.
 */
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { signedHeaders } from '../../tools/signing.js';
import type { RecordedDelivery } from './fakes.js';

export interface LoopbackServer {
  readonly baseUrl: string;
  close(): void;
}

export async function listenOnLoopback(app: Express): Promise<LoopbackServer> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** Posts one copy signed at `atMs` and returns the HTTP status, the body read to the end. */
export async function postSignedCopy(baseUrl: string, copy: { channel: 'legacy' | 'events'; body: string }, webhookId: string, atMs: number): Promise<number> {
  const response = await fetch(`${baseUrl}/webhooks/codat/${copy.channel}`, {
    method: 'POST',
    headers: signedHeaders(copy.body, { id: webhookId, timestampMs: atMs }),
    body: copy.body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** Deliveries per `companyId|type`: each simulated occurrence has a company of its own (or is counted per type). */
export function deliveriesPerCompanyAndType(deliveries: readonly RecordedDelivery[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of deliveries) {
    const key = `${String(d.body.companyId)}|${String(d.body.type)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
