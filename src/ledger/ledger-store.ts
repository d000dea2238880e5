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
import { enqueueDeliveries, type QueuedDelivery } from '../delivery/outbox-store.js';
import type { EachRowStatement, SqlDriver, SqlExecutor } from '../store/sql-driver.js';
import { compareText, durabilityOf } from '../store/sql-driver.js';
import type { InboxState, StoredWebhook } from '../webhooks/inbox-store.js';
import { writeFigureChanges, type FigureChanges } from '../readiness/readiness-store.js';
import { copyToSettle, readsOf, settleCopy, type CopyToSettle } from './occurrence-settle.js';
import { loadWorkspace, type OccurrenceRecord } from './occurrence-workspace.js';
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
   * `settle` for a claimed batch, in one transaction (one commit), or a few when it holds more pairing keys
   * than MAX_KEYS_PER_SETTLE. A webhook that fails never takes the others
   * down with it (they are then settled in transactions of their own); when any failed and is still pending,
   * `PartlySettled` says which.
   */
  settleBatch(items: readonly { readonly webhook: StoredWebhook; readonly conversion: Conversion }[], policy: LedgerPolicy): Promise<SettleResult[]>;
  /** Delivers held occurrences whose grace period is over and whose primary copy never came. */
  rescueDue(now: number, limit: number): Promise<CopyOutcome[]>;
}

const SETTLE_INBOX: EachRowStatement = {
  postgres: `UPDATE inbox SET state = r.state, detail = r.detail, processed_at = r.at
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS r(id, state, detail, at) WHERE inbox.id = r.id`,
  sqlite: 'UPDATE inbox SET state = $2, detail = $3, processed_at = $4 WHERE id = $1',
};

/**
 * When a batch is settled webhook by webhook: below the pipeline's pool of 4 connections
 * (src/jobs/background-thread.ts), so that the delivery job, which runs beside the settle, still gets one.
 */
const POSTGRES_SETTLE_CONCURRENCY = 3;

/**
 * The most pairing keys one settle transaction locks. PostgreSQL holds advisory locks in a lock table shared by
 * every session of the server (about `max_locks_per_transaction` × connections entries), and a transaction
 * that fills it fails every other session's next lock too, appends included. A `read.completed` event fans out
 * into an event per data type, so a batch of them can hold dozens of keys per webhook: such a batch is settled
 * in several transactions of at most this many keys.
 */
export const MAX_KEYS_PER_SETTLE = 1_000;

/**
 * `items` in order, cut into runs of at most `maxKeys` pairing keys (a webhook with more goes alone). A webhook's
 * events count as its keys: a bound, since events may share a key.
 */
