/**
 * Drives load: autocannon (closed loop: a fixed number of connections, each sending its next webhook when
 * the last was answered) with a fresh signed webhook per request, and a small open-loop pacer that offers
 * a steady rate with node:http.
 */
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import type { WebhookStream } from './webhooks.js';

export interface LoadResult {
  /** 2xx answers per second over the run. */
  readonly okPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly seconds: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export interface AutocannonLoad {
  readonly url: string;
  readonly stream: WebhookStream;
  readonly connections: number;
  /** Requests to send in all. */
  readonly amount: number;
}

export async function runAutocannon(load: AutocannonLoad): Promise<LoadResult> {
  const { stream } = load;
  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (error: unknown) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // autocannon reports whole seconds, and it ends a run with `amount` only at its next one-second sample: its
  // callback comes up to a second after the last answer, so every rate was rounded down to requests ÷ a whole
  // number of seconds. The run lasts until the last answer arrived, read here from its 'response' events.
  const started = performance.now();
  let lastAnswerAt = started;
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    amount: load.amount,
    timeout: 30,
    method: 'POST',
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const webhook = stream.next();
          return { ...req, method: 'POST', path: webhook.path, headers: webhook.headers, body: webhook.body };
        },
      },
    ],
  }, (error, result) => (error ? fail(error) : finish(result)));
  instance.on('response', () => {
    lastAnswerAt = performance.now();
  });
  const result = await done;
  const seconds = (lastAnswerAt - started) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(stat?.count ?? 0);
  return {
    okPerSecond: result['2xx'] / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    seconds,
    statusCodes,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/**
 * Open loop: request i is due at start + i/rate whatever happened to earlier ones, and its latency
 * is measured from when it was due (so a stalled server shows up in the tail, no coordinated omission).
 */
export async function runPaced(load: { url: string; stream: WebhookStream; rate: number; seconds: number; maxSockets?: number }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.maxSockets ?? 256 });
  const target = new URL(load.url);
  const total = Math.round(load.rate * load.seconds);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now();

  await new Promise<void>((resolve) => {
    const send = (dueAt: number) => {
      const webhook = load.stream.next();
      const req = request(
        { agent, host: target.hostname, port: target.port, method: 'POST', path: webhook.path, headers: { ...webhook.headers, 'content-length': webhook.body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            statusCodes[status] = (statusCodes[status] ?? 0) + 1;
            if (status >= 200 && status < 300) ok += 1;
            else non2xx += 1;
            latencies.push(performance.now() - dueAt);
            if ((settled += 1) === total) resolve();
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors += 1;
        latencies.push(performance.now() - dueAt);
        if ((settled += 1) === total) resolve();
      });
      req.end(webhook.body);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * load.rate) + 1);
      while (sent < due) {
        send(start + (sent / load.rate) * 1000);
        sent += 1;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    okPerSecond: ok / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    ok,
    non2xx,
    errors,
    seconds,
    statusCodes,
  };
}
