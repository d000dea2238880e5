/**
 * What crosses the boundary between the service's thread and its background thread
 * (background-handle.ts ↔ background-thread.ts). Plain data only: structured clone turns a Buffer
 * into a Uint8Array, so bodies are copied into exact-size arrays on the way out (a pooled Buffer
 * would otherwise drag its whole 8 KiB pool across) and rewrapped on the way in.
 */
import type { Channel, Conversion } from '../domain/domain-event.js';
import type { PipelineSpec } from './pipeline.js';
import type { CutoverStore, LedgerPolicy, StoredWebhook } from '../cutover-store.js';
import type { PostgresTimeouts } from '../store/postgres-driver.js';
import type { LogLevel } from '../observability/json-logger.js';

/**
 * The store the thread opens: the embedded one, which it owns (its driver is synchronous: on the HTTP
 * thread it would hold the event loop), or a PostgreSQL database, which the service's thread opens
 * too (a pool each): there the thread only runs the pipeline, and no body crosses threads.
 */
export type BackgroundStore =
  | { readonly sqlitePath: string }
  | { readonly postgres: { readonly url: string; readonly timeouts: PostgresTimeouts } };

export type BackgroundSpec = BackgroundStore & {
  /** Absent: the thread only serves the store (the contract tests). */
  readonly pipeline?: PipelineSpec;
  /** The service's clock when it is a shiftable one (src/domain/shiftable-clock.ts); absent: the system clock. */
  readonly clockOffset?: SharedArrayBuffer;
  /** LOG_LEVEL: the thread's lines at this level and above go to the service thread's logger; absent: info. */
  readonly logLevel?: LogLevel;
};

export type ControlMethod = 'startPipeline' | 'stopPipeline' | 'runJob' | 'metrics' | 'shutdown';
export type ThreadMethod = Exclude<keyof CutoverStore, 'close'> | ControlMethod;

/** Service thread → background thread. */
export type ToBackground =
  | { readonly kind: 'call'; readonly id: number; readonly method: ThreadMethod; readonly args: readonly unknown[] }
  /** `legacyConsumer`: codat-legacy-consumer read with the channels (absent: on). */
  | { readonly kind: 'primaries'; readonly id: number; readonly channels: readonly Channel[]; readonly legacyConsumer?: boolean }
  /** The toggle could not be read: the batch fails and is claimed again later. */
  | { readonly kind: 'primaries-failed'; readonly id: number; readonly message: string }
  /** A webhook was stored by the service's thread (PostgreSQL): settle soon. No reply. */
  | { readonly kind: 'wake' };

/** Background thread → service thread. */
export type FromBackground =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly message: string } }
  /** The toggle lives on the service's thread: the processor asks it before settling a batch. */
  | { readonly kind: 'primaries'; readonly id: number; readonly companyIds: readonly (string | null)[] }
  | { readonly kind: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string; readonly fields?: Record<string, unknown> };

/**
 * A `LedgerPolicy` callback cannot cross threads: each event's primary channel is read before the
 * batch is sent (one toggle evaluation per event, as in-process) and travels with it.
 */
export interface PolicyOnTheWire {
  readonly graceMs: number;
  readonly windowMs: number;
  /** `companyId` (or '' for client-level events) → primary channel. */
  readonly primaries: Readonly<Record<string, Channel>>;
}

const CLIENT_LEVEL = '';
const keyOf = (companyId: string | null) => companyId ?? CLIENT_LEVEL;

export function policyToWire(conversions: readonly Conversion[], policy: LedgerPolicy): PolicyOnTheWire {
  const primaries: Record<string, Channel> = {};
  for (const conversion of conversions) {
    if (conversion.kind !== 'converted') continue;
    for (const event of conversion.events) primaries[keyOf(event.companyId)] = policy.primaryFor(event.companyId);
  }
  return { graceMs: policy.graceMs, windowMs: policy.windowMs, primaries };
}

export function policyFromWire(wire: PolicyOnTheWire): LedgerPolicy {
  return {
    graceMs: wire.graceMs,
    windowMs: wire.windowMs,
    primaryFor(companyId) {
      const primary = wire.primaries[keyOf(companyId)];
      if (!primary) throw new Error(`no primary channel was sent for company ${String(companyId)}`);
      return primary;
    },
  };
}

/** An exact-size copy: what structured clone should carry. */
export const bytesForTransfer = (body: Uint8Array): Uint8Array => body.slice();

/** Back to a Buffer, without copying. */
export const bufferFromTransfer = (body: Uint8Array): Buffer => Buffer.from(body.buffer, body.byteOffset, body.byteLength);

export function storedForTransfer(webhook: StoredWebhook): StoredWebhook {
  return { ...webhook, body: bytesForTransfer(webhook.body) as Buffer };
}

export function storedFromTransfer(webhook: StoredWebhook): StoredWebhook {
  return { ...webhook, body: bufferFromTransfer(webhook.body) };
}
