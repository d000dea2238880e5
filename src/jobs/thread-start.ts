/**
 * Starts a worker thread on one of the service's entry modules, from the compiled `dist/` (production)
 * and from `src/` (tsx, vitest) alike. Node 20 does not apply `--import tsx` to a worker's entry module,
 * so a TypeScript entry is loaded by a small bootstrap that registers tsx's loader inside the worker first.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startThread(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const tsxApi = new URL('./index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api'))).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
