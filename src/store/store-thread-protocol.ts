/**
 * What crosses the thread boundary between the service and its store thread
 * (src/store/threaded-store.ts ↔ src/store/store-thread.ts). Plain data only: structured clone
 * turns a Buffer into a Uint8Array, so bodies are copied into exact-size arrays on the way out
 * (a pooled Buffer would otherwise drag its whole 8 KiB pool across) and rewrapped on the way in.
 */
import type { Channel, Conversion } from '../domain/domain-event.js';
import type { CutoverStore, LedgerPolicy, StoredWebhook } from './cutover-store.js';

/** Which store the thread opens. Only the embedded one: its driver is synchronous and would hold the event loop. */
export interface StoreThreadSpec {
  readonly sqlitePath: string;
}

export type StoreMethod = Exclude<keyof CutoverStore, 'close'> | 'shutdown';

export interface StoreRequest {
  readonly id: number;
  readonly method: StoreMethod;
  readonly args: readonly unknown[];
}

export type StoreReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly message: string } };

/**
 * The toggle lives in the service's thread, so `LedgerPolicy.primaryFor` cannot be called from the
 * store thread. Each event's primary channel is read just before the batch is sent (one toggle
 * evaluation per event, as in-process) and travels with it.
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
