/**
 * Starts a worker thread on one of the service's entry modules, from the compiled `dist/` (production)
 * and from `src/` (tsx, vitest) alike. Node 20 does not apply `--import tsx` to a worker's entry module,
 * so a TypeScript entry is loaded by a small bootstrap that registers tsx's loader inside the worker first.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The heap of each of the service's threads (the service thread, the background thread), bounded. Left to itself
 * V8 sizes a worker's heap like the process's (a 4 GB limit) and lets the old generation grow to several times what
 * is live before collecting it, which made the threads' garbage most of the process's resident set under load; with
 * this limit V8 collects close to what is live. The young generation is V8's full size (two 16 MB semi-spaces):
 * with half of it V8 collects it twice as often and promotes more of what a webhook holds while it waits for the
 * store or its batch, which the old generation's collector then has to mark. What is live on either thread is
 * bounded: the requests in flight and the webhooks waiting for the store (src/webhooks/inbox-writer.ts bounds
 * those, by count and by bytes), the pipeline's batches (50 webhooks, 50 deliveries).
 */
export const THREAD_HEAP_LIMITS = { maxYoungGenerationSizeMb: 48, maxOldGenerationSizeMb: 256 } as const;

export function startThread(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = new URL('./index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api'))).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
