/**
 * A diagnostic variant of the service for the benchmark: the real service (src/main.ts's
 * composition, same configuration, same request path: verify, parse, store durably, answer 202)
 * with its background work switched off: nothing is ever claimed for conversion, correlation or
 * delivery. Comparing it with the full service shows what the request path alone costs and what
 * the background pipeline takes from it. Never a way to run the service.
 *
 *   npm run bench            # runs it as the "service-ingest-only" side of the embedded comparison
 */
import { buildService } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createJsonLogger } from '../../src/observability/json-logger.js';

const config = loadConfig(process.env);
const service = await buildService(config, createJsonLogger(config.LOG_LEVEL));
// service.start() is never called: no processing, delivery, readiness monitor or retention runs.
// On PostgreSQL a stored webhook still wakes the in-process processor: give it nothing to claim.
const store = service.store as unknown as Record<string, unknown>;
store.claimPending = async () => [];
store.claimDueDeliveries = async () => [];
store.rescueDue = async () => [];

const server = service.app.listen(config.PORT, config.HOST);
server.keepAliveTimeout = 5_000;
server.headersTimeout = 5_000;
server.requestTimeout = 10_000;
const stop = () => {
  server.close();
  void service.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