export function groupsByKeys<T extends { readonly conversion: Conversion }>(items: readonly T[], maxKeys: number): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let keys = 0;
  for (const item of items) {
    const itemKeys = item.conversion.kind === 'converted' ? item.conversion.events.length : 0;
    if (group.length > 0 && keys + itemKeys > maxKeys) {
      groups.push(group);
      group = [];
      keys = 0;
    }
    group.push(item);
    keys += itemKeys;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export function createLedgerStore(driver: SqlDriver): LedgerStore {
  const { skipLocked } = driver;
  const { redoable } = durabilityOf(driver);

  type Item = { readonly webhook: StoredWebhook; readonly conversion: Conversion };
  type Screened = { readonly webhook: StoredWebhook; readonly conversion: ReturnType<typeof screenConversion> };

  /**
   * Takes every lock settling `items` needs before writing anything, each kind in one order for all: every
   * pairing key of the whole batch (sorted, one round trip), then the inbox rows (by id). Settles and
   * replicas that share keys then queue on the first instead of each holding one the other waits for
   * (deadlock); rows of webhooks without a key are ordered too. Returns each inbox row's state.
   */
  async function lockForSettle(tx: SqlExecutor, items: readonly Screened[]): Promise<Map<number, string>> {
    await tx.lockKeys(items.flatMap(({ conversion }) => (conversion.kind === 'converted' ? conversion.events.map(pairingKeyOf) : [])));
    const ids = [...new Set(items.map((item) => item.webhook.inboxId))].sort((a, b) => a - b);
    const rows = await tx.query<{ id: number; state: string }>(
      `SELECT id, state FROM inbox WHERE id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY id ${skipLocked ? 'FOR UPDATE' : ''}`,
      ids,
    );
    return new Map(rows.map((row) => [Number(row.id), row.state]));
  }

  /**
   * What settling one webhook will do, its locks held: nothing (another replica settled it after our lease ran
   * out, or it came twice in this batch: settling is idempotent), settle it as unconverted, or settle its copies.
   */
  type Plan =
    | { readonly kind: 'already-settled' }
    | { readonly kind: 'not-converted'; readonly inboxId: number; readonly state: 'unrecognised' | 'quarantined'; readonly detail: string }
    | { readonly kind: 'copies'; readonly inboxId: number; readonly copies: readonly CopyToSettle[]; readonly detail: string | null };

  function planOf({ webhook, conversion }: Screened, state: string | undefined, policy: LedgerPolicy): Plan {
    if (state !== 'pending') return { kind: 'already-settled' };
    if (conversion.kind !== 'converted') {
      return { kind: 'not-converted', inboxId: webhook.inboxId, state: conversion.kind === 'unrecognised' ? 'unrecognised' : 'quarantined', detail: conversion.reason };
    }
    return {
      kind: 'copies',
      inboxId: webhook.inboxId,
      copies: conversion.events.map((event, index) => copyToSettle(webhook, conversion.source, event, index, policy)),
      detail: conversion.contracted?.length ? 'contracted' : null,
    };
  }

  /**
   * Settles `items` in the transaction `tx`: one commit for all of them, and a fixed number of statements on
   * PostgreSQL however many they are. Locks first; then every occurrence any copy may pair with is read at once;
   * the copies are decided one after another in memory (each sees the decisions before it); then everything is
   * written back, the readiness counters last.
   */
  async function settleInTransaction(tx: SqlExecutor, items: readonly Item[], policy: LedgerPolicy): Promise<SettleResult[]> {
    // Here, for every caller and both databases alike: text either database would refuse or alter never reaches them.
    const screened = items.map(({ webhook, conversion }): Screened => ({ webhook, conversion: screenConversion(conversion) }));
    const states = await lockForSettle(tx, screened);
    const plans = screened.map((item) => {
      const plan = planOf(item, states.get(item.webhook.inboxId), policy);
      // The same webhook twice in one batch settles once.
      states.delete(item.webhook.inboxId);
      return plan;
    });
    const work = await loadWorkspace(tx, readsOf(plans.flatMap((plan) => (plan.kind === 'copies' ? plan.copies : []))));
    const figures: FigureChanges = new Map();
    const settledRows: (readonly unknown[])[] = [];
    const now = Date.now();
    const results = plans.map((plan): SettleResult => {
      switch (plan.kind) {
        case 'already-settled':
          return { state: 'processed', detail: 'already-settled', copies: [] };
        case 'not-converted':
          settledRows.push([plan.inboxId, plan.state, plan.detail, now]);
          return { state: plan.state, detail: plan.detail, copies: [] };
        case 'copies': {
          const copies = plan.copies.map((copy) => settleCopy(work, copy, policy, figures));
          settledRows.push([plan.inboxId, 'processed', plan.detail, now]);
          return { state: 'processed', detail: plan.detail, copies };
        }
      }
    });
    await work.write(tx);
    if (settledRows.length > 0) await tx.queryEach(SETTLE_INBOX, settledRows);
    await writeFigureChanges(tx, figures);
    return results;
  }

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
      const [result] = await redoable((tx) => settleInTransaction(tx, [{ webhook, conversion }], policy));
      if (!result) throw new Error('a settle of one webhook returned no result');
      return { result };
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
  /**
   * One transaction, one commit for the whole group: group commit on SQLite's one writer, and on PostgreSQL a
   * synchronous commit per group instead of one per webhook. Should it fail (a poison webhook, a deadlock
   * PostgreSQL broke), nothing of it is kept, and each webhook is settled again in a transaction of its own:
   * the one that failed is then found and counted, and the others commit without it.
   */
  async function settleGroup(items: readonly Item[], policy: LedgerPolicy): Promise<Outcome[]> {
    try {
      return (await redoable((tx) => settleInTransaction(tx, items, policy))).map((result) => ({ result }));
    } catch {
      const outcomes = new Array<Outcome>(items.length);
      let next = 0;
      const settleNext = async (): Promise<void> => {
        for (let i = next++; i < items.length; i = next++) {
          const item = items[i];
          // Every transaction has ended when this resolves; the failed webhook stays pending for the next
          // claim (or is quarantined).
          if (item) outcomes[i] = await settleAlone(item, policy);
        }
      };
      // SQLite has one connection; PostgreSQL's pool is shared with appends and delivery.
      const concurrency = driver.dialect === 'sqlite' ? 1 : POSTGRES_SETTLE_CONCURRENCY;
      await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, settleNext));
      return outcomes;
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
      const outcomes: Outcome[] = [];
      for (const group of groupsByKeys(items, MAX_KEYS_PER_SETTLE)) outcomes.push(...(await settleGroup(group, policy)));
      return resultsOf(outcomes);
    },

    rescueDue(now, limit) {
      return redoable(async (tx) => {
        const due = await tx.query<{ id: string; correlation_key: string }>(
          'SELECT id, correlation_key FROM occurrences WHERE rescue_at IS NOT NULL AND rescue_at <= $1 ORDER BY rescue_at LIMIT $2',
          [now, limit],
        );
        const rescued: CopyOutcome[] = [];
        const deliveries: QueuedDelivery[] = [];
        // Keys in the order settles take them (sorted), so a rescue and a settle never wait on each other.
        due.sort((a, b) => compareText(a.correlation_key, b.correlation_key));
        for (const { id, correlation_key } of due) {
          // Same lock order as settle (key, then row), and re-read under the lock: a primary copy may have just won.
          await tx.lockKey(correlation_key);
          const [row] = await tx.query<OccurrenceRecord & Record<string, unknown>>(`SELECT * FROM occurrences WHERE id = $1 ${skipLocked ? 'FOR UPDATE' : ''}`, [id]);
          if (!row || row.delivered_via != null || row.rescue_at == null || row.rescue_at > now) continue;
          const channel: Channel = row.legacy_copy ? 'legacy' : 'events';
          const copy = JSON.parse((row.legacy_copy ?? row.events_copy) as string) as RecordedCopy;
          await tx.execute(
            `UPDATE occurrences SET delivered_via = $2, delivery_reason = 'rescued', decided_at = $3, rescue_at = NULL WHERE id = $1`,
            [id, channel, now],
          );
          deliveries.push({ occurrenceId: id, copy, reason: 'rescued', now });
          rescued.push({ occurrenceId: id, type: copy.event.type, channel, action: 'rescued', reason: 'rescued', lagMs: null, lateChannel: null, mismatches: [] });
        }
        await enqueueDeliveries(tx, deliveries);
        return rescued;
      });
    },

  };
}
