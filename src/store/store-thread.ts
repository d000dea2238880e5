/**
 * The store thread's entry point (a worker_threads worker, like main.ts an entry: it touches the
 * thread's port and nothing else does). It owns the one SQLite connection, so the synchronous
 * driver's statements and `fsync`s run here, off the thread that answers HTTP requests.
 * Requests are served in arrival order; the driver's queue keeps transactions serial.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Conversion } from '../domain/domain-event.js';
import type { CutoverStore, NewWebhook, StoredWebhook } from './cutover-store.js';
import { createSqlCutoverStore } from './sql-cutover-store.js';
import { createSqliteDriver } from './sqlite-driver.js';
import {
  bufferFromTransfer,
  policyFromWire,
  storedForTransfer,
  storedFromTransfer,
  type PolicyOnTheWire,
  type StoreReply,
  type StoreRequest,
  type StoreThreadSpec,
} from './store-thread-protocol.js';

type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };

function serve(store: CutoverStore, request: StoreRequest): Promise<unknown> {
  const args = request.args as unknown[];
  switch (request.method) {
    case 'append':
      return store.append((args[0] as NewWebhook[]).map((w) => ({ ...w, body: bufferFromTransfer(w.body) })));
    case 'claimPending':
      return store.claimPending(args[0] as number, args[1] as number, args[2] as number).then((rows) => rows.map(storedForTransfer));
    case 'settle':
      return store.settle(storedFromTransfer(args[0] as StoredWebhook), args[1] as Conversion, policyFromWire(args[2] as PolicyOnTheWire));
    case 'settleBatch':
      return store.settleBatch(
        (args[0] as Item[]).map((item) => ({ webhook: storedFromTransfer(item.webhook), conversion: item.conversion })),
        policyFromWire(args[1] as PolicyOnTheWire),
      );
    case 'shutdown':
      return store.close();
    default: {
      const method = store[request.method] as (...a: unknown[]) => Promise<unknown>;
      return method.apply(store, args);
    }
  }
}

const port = parentPort;
if (!port) throw new Error('store-thread.ts runs as a worker thread');
const spec = workerData as StoreThreadSpec;
const store = createSqlCutoverStore(createSqliteDriver(spec.sqlitePath));

port.on('message', (request: StoreRequest) => {
  serve(store, request)
    .then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies StoreReply),
      (error: unknown) => {
        const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
        port.postMessage({ id: request.id, ok: false, error: { name, message } } satisfies StoreReply);
      },
    )
    // Once the store is closed, nothing is left to keep the thread alive: let it end.
    .finally(() => request.method === 'shutdown' && port.close());
});
