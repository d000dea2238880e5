/**
 * One converted event's copy, settled inside the ledger's transaction: find the occurrence it belongs to
 * (`choosePairing`), let `decideCopy` say what happens to it, record that, and queue the delivery when it is
 * delivered. The decisions are the domain's (src/domain/ledger.ts); this is their SQL.
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
import { enqueueDelivery } from '../delivery/outbox-store.js';
import { recountClosed, type ClosingRow } from '../readiness/readiness-store.js';
import type { SqlExecutor } from '../store/sql-driver.js';
import type { StoredWebhook } from '../webhooks/inbox-store.js';
import type { CopyOutcome, LedgerPolicy } from './ledger-store.js';

export interface OccurrenceRow extends Record<string, unknown> {
  id: string;
  first_seen_at: number;
  key_qualifiers: string | null;
  legacy_role: string | null;
  delivery_reason: string | null;
  mismatched_fields: string | null;
  window_closed_at: number | null;
  legacy_seen_at: number | null;
  events_seen_at: number | null;
  legacy_copy: string | null;
  events_copy: string | null;
  delivered_via: string | null;
  rescue_at: number | null;
  correlation_key: string;
  type: string;
}

export const seenColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_seen_at' : 'events_seen_at');
export const copyColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_copy' : 'events_copy');
export const roleColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_role' : 'events_role');
export const otherChannel = (channel: Channel): Channel => (channel === 'legacy' ? 'events' : 'legacy');

type Dialect = 'sqlite' | 'postgres';

/**
 * The occurrence a copy belongs to (docs/correlation.md): a strong key names it outright; a windowed key
 * is paired by the pure rule of `choosePairing` over the occurrences of its pairing key placed near it.
 */
async function findOccurrence(dialect: Dialect, tx: SqlExecutor, event: DomainEvent, copy: CopyToPair, channel: Channel, policy: LedgerPolicy, webhook: StoredWebhook, index: number) {
  if (event.keyStrength === 'strong') {
    const id = occurrenceIdFor(event, '');
    const [row] = await tx.query<OccurrenceRow>('SELECT * FROM occurrences WHERE id = $1', [id]);
    return { id, row: row ?? null };
  }
  const at = copy.placement.at;
  const sourceType = dialect === 'postgres' ? `(${copyColumn(channel)}::json -> 'source' ->> 'type')` : `json_extract(${copyColumn(channel)}, '$.source.type')`;
  const candidatesPlaced = async (ranges: readonly (readonly [number, number])[]): Promise<PairingCandidate[]> => {
    const rows = await tx.query<{ id: string; placed_at: number; key_qualifiers: string | null; same_seen: number | null; other_seen: number | null; same_source_type: string | null }>(
      `SELECT id, occurred_at AS placed_at, key_qualifiers, ${seenColumn(channel)} AS same_seen, ${seenColumn(otherChannel(channel))} AS other_seen,
         CASE WHEN ${seenColumn(channel)} IS NOT NULL AND occurred_at BETWEEN $2 AND $3 THEN ${sourceType} END AS same_source_type
       FROM occurrences WHERE correlation_key = $1 AND (${ranges.map((_, i) => `occurred_at BETWEEN $${4 + 2 * i} AND $${5 + 2 * i}`).join(' OR ')})`,
      [pairingKeyOf(event), at - SAME_TELLING_TOLERANCE_MS, at + SAME_TELLING_TOLERANCE_MS, ...ranges.flat()],
    );
    return rows.map((r): PairingCandidate => ({
      id: r.id,
      placedAt: Number(r.placed_at),
      qualifiers: r.key_qualifiers ? (JSON.parse(r.key_qualifiers) as (string | null)[]) : [],
      sameChannelSeen: r.same_seen != null,
      sameChannelSourceType: r.same_source_type ?? null,
      otherChannelSeen: r.other_seen != null,
    }));
  };
  const near = await candidatesPlaced([[at - policy.windowMs, at + policy.windowMs]]);
  let pairing = choosePairing(copy, near, policy.windowMs);
  // A copy with no time of its own that found nothing near it may be a late retry: look where Codat's
  // schedule would have placed its occurrence.
  if (pairing.kind === 'new' && !copy.placement.timed) {
    pairing = choosePairing(copy, [...near, ...(await candidatesPlaced(retryBands(at, policy.windowMs)))], policy.windowMs);
  }
  // A new occurrence's id comes from this very copy: a redelivery once retention forgot the inbox row
  // finds it again and is a duplicate instead of inserting the same id twice.
  const id = pairing.kind === 'new' ? occurrenceIdFor(event, `${channel}|${webhook.dedupeKey}|${index}`) : pairing.occurrenceId;
  const [row] = await tx.query<OccurrenceRow>('SELECT * FROM occurrences WHERE id = $1', [id]);
  return { id, row: row ?? null };
}

