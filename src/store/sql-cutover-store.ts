import { createHash } from 'node:crypto';
import { carriageOf, type Channel, type Conversion, type DomainEvent, type DomainEventType, type WebhookSource } from '../domain/domain-event.js';
import type { TypeStats } from '../domain/readiness.js';
import { toDeliveryPayload, type RecordedCopy } from '../domain/delivery-payload.js';
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
import { escapeUnsafeText, screenConversion } from '../domain/conversion-screening.js';
import {
  MAX_SETTLE_FAILURES,
  PartlySettled,
  type AppendResult,
  type ClosedOccurrence,
  type CopyOutcome,
  type CutoverStore,
  type DeadLetter,
  type DueDelivery,
  type LedgerPolicy,
  type NewWebhook,
  type QuarantinedWebhook,
  type SettleResult,
  type StoreCounts,
  type StoredWebhook,
} from './cutover-store.js';
import { migrateSchema } from './migrate.js';
import { createOperatorQueries } from './operator-queries.js';
import { classifySettleFailure } from './settle-failure.js';
import type { SqlDriver, SqlExecutor } from './sql-driver.js';

interface OccurrenceRow extends Record<string, unknown> {
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

const seenColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_seen_at' : 'events_seen_at');
const copyColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_copy' : 'events_copy');
const roleColumn = (channel: Channel) => (channel === 'legacy' ? 'legacy_role' : 'events_role');
const otherChannel = (channel: Channel): Channel => (channel === 'legacy' ? 'events' : 'legacy');

const HOUR_MS = 3600_000;

interface ClosingRow extends Record<string, unknown> {
  id: string;
  type: string;
  first_seen_at: number;
  legacy_seen_at: number | null;
  events_seen_at: number | null;
  legacy_role: string | null;
  delivered_via: string | null;
  delivery_reason: string | null;
  mismatched_fields: string | null;
}

function seenOf(row: ClosingRow): ClosedOccurrence['seen'] {
  return row.legacy_seen_at != null && row.events_seen_at != null ? 'both' : row.legacy_seen_at != null ? 'legacy_only' : 'events_only';
}

/** The figures one closed occurrence adds to its type's hour (names read back by cutoverStats). */
function figuresOf(row: ClosingRow): string[] {
  const figures = [`seen:${seenOf(row)}`];
  if (row.delivered_via != null) figures.push('delivered');
  if (row.delivery_reason === 'rescued') figures.push(`rescued:${row.delivered_via}`);
  if (row.delivery_reason === 'primary' && row.delivered_via === 'legacy') figures.push('legacy-primary-delivery');
  if (row.legacy_seen_at != null && row.legacy_role === 'shadow') figures.push('legacy-copy-while-events-primary');
  for (const field of (row.mismatched_fields ?? '').split(',').filter(Boolean)) figures.push(`mismatch:${field}`);
  return figures;
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

/** Code-unit order, the one every lock order in this file uses (as `Array.prototype.sort` does by default). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeys(a: NewWebhook, b: NewWebhook): number {
  return compareText(a.channel, b.channel) || compareText(a.dedupeKey, b.dedupeKey);
}

/**
 * The dedupe key as both databases store it alike: PostgreSQL refuses a NUL, and the two drivers write a lone
 * surrogate differently (and read it back as something else than was written). The receiver makes none such.
 */
const storedKey = (webhook: NewWebhook): string => escapeUnsafeText(webhook.dedupeKey);

/** Rows appended per INSERT statement (bounded by SQLite's parameter limit). */
const APPEND_CHUNK = 500;

/** Below the pool's 10 connections, which appends and delivery also need. */
const POSTGRES_SETTLE_CONCURRENCY = 4;

export function createSqlCutoverStore(driver: SqlDriver): CutoverStore {
  const { skipLocked } = driver;
  // Without statistics SQLite takes an equality on `state` for a handful of rows and reads every pending
  // row through the (state, …) index, then sorts them all to return the first 50: a claim cost ~37 ms at
  // 150,000 pending (scripts/bench/claim-plan.ts, docs/performance.md) and the whole service slowed as a
  // backlog grew. The partial index is already in claim order. PostgreSQL's planner has statistics: no hint.
  const claimIndex = (name: 'inbox_pending' | 'deliveries_due') => (driver.dialect === 'sqlite' ? `INDEXED BY ${name}` : '');
  // What a 2xx acknowledges is synced before the answer and goes first, and what leaves the process
  // (delivery claims and acknowledgements) is synced too; the rest (claiming and settling webhooks,
  // rescues, failed attempts, windows, retention) is redone from the inbox if a power cut loses it.
  const urgent = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work, { urgent: true });
  const redoable = <T>(work: (tx: SqlExecutor) => Promise<T>) => driver.transaction(work, { durability: 'redoable' });

  async function appendChunk(tx: SqlExecutor, chunk: readonly NewWebhook[]): Promise<AppendResult[]> {
    const params: unknown[] = [];
    const rows = chunk.map((w) => {
      const base = params.length;
      params.push(w.channel, w.endpoint, storedKey(w), w.receivedAt, JSON.stringify(w.headers), w.body, w.state, w.detail);
      return `(${Array.from({ length: 8 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
    });
    const inserted = await tx.query<{ id: number; channel: string; dedupe_key: string }>(
      `INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state, detail)
       VALUES ${rows.join(', ')}
       ON CONFLICT (channel, dedupe_key) DO NOTHING
       RETURNING id, channel, dedupe_key`,
      params,
    );
    const ids = new Map(inserted.map((r) => [`${r.channel}\u0000${r.dedupe_key}`, Number(r.id)]));
    // Two copies of one webhook in the same batch: the first is stored, the second is a duplicate.
    return chunk.map((w) => {
      const key = `${w.channel}\u0000${storedKey(w)}`;
      const id = ids.get(key);
      if (id === undefined) return { status: 'duplicate' };
      ids.delete(key);
      return { status: 'stored', inboxId: id };
    });
  }

  /**
   * The occurrence a copy belongs to (docs/correlation.md): a strong key names it outright; a windowed key
   * is paired by the pure rule of `choosePairing` over the occurrences of its pairing key placed near it.
   */
  async function findOccurrence(tx: SqlExecutor, event: DomainEvent, copy: CopyToPair, channel: Channel, policy: LedgerPolicy, webhook: StoredWebhook, index: number) {
    if (event.keyStrength === 'strong') {
      const id = occurrenceIdFor(event, '');
      const [row] = await tx.query<OccurrenceRow>('SELECT * FROM occurrences WHERE id = $1', [id]);
      return { id, row: row ?? null };
    }
    const at = copy.placement.at;
    const sourceType = driver.dialect === 'postgres' ? `(${copyColumn(channel)}::json -> 'source' ->> 'type')` : `json_extract(${copyColumn(channel)}, '$.source.type')`;
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

  /**
   * A copy that completes an occurrence whose window already closed (a retry hours late) moves that
   * occurrence's figures rather than adding any: readiness counts each occurrence once.
   */
  async function recountClosed(tx: SqlExecutor, before: ClosingRow, after: ClosingRow) {
    const hour = Math.floor(Number(before.first_seen_at) / HOUR_MS);
    const delta = new Map<string, number>();
    for (const figure of figuresOf(before)) delta.set(figure, (delta.get(figure) ?? 0) - 1);
    for (const figure of figuresOf(after)) delta.set(figure, (delta.get(figure) ?? 0) + 1);
    for (const [figure, n] of [...delta].sort(([a], [b]) => compareText(a, b))) {
      if (n === 0) continue;
      await tx.execute(
        `INSERT INTO window_stats (type, hour, figure, n) VALUES ($1, $2, $3, $4)
         ON CONFLICT (type, hour, figure) DO UPDATE SET n = window_stats.n + excluded.n`,
        [before.type, hour, figure, n],
      );
    }
  }

  async function settleEvent(tx: SqlExecutor, webhook: StoredWebhook, source: WebhookSource, event: DomainEvent, index: number, policy: LedgerPolicy): Promise<CopyOutcome> {
    const channel = webhook.channel;
    const arrivedAt = webhook.receivedAt;
    const placement = placementOf(event.occurredAt, arrivedAt);
    const qualifiers = qualifiersOf(event);
    const { id, row } = await findOccurrence(tx, event, { placement, qualifiers, sourceType: source.type }, channel, policy, webhook, index);
    const copy: RecordedCopy = { event, source, arrivedAt };
    const otherSeenAt = row ? (row[seenColumn(otherChannel(channel))] as number | null) : null;
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

  async function enqueueDelivery(tx: SqlExecutor, occurrenceId: string, copy: RecordedCopy, reason: 'primary' | 'only-channel' | 'rescued', now: number) {
    await tx.execute(
      `INSERT INTO deliveries (occurrence_id, payload, state, next_attempt_at, created_at)
       VALUES ($1, $2, 'pending', $3, $3) ON CONFLICT (occurrence_id) DO NOTHING`,
      [occurrenceId, JSON.stringify(toDeliveryPayload(occurrenceId, copy, reason)), now],
    );
  }

  async function settleInbox(tx: SqlExecutor, inboxId: number, state: SettleResult['state'], detail: string | null) {
    await tx.execute('UPDATE inbox SET state = $2, detail = $3, processed_at = $4 WHERE id = $1', [inboxId, state, detail, Date.now()]);
  }

  async function settleWebhook(tx: SqlExecutor, webhook: StoredWebhook, received: Conversion, policy: LedgerPolicy): Promise<SettleResult> {
    // Settling is idempotent: a row another replica settled after our lease ran out is left alone.
    const [current] = await tx.query<{ state: string }>(`SELECT state FROM inbox WHERE id = $1 ${skipLocked ? 'FOR UPDATE' : ''}`, [webhook.inboxId]);
    if (!current || current.state !== 'pending') return { state: 'processed', detail: 'already-settled', copies: [] };
    // Here, for every caller and both databases alike: text either database would refuse or alter never reaches them.
    const conversion = screenConversion(received);
    if (conversion.kind !== 'converted') {
      const state = conversion.kind === 'unrecognised' ? 'unrecognised' : 'quarantined';
      await settleInbox(tx, webhook.inboxId, state, conversion.reason);
      return { state, detail: conversion.reason, copies: [] };
    }
    // Every key of the webhook, in one order for all: concurrent settles (and replicas) that share
    // keys then queue on the first instead of each holding one the other waits for (deadlock).
    for (const key of [...new Set(conversion.events.map(pairingKeyOf))].sort()) await tx.lockKey(key);
    const copies: CopyOutcome[] = [];
    for (const [index, event] of conversion.events.entries()) {
      copies.push(await settleEvent(tx, webhook, conversion.source, event, index, policy));
    }
    const detail = conversion.contracted?.length ? 'contracted' : null;
    await settleInbox(tx, webhook.inboxId, 'processed', detail);
    return { state: 'processed', detail, copies };
  }

  type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };
  type Outcome = { readonly result: SettleResult } | { readonly failure: unknown };

  /**
   * Counts a failed settle against the webhook (its transaction has rolled back) and quarantines it at
   * MAX_SETTLE_FAILURES. Transient failures are not counted: the row is simply claimed again later.
   */
  async function recordSettleFailure(webhook: StoredWebhook, error: unknown): Promise<SettleResult | null> {
    const failure = classifySettleFailure(error);
    if (failure.transient) return null;
    const detail = `settle_failed:${failure.code}`;
    const [row] = await redoable((tx) =>
      tx.query<{ state: string }>(
        `UPDATE inbox SET settle_failures = settle_failures + 1, detail = $3,
           state = CASE WHEN settle_failures + 1 >= $2 THEN 'quarantined' ELSE state END,
           processed_at = CASE WHEN settle_failures + 1 >= $2 THEN $4 ELSE processed_at END
         WHERE id = $1 AND state = 'pending'
         RETURNING state`,
        [webhook.inboxId, MAX_SETTLE_FAILURES, detail, Date.now()],
      ),
    );
    return row?.state === 'quarantined' ? { state: 'quarantined', detail, copies: [] } : null;
  }

  /** One webhook in a transaction of its own: whatever happens to it, no other webhook's settle is undone. */
  async function settleAlone({ webhook, conversion }: Item, policy: LedgerPolicy): Promise<Outcome> {
    try {
      return { result: await redoable((tx) => settleWebhook(tx, webhook, conversion, policy)) };
    } catch (error) {
      try {
        const quarantined = await recordSettleFailure(webhook, error);
        if (quarantined) return { result: quarantined };
      } catch {
        // The count is lost with the database (the row stays pending, claimed again); the settle's failure is what matters.
      }
      return { failure: error };
    }
  }

  function resultsOf(outcomes: readonly Outcome[]): SettleResult[] {
    const failure = outcomes.find((o): o is { failure: unknown } => 'failure' in o);
    const results = outcomes.map((o) => ('result' in o ? o.result : undefined));
    if (failure) throw new PartlySettled(results, failure.failure);
    return results as SettleResult[];
  }

  const count = async (tx: SqlExecutor, sql: string) => Number((await tx.query<{ n: number }>(sql))[0]?.n ?? 0);

  return {
    ...createOperatorQueries(driver),
    async migrate() {
      await migrateSchema(driver);
    },

    append(webhooks) {
      return urgent(async (tx) => {
        // Rows go in in one global order (channel, then dedupe key): two replicas storing the same webhooks at
        // once (a Codat retry reaching the other replica) then wait on each other's unique keys in the same order
        // instead of deadlocking on PostgreSQL (reproduced: 30 of 100 crossing pairs). The sort is stable, so of
        // two copies in one batch the first is still the one stored.
        const order = webhooks.map((_, i) => i).sort((x, y) => compareKeys(webhooks[x]!, webhooks[y]!));
        const sorted = order.map((i) => webhooks[i]!);
        const inserted: AppendResult[] = [];
        for (let i = 0; i < sorted.length; i += APPEND_CHUNK) {
          inserted.push(...(await appendChunk(tx, sorted.slice(i, i + APPEND_CHUNK))));
        }
        const results: AppendResult[] = new Array(webhooks.length);
        order.forEach((original, position) => (results[original] = inserted[position]!));
        return results;
      });
    },

    async releaseLeases() {
      await driver.transaction(async (tx) => {
        await tx.execute(`UPDATE inbox SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0`);
        await tx.execute(`UPDATE deliveries SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0`);
      });
    },

    claimPending(now, limit, leaseMs) {
      return redoable(async (tx) => {
        // One statement claims the batch (no UPDATE per row: one round trip on PostgreSQL, fewer WAL
        // writes on SQLite); RETURNING has no order, so the oldest-first order is restored here.
        const rows = await tx.query<{ id: number; channel: Channel; endpoint: Channel; dedupe_key: string; received_at: number; body: Buffer }>(
          `UPDATE inbox SET claimed_until = $3 WHERE id IN (
             SELECT id FROM inbox ${claimIndex('inbox_pending')} WHERE state = 'pending' AND claimed_until <= $1 ORDER BY id LIMIT $2 ${skipLocked})
           RETURNING id, channel, endpoint, dedupe_key, received_at, body`,
          [now, limit, now + leaseMs],
        );
        rows.sort((a, b) => Number(a.id) - Number(b.id));
        return rows.map((r) => ({ inboxId: Number(r.id), channel: r.channel, endpoint: r.endpoint, dedupeKey: r.dedupe_key, receivedAt: Number(r.received_at), body: Buffer.from(r.body) }));
      });
    },

    async settle(webhook, conversion, policy) {
      const outcome = await settleAlone({ webhook, conversion }, policy);
      if ('failure' in outcome) throw outcome.failure;
      return outcome.result;
    },

    async settleBatch(items, policy) {
      // SQLite has one writer: one transaction (one sync) for the whole batch is group commit. Should it fail,
      // nothing of it is kept, and each webhook is settled again in a transaction of its own: the one that
      // failed is then found and counted, and the others commit without it.
      if (driver.dialect === 'sqlite') {
        try {
          return await redoable(async (tx) => {
            const results: SettleResult[] = [];
            for (const { webhook, conversion } of items) results.push(await settleWebhook(tx, webhook, conversion, policy));
            return results;
          });
        } catch {
          const outcomes: Outcome[] = [];
          for (const item of items) outcomes.push(await settleAlone(item, policy));
          return resultsOf(outcomes);
        }
      }
      // PostgreSQL: one transaction per webhook, so that replicas never hold advisory locks on many
      // keys at once, several at a time: settling is bound by round trips, not by the database's
      // CPU, and the per-key advisory lock already serialises the copies of one occurrence.
      const outcomes: Outcome[] = new Array(items.length);
      let next = 0;
      const settleNext = async (): Promise<void> => {
        for (let i = next++; i < items.length; i = next++) {
          const item = items[i];
          // One failure (e.g. a deadlock PostgreSQL broke) does not stop the others: every transaction has ended
          // when this resolves, and the failed webhook stays pending for the next claim (or is quarantined).
          if (item) outcomes[i] = await settleAlone(item, policy);
        }
      };
      await Promise.all(Array.from({ length: Math.min(POSTGRES_SETTLE_CONCURRENCY, items.length) }, settleNext));
      return resultsOf(outcomes);
    },

    rescueDue(now, limit) {
      return redoable(async (tx) => {
        const due = await tx.query<{ id: string; correlation_key: string }>(
          'SELECT id, correlation_key FROM occurrences WHERE rescue_at IS NOT NULL AND rescue_at <= $1 ORDER BY rescue_at LIMIT $2',
          [now, limit],
        );
        const rescued: CopyOutcome[] = [];
        // Keys in the order settles take them (sorted), so a rescue and a settle never wait on each other.
        due.sort((a, b) => compareText(a.correlation_key, b.correlation_key));
        for (const { id, correlation_key } of due) {
          // Same lock order as settle (key, then row), and re-read under the lock: a primary copy may have just won.
          await tx.lockKey(correlation_key);
          const [row] = await tx.query<OccurrenceRow>(`SELECT * FROM occurrences WHERE id = $1 ${skipLocked ? 'FOR UPDATE' : ''}`, [id]);
          if (!row || row.delivered_via != null || row.rescue_at == null || row.rescue_at > now) continue;
          const channel: Channel = row.legacy_copy ? 'legacy' : 'events';
          const copy = JSON.parse((row.legacy_copy ?? row.events_copy) as string) as RecordedCopy;
          await tx.execute(
            `UPDATE occurrences SET delivered_via = $2, delivery_reason = 'rescued', decided_at = $3, rescue_at = NULL WHERE id = $1`,
            [id, channel, now],
          );
          await enqueueDelivery(tx, id, copy, 'rescued', now);
          rescued.push({ occurrenceId: id, type: copy.event.type, channel, action: 'rescued', reason: 'rescued', lagMs: null, lateChannel: null, mismatches: [] });
        }
        return rescued;
      });
    },

    // Acknowledged, not redoable: what is claimed here leaves the process. Syncing this commit syncs every
    // settle before it (WAL order), so nothing the downstream receives can be undone by a power cut.
    claimDueDeliveries(now, limit, leaseMs) {
      return driver.transaction(async (tx) => {
        const rows = await tx.query<{ occurrence_id: string; payload: string; attempts: number; next_attempt_at: number }>(
          `UPDATE deliveries SET claimed_until = $3 WHERE occurrence_id IN (
             SELECT occurrence_id FROM deliveries ${claimIndex('deliveries_due')}
             WHERE state = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1
             ORDER BY next_attempt_at LIMIT $2 ${skipLocked})
           RETURNING occurrence_id, payload, attempts, next_attempt_at`,
          [now, limit, now + leaseMs],
        );
        rows.sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at));
        return rows.map((r): DueDelivery => ({ occurrenceId: r.occurrence_id, payload: r.payload, attempts: Number(r.attempts) }));
      });
    },

    async markDelivered(occurrenceIds, now) {
      if (occurrenceIds.length === 0) return;
      await driver.transaction((tx) =>
        tx.execute(
          `UPDATE deliveries SET state = 'delivered', delivered_at = $1, attempts = attempts + 1, claimed_until = 0
           WHERE occurrence_id IN (${occurrenceIds.map((_, i) => `$${i + 2}`).join(', ')})`,
          [now, ...occurrenceIds],
        ),
      );
    },

    async markDeliveryFailed(occurrenceId, error, nextAttemptAt) {
      await redoable((tx) =>
        tx.execute(
          `UPDATE deliveries SET attempts = attempts + 1, last_error = $2, claimed_until = 0,
             state = $3, next_attempt_at = COALESCE($4, next_attempt_at)
           WHERE occurrence_id = $1`,
          [occurrenceId, error.slice(0, 500), nextAttemptAt === null ? 'dead' : 'pending', nextAttemptAt],
        ),
      );
    },

    listDeadLetters(limit) {
      return driver.transaction(async (tx) => {
        const rows = await tx.query<{ occurrence_id: string; attempts: number; last_error: string | null }>(
          `SELECT occurrence_id, attempts, last_error FROM deliveries WHERE state = 'dead' ORDER BY created_at LIMIT $1`,
          [limit],
        );
        return rows.map((r): DeadLetter => ({ occurrenceId: r.occurrence_id, attempts: Number(r.attempts), lastError: r.last_error }));
      });
    },

    replayDeadLetters(now) {
      return driver.transaction((tx) =>
        tx.execute(`UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_until = 0 WHERE state = 'dead'`, [now]),
      );
    },

    listQuarantine(limit) {
      return driver.transaction(async (tx) => {
        const rows = await tx.query<{ id: number; channel: Channel; state: 'unrecognised' | 'quarantined'; detail: string | null; received_at: number }>(
          `SELECT id, channel, state, detail, received_at FROM inbox WHERE state IN ('quarantined', 'unrecognised') ORDER BY id LIMIT $1`,
          [limit],
        );
        return rows.map((r): QuarantinedWebhook => ({ inboxId: Number(r.id), channel: r.channel, state: r.state, detail: r.detail, receivedAt: Number(r.received_at) }));
      });
    },

    replayQuarantine(now) {
      return driver.transaction((tx) =>
        tx.execute(
          `UPDATE inbox SET state = 'pending', claimed_until = 0, processed_at = NULL, settle_failures = 0
           WHERE state IN ('quarantined', 'unrecognised') AND received_at <= $1`,
          [now],
        ),
      );
    },

    purge(before) {
      return driver.transaction(async (tx) => {
        let removed = await tx.execute(`DELETE FROM inbox WHERE state = 'processed' AND processed_at < $1`, [before]);
        removed += await tx.execute(`DELETE FROM deliveries WHERE state = 'delivered' AND delivered_at < $1`, [before]);
        removed += await tx.execute('DELETE FROM window_stats WHERE hour < $1', [Math.floor(before / HOUR_MS)]);
        // An occurrence is forgotten only once it is decided (or shadow) and its delivery is finished.
        removed += await tx.execute(
          `DELETE FROM occurrences WHERE first_seen_at < $1 AND rescue_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.occurrence_id = occurrences.id)`,
          [before],
        );
        return removed;
      }, { durability: 'redoable', unbounded: true });
    },

    counts() {
      return driver.transaction(async (tx): Promise<StoreCounts> => ({
        inboxPending: await count(tx, `SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'`),
        deliveriesPending: await count(tx, `SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending'`),
        deadLetters: await count(tx, `SELECT COUNT(*) AS n FROM deliveries WHERE state = 'dead'`),
        quarantined: await count(tx, `SELECT COUNT(*) AS n FROM inbox WHERE state IN ('quarantined', 'unrecognised')`),
        held: await count(tx, `SELECT COUNT(*) AS n FROM occurrences WHERE rescue_at IS NOT NULL`),
      }));
    },

    closeWindows(now, windowMs, limit) {
      return redoable(async (tx) => {
        const rows = await tx.query<ClosingRow>(
          `SELECT id, type, first_seen_at, legacy_seen_at, events_seen_at, legacy_role, delivered_via, delivery_reason, mismatched_fields
           FROM occurrences WHERE window_closed_at IS NULL AND first_seen_at <= $1 ORDER BY first_seen_at LIMIT $2 ${skipLocked}`,
          [now - windowMs, limit],
        );
        if (rows.length === 0) return [];
        const ids = rows.map((r) => r.id);
        await tx.execute(`UPDATE occurrences SET window_closed_at = $1 WHERE id IN (${ids.map((_, i) => `$${i + 2}`).join(', ')})`, [now, ...ids]);
        // Counted once, here, under the same lock that marks the window closed.
        const figures = new Map<string, { type: string; hour: number; figure: string; n: number }>();
        for (const row of rows) {
          const hour = Math.floor(Number(row.first_seen_at) / HOUR_MS);
          for (const figure of figuresOf(row)) {
            const key = `${row.type}|${hour}|${figure}`;
            const entry = figures.get(key) ?? { type: row.type, hour, figure, n: 0 };
            entry.n += 1;
            figures.set(key, entry);
          }
        }
        // In key order, the order every replica uses: each closes its own occurrences (SKIP LOCKED) but adds
        // to shared counters, and two passes taking them in first-seen order could each hold one the other
        // needs (reproduced: test/integration/cutover-monitor-replicas.test.ts); in one order, one waits.
        const byKey = [...figures.values()].sort((a, b) => compareText(a.type, b.type) || a.hour - b.hour || compareText(a.figure, b.figure));
        for (const { type, hour, figure, n } of byKey) {
          await tx.execute(
            `INSERT INTO window_stats (type, hour, figure, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (type, hour, figure) DO UPDATE SET n = window_stats.n + excluded.n`,
            [type, hour, figure, n],
          );
        }
        return rows.map((r): ClosedOccurrence => ({ type: r.type as DomainEventType, seen: seenOf(r) }));
      });
    },

    cutoverStats(since) {
      return driver.transaction(async (tx) => {
        const figures = await tx.query<{ type: string; figure: string; n: number | string }>(
          'SELECT type, figure, SUM(n) AS n FROM window_stats WHERE hour >= $1 GROUP BY type, figure ORDER BY type',
          [Math.floor(since / HOUR_MS)],
        );
        // Lag quantiles from the latest pairs only: enough for a p99, and a bounded read.
        const lagRows = await tx.query<{ type: string; lag: number }>(
          `SELECT type, ABS(legacy_seen_at - events_seen_at) AS lag FROM occurrences
           WHERE first_seen_at >= $1 AND legacy_seen_at IS NOT NULL AND events_seen_at IS NOT NULL
           ORDER BY first_seen_at DESC LIMIT 5000`,
          [since],
        );
        const byType = new Map<string, Map<string, number>>();
        for (const f of figures) {
          const values = byType.get(f.type) ?? new Map<string, number>();
          values.set(f.figure, Number(f.n));
          byType.set(f.type, values);
        }
        return [...byType.entries()].map(([type, values]): TypeStats => {
          const n = (figure: string) => values.get(figure) ?? 0;
          const mismatches: Record<string, number> = {};
          for (const [figure, count] of values) {
            if (figure.startsWith('mismatch:')) mismatches[figure.slice('mismatch:'.length)] = count;
          }
          const lags = lagRows.filter((l) => l.type === type).map((l) => Number(l.lag) / 1000).sort((a, b) => a - b);
          return {
            type: type as DomainEventType,
            both: n('seen:both'),
            legacyOnly: n('seen:legacy_only'),
            eventsOnly: n('seen:events_only'),
            mismatches,
            lagP50Seconds: quantile(lags, 0.5),
            lagP99Seconds: quantile(lags, 0.99),
            rescuedFromLegacy: n('rescued:legacy'),
            rescuedFromEvents: n('rescued:events'),
            deliveredFromLegacyPrimary: n('legacy-primary-delivery'),
            legacyCopiesWhileEventsPrimary: n('legacy-copy-while-events-primary'),
            delivered: n('delivered'),
          };
        });
      });
    },

    ping: () => driver.probe(),

    close: () => driver.close(),
  };
}
