/**
 * Diagnostic variants of the service for the benchmark, never a way to run it. Each is the real service
 * (src/main.ts's composition, same configuration, same request path: check the signature, parse, detect the
 * format, group commit, answer 202) with a part switched off, chosen by BENCH_VARIANT:
 *
 * - `ingest-only`: no background work. Webhooks are stored durably, but nothing is ever claimed for
 *   conversion (schema validation included), correlation or delivery. Against the full service: what the request
 *   path and the append cost, and what the background pipeline takes from them.
 * - `request-path`: not even the append. The store's `append` answers "stored" at once from memory, so nothing
 *   is kept and nothing is handed to the background thread. Against Express: what the request path costs.
 *   Against the full service: what storing and processing cost, whatever the store.
 *
 *   npm run bench            # runs them as the "ingest-only-*" and "request-path-only" sides
 */
import { buildService } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createPinoLogger } from '../../src/observability/json-logger.js';
import type { AppendResult, CutoverStore, NewWebhook } from '../../src/store/cutover-store.js';

const variant = process.env.BENCH_VARIANT;
if (variant !== 'ingest-only' && variant !== 'request-path') throw new Error(`BENCH_VARIANT must be ingest-only or request-path, not ${variant}`);

const config = loadConfig(process.env);
const service = await buildService(config, createPinoLogger(config.LOG_LEVEL));
// service.start() is never called: no processing, delivery, readiness monitor or retention runs.
// On PostgreSQL a stored webhook still wakes the in-process processor: give it nothing to claim.
const nothingToClaim = async () => [];
const switchedOff: Partial<CutoverStore> = { claimPending: nothingToClaim, claimDueDeliveries: nothingToClaim, rescueDue: nothingToClaim };
if (variant === 'request-path') {
  let lastId = 0;
  switchedOff.append = async (webhooks: readonly NewWebhook[]): Promise<AppendResult[]> => webhooks.map(() => ({ status: 'stored', inboxId: ++lastId }));
}
// The inbox writer and the processor call the store through this object, so the replacements take effect.
Object.assign(service.store, switchedOff);

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