export async function settleEvent(dialect: Dialect, tx: SqlExecutor, webhook: StoredWebhook, source: WebhookSource, event: DomainEvent, index: number, policy: LedgerPolicy): Promise<CopyOutcome> {
  const channel = webhook.channel;
  const arrivedAt = webhook.receivedAt;
  const placement = placementOf(event.occurredAt, arrivedAt);
  const qualifiers = qualifiersOf(event);
  const { id, row } = await findOccurrence(dialect, tx, event, { placement, qualifiers, sourceType: source.type }, channel, policy, webhook, index);
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
    await tx.execute('UPDATE occurrences SET duplicate_copies = duplicate_copies + 1 WHERE id = $1', [id]);
    return outcome();
  }
  const deliver = decision.action === 'deliver';
  const rescueAt = decision.action === 'hold' ? decision.rescueAt : null;
  const reason = deliver ? decision.reason : null;
  const role = channel === primary ? 'primary' : 'shadow';
  const qualifiersText = qualifiers.length > 0 ? JSON.stringify(qualifiers) : null;
  if (!row) {
    await tx.execute(
      `INSERT INTO occurrences (id, type, correlation_key, key_strength, company_id, first_seen_at, occurred_at, key_qualifiers,
         ${seenColumn(channel)}, ${copyColumn(channel)}, ${roleColumn(channel)}, delivered_via, delivery_reason, decided_at, rescue_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [id, event.type, pairingKeyOf(event), event.keyStrength, event.companyId, arrivedAt, placement.at, qualifiersText, arrivedAt,
        JSON.stringify(copy), role, deliver ? channel : null, reason, deliver ? arrivedAt : null, rescueAt],
    );
  } else {
    const known = row.key_qualifiers ? (JSON.parse(row.key_qualifiers) as (string | null)[]) : [];
    const merged = qualifiers.length > 0 ? JSON.stringify(mergeQualifiers(known, qualifiers)) : row.key_qualifiers;
    await tx.execute(
      `UPDATE occurrences SET ${seenColumn(channel)} = $2, ${copyColumn(channel)} = $3, ${roleColumn(channel)} = $8,
         delivered_via = COALESCE(delivered_via, $4), delivery_reason = COALESCE(delivery_reason, $5),
         decided_at = COALESCE(decided_at, $6), rescue_at = $7, mismatched_fields = COALESCE($9, mismatched_fields), key_qualifiers = $10
       WHERE id = $1`,
      [id, arrivedAt, JSON.stringify(copy), deliver ? channel : null, reason, deliver ? arrivedAt : null, deliver ? null : rescueAt ?? row.rescue_at,
        role, completesPair ? mismatches.join(',') : null, merged],
    );
    if (row.window_closed_at != null) {
      const before: ClosingRow = {
        id, type: row.type, first_seen_at: Number(row.first_seen_at), legacy_seen_at: row.legacy_seen_at, events_seen_at: row.events_seen_at,
        legacy_role: row.legacy_role, delivered_via: row.delivered_via, delivery_reason: row.delivery_reason, mismatched_fields: row.mismatched_fields,
      };
      await recountClosed(tx, before, {
        ...before,
        [seenColumn(channel)]: arrivedAt,
        ...(channel === 'legacy' ? { legacy_role: role } : {}),
        delivered_via: row.delivered_via ?? (deliver ? channel : null),
        delivery_reason: row.delivery_reason ?? reason,
        mismatched_fields: completesPair ? mismatches.join(',') : row.mismatched_fields,
      });
    }
  }
  if (deliver) await enqueueDelivery(tx, id, copy, decision.reason, arrivedAt);
  return outcome(reason);
}
