/**
 * The cross-channel ledger's rules: given what is known of one occurrence and a new copy of it,
 * decide whether the copy is delivered, held for the primary copy, or only recorded.
 *
 * Pure: the store runs this inside the transaction that locks the occurrence, so replicas that
 * disagree about the toggle still produce one delivery per occurrence (the first decision to
 * deliver wins, every later copy sees `deliveredVia` set). docs/correlation.md explains why.
 */
import { v5 as uuidv5 } from 'uuid';
import type { Carriage, Channel, DomainEvent } from './domain-event.js';

/** Namespace of the deterministic occurrence ids (UUIDv5 over the correlation key). */
const OCCURRENCE_NAMESPACE = '6f3d2a4e-9a51-4c1e-8d0b-2b7c9e1f4a60';

/**
 * Strong keys name one occurrence forever: its id is derived from the key alone, so both channels
 * compute the same id. Windowed keys can repeat, so the id is derived from the first copy seen.
 */
export function occurrenceIdFor(event: DomainEvent, firstCopyRef: string): string {
  const name = event.keyStrength === 'strong' ? event.correlationKey : `${event.correlationKey}|${firstCopyRef}`;
  // Over the UTF-8 bytes, which is what uuid hashes for a string too (the same ids), except that a lone
  // surrogate becomes U+FFFD instead of making uuid's encodeURIComponent throw a URIError.
  return uuidv5(Buffer.from(name, 'utf8'), OCCURRENCE_NAMESPACE);
}

export type DeliveryReason = 'primary' | 'only-channel' | 'rescued';

export type CopyDecision =
  /** Deliver this copy now. */
  | { readonly action: 'deliver'; readonly reason: Exclude<DeliveryReason, 'rescued'> }
  /** The occurrence was already delivered from another copy: counted as a match, not delivered. */
  | { readonly action: 'match' }
  /** A copy from this channel was already recorded (e.g. legacy TimedOut sent by two rules). */
  | { readonly action: 'duplicate' }
  /** Shadow copy of a type the primary channel carries: wait for the primary copy, rescue at `rescueAt`. */
  | { readonly action: 'hold'; readonly rescueAt: number }
  /** Shadow copy of a type the primary channel never carries: recorded and counted, never delivered. */
  | { readonly action: 'shadow' };

export interface CopyContext {
  readonly carriage: Carriage;
  readonly channel: Channel;
  /** The primary channel for this occurrence's company, read from the toggle when this copy is processed. */
  readonly primary: Channel;
  readonly alreadyDelivered: boolean;
  readonly channelAlreadySeen: boolean;
  /** The rescue deadline already set by an earlier held copy, if any. */
  readonly existingRescueAt: number | null;
  readonly arrivedAt: number;
  readonly graceMs: number;
}

export function decideCopy(ctx: CopyContext): CopyDecision {
  if (ctx.channelAlreadySeen) return { action: 'duplicate' };
  if (ctx.alreadyDelivered) return { action: 'match' };
  switch (ctx.carriage) {
    case 'legacy-only':
      // Nothing replaces these: the legacy channel delivers them in every phase.
      return { action: 'deliver', reason: 'only-channel' };
    case 'events-only':
      return ctx.primary === 'events' ? { action: 'deliver', reason: 'only-channel' } : { action: 'shadow' };
    case 'both':
      if (ctx.channel === ctx.primary) return { action: 'deliver', reason: 'primary' };
      return { action: 'hold', rescueAt: ctx.existingRescueAt ?? ctx.arrivedAt + ctx.graceMs };
  }
}
