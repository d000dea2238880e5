/**
 * One converted event's copy, settled in the batch's workspace of occurrences (./occurrence-workspace.ts): find
 * the occurrence it belongs to (`choosePairing`), let `decideCopy` say what happens to it, record that, and
 * queue the delivery when it is delivered. The decisions are the domain's (src/domain/ledger.ts); this applies
 * them to the ledger's rows.
 */
import { carriageOf, type Channel, type DomainEvent, type WebhookSource } from '../domain/domain-event.js';
import type { RecordedCopy } from '../domain/delivery-payload.js';
import { mismatchedFields } from '../domain/copy-comparison.js';
import { pairingKeyOf, qualifiersOf } from '../domain/correlation-key.js';
import {
  SAME_TELLING_TOLERANCE_MS,
  choosePairing,
  decideCopy,
  mergeQualifiers,
  occurrenceIdFor,
  placementOf,
  retryBands,
  type CopyToPair,
  type PairingCandidate,
} from '../domain/ledger.js';
import { recountClosed, type ClosingRow, type FigureChanges } from '../readiness/readiness-store.js';
import type { OccurrenceReads, OccurrenceRecord, OccurrenceWorkspace, PlacedRange } from './occurrence-workspace.js';
import type { StoredWebhook } from '../webhooks/inbox-store.js';
import type { CopyOutcome, LedgerPolicy } from './ledger-store.js';

export const seenColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_seen_at' : 'events_seen_at');
export const copyColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_copy' : 'events_copy');
export const roleColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_role' : 'events_role');
export const otherChannel = (channel: Channel): Channel => (channel === 'legacy' ? 'events' : 'legacy');

/**
 * One converted event's copy, with what pairing it needs from the store worked out once: first to read it
 * (`readsOf`), then to settle it (`settleCopy`).
 */
export interface CopyToSettle {
  readonly webhook: StoredWebhook;
  readonly source: WebhookSource;
  readonly event: DomainEvent;
  readonly pairing: CopyToPair;
  readonly key: string;
  /** The id a new occurrence gets from this very copy (or a strong key's id). */
  readonly newId: string;
  /** Windowed keys: occurrences of the key placed within the window of this copy. */
  readonly near: PlacedRange | null;
  /** A copy with no time of its own: where Codat's retry schedule would have placed its occurrence. */
  readonly retryBands: readonly PlacedRange[];
}

export function copyToSettle(webhook: StoredWebhook, source: WebhookSource, event: DomainEvent, index: number, policy: LedgerPolicy): CopyToSettle {
  const placement = placementOf(event.occurredAt, webhook.receivedAt);
  const key = pairingKeyOf(event);
  const windowed = event.keyStrength !== 'strong';
  const at = placement.at;
  return {
    webhook,
    source,
    event,
    pairing: { placement, qualifiers: qualifiersOf(event), sourceType: source.type },
    key,
    // A new occurrence's id comes from this very copy: a redelivery once retention forgot the inbox row
    // finds it again and is a duplicate instead of inserting the same id twice.
    newId: windowed ? occurrenceIdFor(event, `${webhook.channel}|${webhook.dedupeKey}|${index}`) : occurrenceIdFor(event, ''),
    near: windowed ? { key, from: at - policy.windowMs, to: at + policy.windowMs } : null,
    retryBands: windowed && !placement.timed ? retryBands(at, policy.windowMs).map(([from, to]) => ({ key, from, to })) : [],
  };
}

/** Everything settling `copies` may read: read before any is settled, in two statements. */
export function readsOf(copies: readonly CopyToSettle[]): OccurrenceReads {
  return {
    ids: copies.map((copy) => copy.newId),
    ranges: copies.flatMap((copy) => (copy.near ? [copy.near, ...copy.retryBands] : [])),
  };
}

/** The candidates of `choosePairing` among the occurrences of the copy's key placed in `ranges`. */
function candidatesIn(work: OccurrenceWorkspace, copy: CopyToSettle, ranges: readonly PlacedRange[]): PairingCandidate[] {
  const channel = copy.webhook.channel;
  const at = copy.pairing.placement.at;
  return ranges.flatMap((range) =>
    work.placed(range).map((row): PairingCandidate => {
      const sameSeen = row[seenColumn(channel)] != null;
      const sameCopy = row[copyColumn(channel)];
      const nearlySame = sameSeen && Math.abs(row.occurred_at - at) <= SAME_TELLING_TOLERANCE_MS && sameCopy != null;
      return {
        id: row.id,
        placedAt: row.occurred_at,
        qualifiers: row.key_qualifiers ? (JSON.parse(row.key_qualifiers) as (string | null)[]) : [],
        sameChannelSeen: sameSeen,
        sameChannelSourceType: nearlySame ? ((JSON.parse(sameCopy) as RecordedCopy).source.type ?? null) : null,
        otherChannelSeen: row[seenColumn(otherChannel(channel))] != null,
      };
    }),
  );
}

/**
 * The occurrence a copy belongs to (docs/correlation.md): a strong key names it outright; a windowed key
 * is paired by the pure rule of `choosePairing` over the occurrences of its pairing key placed near it.
 */
