import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The existing system. `deliver` resolves when it accepted the event and throws otherwise. */
export interface DownstreamSink {
  readonly description: string;
  deliver(payload: string, idempotencyKey: string): Promise<void>;
}

export class DownstreamRejected extends Error {
  constructor(
    readonly status: number,
    /** For a 3xx: where the downstream pointed, so that a misconfigured DOWNSTREAM_URL shows in the dead letter. */
    readonly location: string | null = null,
  ) {
    super(
      location === null
        ? `downstream answered HTTP ${status}`
        : `downstream answered HTTP ${status} redirecting to ${location}: redirects are not followed, set DOWNSTREAM_URL to the final address`,
    );
    this.name = 'DownstreamRejected';
  }
}

/** Long enough for any sane URL, short enough for a log line and the dead-letter list. */
const MAX_LOCATION_LENGTH = 500;

/** The `Location` of a redirect, absolute (a relative one is resolved against the URL posted to), or `(none)`. */
function redirectTarget(location: string | null, url: string): string {
  if (location === null || location === '') return '(none)';
  let target: string;
  try {
    target = new URL(location, url).href;
  } catch {
    target = location;
  }
  return target.length > MAX_LOCATION_LENGTH ? `${target.slice(0, MAX_LOCATION_LENGTH)}…` : target;
}

/**
 * POSTs one JSON event per request; 2xx means delivered. A redirect is never followed: `fetch`
 * would follow a 301/302/303 as a GET without the body, and the landing page's 200 would count
 * as delivered while the event was lost. Every 3xx is a failed attempt, retried and in the end
 * dead-lettered like any other, with the status and the `Location` in its error.
 */
export function createHttpSink(url: string, timeoutMs: number): DownstreamSink {
  return {
    description: url,
    async deliver(payload, idempotencyKey) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 300 && response.status < 400) {
        throw new DownstreamRejected(response.status, redirectTarget(response.headers.get('location'), url));
      }
      if (!response.ok) throw new DownstreamRejected(response.status);
    },
  };
}

/**
 * With no downstream configured: one JSON line per event in a file a person can `tail -f`.
 * The delivery worker sends a claimed batch at once; the lines that are waiting are written with one
 * `appendFile` (one open/write/close for the batch instead of one per event), and each `deliver`
 * resolves once its own line is written.
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
