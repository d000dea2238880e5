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

/**
 * With no downstream configured: one JSON line per event in a file a person can `tail -f`.
 * The delivery worker sends a claimed batch at once; the lines that are waiting are written with one
 * `appendFile` (one open/write/close for the batch instead of one per event: ~5 % of the busy time
 * under load, docs/performance.md), and each `deliver` resolves once its own line is written.
 */
export function createJsonLinesSink(path: string): DownstreamSink {
  let ready: Promise<unknown> | null = null;
  let waiting: { line: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let writing = false;

  async function writeWaiting(): Promise<void> {
    writing = true;
    try {
      ready ??= mkdir(dirname(path), { recursive: true });
      await ready;
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        try {
          await appendFile(path, batch.map((w) => w.line).join(''));
          for (const w of batch) w.resolve();
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } catch (error) {
      // The folder could not be made: fail what is waiting, try again on the next delivery.
      ready = null;
      for (const w of waiting.splice(0)) w.reject(error);
    } finally {
      writing = false;
    }
  }

  return {
    description: `file ${path}`,
    deliver(payload) {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ line: `${payload}\n`, resolve, reject });
        if (!writing) void writeWaiting();
      });
    },
  };
}
