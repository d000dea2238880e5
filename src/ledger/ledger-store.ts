/**
 * The cross-channel ledger: one row per real-world occurrence. A claimed webhook's conversion is settled here,
 * atomically with its inbox row and the deliveries it decides, one webhook or one batch at a time.
 */
import type { Channel, Conversion } from '../domain/domain-event.js';
import type { CopyDecision, DeliveryReason } from '../domain/ledger.js';
import { pairingKeyOf } from '../domain/correlation-key.js';
import type { RecordedCopy } from '../domain/delivery-payload.js';
import { screenConversion } from '../domain/conversion-screening.js';
import type { DomainEventType } from '../domain/domain-event.js';
import { enqueueDelivery } from '../delivery/outbox-store.js';
import type { SqlDriver, SqlExecutor } from '../store/sql-driver.js';
import { compareText, durabilityOf } from '../store/sql-driver.js';
import type { InboxState, StoredWebhook } from '../webhooks/inbox-store.js';
import { settleEvent, type OccurrenceRow } from './occurrence-settle.js';
import { classifySettleFailure } from './settle-failure.js';

export interface LedgerPolicy {
  /** Read from the toggle when the copy is settled. */
  primaryFor(companyId: string | null): Channel;
  readonly graceMs: number;
  readonly windowMs: number;
}

export interface CopyOutcome {
  readonly occurrenceId: string;
  readonly type: DomainEventType;
  readonly channel: Channel;
  readonly action: CopyDecision['action'] | 'rescued';
  readonly reason: DeliveryReason | null;
  /** When this copy completes a pair: how much later it arrived than the other channel's copy. */
  readonly lagMs: number | null;
  /** When this copy completes a pair: the channel whose copy arrived later. */
  readonly lateChannel: Channel | null;
  /** When this copy completes a pair: the fields on which the two conversions disagree. */
  readonly mismatches: readonly string[];
}

export interface SettleResult {
  readonly state: Exclude<InboxState, 'pending'>;
  readonly detail: string | null;
  readonly copies: readonly CopyOutcome[];
}

/**
 * Failed settles after which a webhook is quarantined (`settle_failed:<code>`) instead of claimed again.
 * Only failures that are about the webhook count (src/store/settle-failure.ts); a lost connection or a
 * deadlock never does. A replay of the quarantine starts the count again.
 */
export const MAX_SETTLE_FAILURES = 3;

/**
 * Thrown by `settleBatch` when some of the batch committed and some did not: `settled[i]` is
 * the result of the i-th item, undefined where it failed and stays pending for the next claim (or, after
 * MAX_SETTLE_FAILURES, it is the quarantine's result). The caller can still count what did settle.
 */
export class PartlySettled extends Error {
  constructor(
    readonly settled: readonly (SettleResult | undefined)[],
    readonly failure: unknown,
  ) {
    super(`${settled.filter((r) => r === undefined).length} of ${settled.length} webhooks not settled: ${String(failure)}`);
    this.name = 'PartlySettled';
  }
}

export interface LedgerStore {
  /**
   * Runs the ledger over one webhook's conversion and settles the inbox row, atomically. A failure is
   * rethrown; after MAX_SETTLE_FAILURES of those that count, the webhook is quarantined instead.
   */
  settle(webhook: StoredWebhook, conversion: Conversion, policy: LedgerPolicy): Promise<SettleResult>;
  /**
   * `settle` for a claimed batch, committed together where the database allows it (group commit). A webhook
   * that fails never takes the others down with it (they settle in transactions of their own); when any
   * failed and is still pending, `PartlySettled` says which.
   */
  settleBatch(items: readonly { readonly webhook: StoredWebhook; readonly conversion: Conversion }[], policy: LedgerPolicy): Promise<SettleResult[]>;
  /** Delivers held occurrences whose grace period is over and whose primary copy never came. */
  rescueDue(now: number, limit: number): Promise<CopyOutcome[]>;
}

/** Below the pool's 10 connections, which appends and delivery also need. */
const POSTGRES_SETTLE_CONCURRENCY = 4;

export function createLedgerStore(driver: SqlDriver): LedgerStore {
  const { skipLocked } = driver;
  const { redoable } = durabilityOf(driver);

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
      copies.push(await settleEvent(driver.dialect, tx, webhook, conversion.source, event, index, policy));
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

  return {
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
      const outcomes = new Array<Outcome>(items.length);
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

  };
}
