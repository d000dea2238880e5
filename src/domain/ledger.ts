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

// --- Pairing: which occurrence a new copy belongs to ------------------------------------------

/** Codat's new service: each attempt waits this long after the previous one failed (REFERENCE §8.1). */
const MINUTE_MS = 60_000;
export const CODAT_RETRY_DELAYS_MS: readonly number[] = [0, 5_000, 5 * MINUTE_MS, 30 * MINUTE_MS, 120 * MINUTE_MS, 300 * MINUTE_MS, 600 * MINUTE_MS, 600 * MINUTE_MS];

/** When each attempt is made, counted from the first: the last one about 27 h 35 min later. */
const CODAT_RETRY_OFFSETS_MS: readonly number[] = CODAT_RETRY_DELAYS_MS.map((_, i) => CODAT_RETRY_DELAYS_MS.slice(0, i + 1).reduce((a, b) => a + b, 0));

/** How far an attempt may stray from its schedule: eight attempts that each time out after 15 s, and slack. */
const RETRY_TIMING_TOLERANCE_MS = 5 * MINUTE_MS;

/**
 * Where the occurrences lie that Codat's schedule would retry at `arrivedAt`, beyond the window: the only
 * ones a copy without a time of its own may be a late retry of.
 */
export function retryBands(arrivedAt: number, windowMs: number): (readonly [number, number])[] {
  return CODAT_RETRY_OFFSETS_MS.filter((offset) => offset + RETRY_TIMING_TOLERANCE_MS > windowMs).map(
    (offset) => [arrivedAt - offset - RETRY_TIMING_TOLERANCE_MS, Math.min(arrivedAt - offset + RETRY_TIMING_TOLERANCE_MS, arrivedAt - windowMs)] as const,
  );
}

/** Codat replays missed messages of the previous two weeks: their `generatedDate` is that old, and still true. */
const OLDEST_PLACEMENT_MS = 15 * 24 * 3600_000;

/** A `generatedDate` this far ahead of our clock is clock skew at most; further, it is not a time to trust. */
const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Two copies from one channel under different event types that Codat places this close together are one
 * occurrence told twice (`read.completed.initial` and `read.completed` for one first read, two legacy rules
 * for one deleted connection). Far below the interval between two real reads of one data type, so a new
 * read is never taken for a second telling of the last one.
 */
export const SAME_TELLING_TOLERANCE_MS = 120_000;

/** Where a copy stands in time: Codat's own time when it gives one we can trust, else its arrival. */
export interface Placement {
  readonly at: number;
  /** True when `at` is Codat's `generatedDate`: such a copy pairs around its own time, however late it came. */
  readonly timed: boolean;
}

const OFFSETLESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

export function placementOf(occurredAt: string | null, arrivedAt: number): Placement {
  if (occurredAt !== null) {
    const trimmed = occurredAt.trim();
    // Codat's date-times without an offset are UTC (docs/domain-mapping.md).
    const at = Date.parse(OFFSETLESS_DATE_TIME.test(trimmed) ? `${trimmed}Z` : trimmed);
    if (Number.isFinite(at) && at >= arrivedAt - OLDEST_PLACEMENT_MS && at <= arrivedAt + FUTURE_SKEW_MS) return { at, timed: true };
  }
  return { at: arrivedAt, timed: false };
}

/** An occurrence that a copy could belong to, as the ledger reads it. */
export interface PairingCandidate {
  readonly id: string;
  readonly placedAt: number;
  readonly qualifiers: readonly (string | null)[];
  /** A copy from the new copy's channel is recorded, under this source type (`RuleType`/`eventType`). */
  readonly sameChannelSourceType: string | null;
  readonly sameChannelSeen: boolean;
  readonly otherChannelSeen: boolean;
}

export interface CopyToPair {
  readonly placement: Placement;
  readonly qualifiers: readonly (string | null)[];
  readonly sourceType: string | null;
}

export type Pairing =
  /** Another telling of an occurrence this channel already carried: a duplicate of it. */
  | { readonly kind: 'retold'; readonly occurrenceId: string }
  /** The other channel's copy of an occurrence: completes it. */
  | { readonly kind: 'pair'; readonly occurrenceId: string }
  | { readonly kind: 'new' };

/** Parts both carry are equal; a part one copy lacks matches anything. */
export function qualifiersAgree(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  return a.every((part, i) => part === null || b[i] == null || b[i] === part);
}

/** How many parts both carry (and agree on): a copy with the connection prefers the occurrence with it. */
function specificity(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  return a.filter((part, i) => part !== null && b[i] === part).length;
}

/**
 * The pairing rule (docs/correlation.md): a copy joins the occurrence of its key that its channel has not
 * carried yet, placed within the window of it — the most specific, then the earliest (first with first, when
 * one key repeats within a window). A copy with no
 * time of its own (legacy bodies carry none) that finds none may be a retry of an old one: it then joins an
 * occurrence of its key that only the other channel carried and that Codat's retry schedule would retry at
 * this arrival (the latest such).
 */
export function choosePairing(copy: CopyToPair, candidates: readonly PairingCandidate[], windowMs: number): Pairing {
  const at = copy.placement.at;
  const agreeing = candidates.filter((c) => qualifiersAgree(copy.qualifiers, c.qualifiers));
  const best = (pool: readonly PairingCandidate[]) =>
    [...pool].sort(
      (a, b) =>
        specificity(copy.qualifiers, b.qualifiers) - specificity(copy.qualifiers, a.qualifiers) ||
        a.placedAt - b.placedAt ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )[0];

  const retold = best(
    agreeing.filter(
      (c) => c.sameChannelSeen && c.sameChannelSourceType !== copy.sourceType && Math.abs(c.placedAt - at) <= SAME_TELLING_TOLERANCE_MS,
    ),
  );
  if (retold) return { kind: 'retold', occurrenceId: retold.id };

  const twin = best(agreeing.filter((c) => !c.sameChannelSeen && Math.abs(c.placedAt - at) <= windowMs));
  if (twin) return { kind: 'pair', occurrenceId: twin.id };

  if (!copy.placement.timed) {
    // Only an occurrence that Codat's schedule would retry at this very arrival: any older one could be a
    // repeat of the key whose twin is lost, and taking it would swallow this copy's own occurrence.
    const onSchedule = (c: PairingCandidate) => CODAT_RETRY_OFFSETS_MS.some((offset) => Math.abs(at - c.placedAt - offset) <= RETRY_TIMING_TOLERANCE_MS);
    const [nearest] = agreeing
      .filter((c) => !c.sameChannelSeen && c.otherChannelSeen && c.placedAt < at - windowMs && onSchedule(c))
      .sort((a, b) => b.placedAt - a.placedAt || (a.id < b.id ? -1 : 1));
    if (nearest) return { kind: 'pair', occurrenceId: nearest.id };
  }
  return { kind: 'new' };
}

/** Fills the parts an occurrence lacked with the ones a new copy carries. */
export function mergeQualifiers(known: readonly (string | null)[], copy: readonly (string | null)[]): (string | null)[] {
  const length = Math.max(known.length, copy.length);
  return Array.from({ length }, (_, i) => known[i] ?? copy[i] ?? null);
}
