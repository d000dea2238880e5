import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The existing system. `deliver` resolves when it accepted the event and throws otherwise. */
export interface DownstreamSink {
  readonly description: string;
  deliver(payload: string, idempotencyKey: string): Promise<void>;
}

export class DownstreamRejected extends Error {
  constructor(readonly status: number) {
    super(`downstream answered HTTP ${status}`);
    this.name = 'DownstreamRejected';
  }
}

/** POSTs one JSON event per request; 2xx means delivered. */
export function createHttpSink(url: string, timeoutMs: number): DownstreamSink {
  return {
    description: url,
    async deliver(payload, idempotencyKey) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new DownstreamRejected(response.status);
    },
  };
}

/** With no downstream configured: one JSON line per event in a file a person can `tail -f`. */
export function createJsonLinesSink(path: string): DownstreamSink {
  let ready: Promise<unknown> | null = null;
  return {
    description: `file ${path}`,
    async deliver(payload) {
      ready ??= mkdir(dirname(path), { recursive: true });
      await ready;
      await appendFile(path, `${payload}\n`);
    },
  };
}