function occurrenceOf(work: OccurrenceWorkspace, copy: CopyToSettle, policy: LedgerPolicy): string {
  if (!copy.near) return copy.newId;
  const near = candidatesIn(work, copy, [copy.near]);
  let pairing = choosePairing(copy.pairing, near, policy.windowMs);
  // A copy with no time of its own that found nothing near it may be a late retry: look where Codat's
  // schedule would have placed its occurrence.
  if (pairing.kind === 'new' && copy.retryBands.length > 0) {
    pairing = choosePairing(copy.pairing, [...near, ...candidatesIn(work, copy, copy.retryBands)], policy.windowMs);
  }
  return pairing.kind === 'new' ? copy.newId : pairing.occurrenceId;
}

/**
 * Settles one copy in the batch's workspace: its decision is seen by the copies after it, and written with
 * theirs. `figures`: where a late copy's recount of a closed window is noted, for the caller to write last
 * (`writeFigureChanges`).
 */
export function settleCopy(work: OccurrenceWorkspace, copyToSettle: CopyToSettle, policy: LedgerPolicy, figures: FigureChanges): CopyOutcome {
  const { webhook, source, event, pairing } = copyToSettle;
  const channel = webhook.channel;
  const arrivedAt = webhook.receivedAt;
  const id = occurrenceOf(work, copyToSettle, policy);
  const row = work.get(id);
  const copy: RecordedCopy = { event, source, arrivedAt, ...(webhook.requestId ? { requestId: webhook.requestId } : {}) };
  const otherSeenAt = row ? row[seenColumn(otherChannel(channel))] : null;
  const otherCopy = row?.[copyColumn(otherChannel(channel))];
  const primary = policy.primaryFor(event.companyId);
  const decision = decideCopy({
    carriage: carriageOf(event.type),
    channel,
    primary,
    alreadyDelivered: row?.delivered_via != null,
    channelAlreadySeen: row?.[seenColumn(channel)] != null,
    existingRescueAt: row?.rescue_at ?? null,
    arrivedAt,
    graceMs: policy.graceMs,
  });
  const completesPair = decision.action !== 'duplicate' && typeof otherCopy === 'string';
  const mismatches = completesPair ? mismatchedFields((JSON.parse(otherCopy) as RecordedCopy).event, event) : [];
  const outcome = (reason: CopyOutcome['reason'] = null): CopyOutcome => ({
    occurrenceId: id,
    type: event.type,
    channel,
    action: decision.action,
    reason,
    lagMs: completesPair && otherSeenAt != null ? Math.abs(arrivedAt - otherSeenAt) : null,
    // Copies may be settled in another order than they arrived: the late one is the later arrival.
    lateChannel: completesPair && otherSeenAt != null ? (arrivedAt >= otherSeenAt ? channel : otherChannel(channel)) : null,
    mismatches,
  });

  if (decision.action === 'duplicate') {
    work.update(id, (r) => {
      r.duplicate_copies += 1;
    });
    return outcome();
  }
  const deliver = decision.action === 'deliver';
  const rescueAt = decision.action === 'hold' ? decision.rescueAt : null;
  const reason = deliver ? decision.reason : null;
  const role = channel === primary ? 'primary' : 'shadow';
  const copyText = JSON.stringify(copy);
  if (!row) {
    const qualifiers = pairing.qualifiers;
    work.insert({
      id, type: event.type, correlation_key: copyToSettle.key, key_strength: event.keyStrength, company_id: event.companyId,
      first_seen_at: arrivedAt, occurred_at: pairing.placement.at, window_closed_at: null,
      key_qualifiers: qualifiers.length > 0 ? JSON.stringify(qualifiers) : null,
      legacy_seen_at: null, events_seen_at: null, legacy_copy: null, events_copy: null, legacy_role: null, events_role: null,
      [seenColumn(channel)]: arrivedAt, [copyColumn(channel)]: copyText, [roleColumn(channel)]: role,
      mismatched_fields: null, duplicate_copies: 0,
      delivered_via: deliver ? channel : null, delivery_reason: reason, decided_at: deliver ? arrivedAt : null, rescue_at: rescueAt,
    });
  } else {
    const before: ClosingRow | null = row.window_closed_at != null ? closingRowOf(row) : null;
    work.update(id, (r) => {
      if (pairing.qualifiers.length > 0) {
        const known = r.key_qualifiers ? (JSON.parse(r.key_qualifiers) as (string | null)[]) : [];
        r.key_qualifiers = JSON.stringify(mergeQualifiers(known, pairing.qualifiers));
      }
      r[seenColumn(channel)] = arrivedAt;
      r[copyColumn(channel)] = copyText;
      r[roleColumn(channel)] = role;
      r.delivered_via ??= deliver ? channel : null;
      r.delivery_reason ??= reason;
      r.decided_at ??= deliver ? arrivedAt : null;
      r.rescue_at = deliver ? null : (rescueAt ?? r.rescue_at);
      if (completesPair) r.mismatched_fields = mismatches.join(',');
    });
    // A copy completing an occurrence whose window already closed moves its figures (readiness counts it once).
    if (before) recountClosed(figures, before, closingRowOf(row));
  }
  if (deliver) work.queueDelivery({ occurrenceId: id, copy, reason: decision.reason, now: arrivedAt });
  return outcome(reason);
}

function closingRowOf(row: OccurrenceRecord): ClosingRow {
  const { id, type, first_seen_at, legacy_seen_at, events_seen_at, legacy_role, delivered_via, delivery_reason, mismatched_fields } = row;
  return { id, type, first_seen_at, legacy_seen_at, events_seen_at, legacy_role, delivered_via, delivery_reason, mismatched_fields };
}
