/**
 * The process entry: the only file that touches `process` (environment, signals, exit code).
 *
 * The service runs on a thread of its own (a worker), not on the process's main thread: V8 fixes the main thread's
 * heap limits when the process starts, from flags that `node dist/main.js` does not pass, and with its default
 * 4 GB limit V8 lets the heap grow to several times what is live before it collects it. A worker's heap is sized
 * from `resourceLimits` (`THREAD_HEAP_LIMITS`, src/jobs/thread-start.ts), whichever way the service is started.
 * The main thread only hands the service its signals and ends the process with the service thread's exit code.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { THREAD_HEAP_LIMITS, startThread } from './jobs/thread-start.js';

/**
 * The service's modules are imported here, on the service thread, not at the top of this file: imported
 * statically, every one of them (Express, the Unleash SDK, the store drivers, the formats' schemas) would be
 * loaded and compiled on the main thread too, which never uses them: a second copy of the whole module graph
 * in memory, and its start-up CPU, for nothing.
 */
async function main(): Promise<void> {
  const [{ ConfigError, loadConfig }, { createServices }, { createHttpServer }, { createPinoLogger }] = await Promise.all([
    import('./config.js'),
    import('./services.js'),
    import('./http/http-server.js'),
    import('./observability/json-logger.js'),
  ]);
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createPinoLogger(config.LOG_LEVEL);
  const service = await createServices(config, { logger, hooks: {
    // Requests already get 503 store_unavailable; a supervisor restarts a process that exits, not one that limps.
    onFatal: () => process.exit(1),
    // Listen while the store is prepared (a database still starting): /readyz says what start-up waits for.
    awaitStore: false,
  } });
  for (const warning of service.description.warnings as string[]) logger.warn(warning);

  // Slow or stalled clients are cut off (src/http/http-server.ts has the limits).
  const server = createHttpServer(service.app);
  // Before listening: a port that cannot be had is one line and an exit, not an unhandled 'error' with a stack.
  server.once('error', (error: NodeJS.ErrnoException) => {
    process.stderr.write(`codat-cutover failed to start: ${listenFailure(error, config.PORT, config.HOST)}\n`);
    process.exit(1);
  });
  server.listen(config.PORT, config.HOST, () => {
    logger.info('codat-cutover listening', { port: config.PORT, host: config.HOST, ...service.description });
  });
  service.start();

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    server.close();
    service
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error: String(error) });
        process.exit(1);
      });
  };
  // Signals reach the main thread only, which passes them on (hostServiceThread).
  parentPort?.on('message', (message: { signal?: unknown }) => {
    if (typeof message.signal === 'string') shutdown(message.signal);
  });
}

function hostServiceThread(): void {
  const service = startThread(new URL(import.meta.url), { argv: process.argv.slice(2), resourceLimits: THREAD_HEAP_LIMITS });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => service.postMessage({ signal }));
  // An uncaught error, or the heap's limit reached: the same exit a crash of the service would have been.
  let failed = false;
  service.on('error', (error) => {
    failed = true;
    process.stderr.write(`codat-cutover stopped: ${error.stack ?? String(error)}\n`);
  });
  service.on('exit', (code) => process.exit(failed ? 1 : code));
}

/** Why the server could not listen, in the operator's words. */
function listenFailure(error: NodeJS.ErrnoException, port: number, host: string): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `PORT ${port} on ${host} is already in use (another process listens there; stop it or set PORT)`;
    case 'EACCES':
      return `PORT ${port} on ${host} is not allowed for this user (ports below 1024 need privileges; set PORT)`;
    case 'EADDRNOTAVAIL':
      return `HOST ${host} is not an address of this machine (set HOST, e.g. 0.0.0.0)`;
    default:
      return `could not listen on ${host}:${port}: ${error.code ?? error.message}`;
  }
}

if (isMainThread) {
  hostServiceThread();
} else {
  main().catch(async (error: unknown) => {
    const { StartupError } = await import('./writable-directory.js');
    process.stderr.write(`codat-cutover failed to start: ${error instanceof StartupError ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
