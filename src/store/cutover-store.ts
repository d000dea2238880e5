/**
 * The durable store: the inbox (every webhook, stored before it is acknowledged), the
 * cross-channel ledger (one row per real-world occurrence) and the delivery outbox.
 * One interface, two implementations on one SQL code path (SQLite embedded, PostgreSQL),
 * one shared contract-test suite (test/contract/cutover-store.contract.ts).
 */
import type { Channel, Conversion, DomainEventType } from '../domain/domain-event.js';
import type { CopyDecision, DeliveryReason } from '../domain/ledger.js';
import type { TypeStats } from '../domain/readiness.js';
import type { OperatorQueries } from './operator-queries.js';

export type InboxState = 'pending' | 'processed' | 'unrecognised' | 'quarantined';

export interface NewWebhook {
  /** The wire format (decides primary/shadow). */
  readonly channel: Channel;
  /** The URL it arrived on. */
  readonly endpoint: Channel;
  /** `webhook-id` header when present, else the body's `AlertId`/`id`, else a hash of the body. */
  readonly dedupeKey: string;
  readonly receivedAt: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** Authentic but unusable bodies (e.g. malformed JSON) are kept in quarantine with the reason. */
  readonly state: 'pending' | 'quarantined';
  readonly detail: string | null;
}

export type AppendResult = { readonly status: 'stored'; readonly inboxId: number } | { readonly status: 'duplicate' };

export interface StoredWebhook {
  readonly inboxId: number;
  readonly channel: Channel;
  readonly endpoint: Channel;
  readonly dedupeKey: string;
  readonly receivedAt: number;
  readonly body: Buffer;
  /** The id of the request that brought it (src/http/access-log.ts), when it was recorded. */
  readonly requestId?: string;
}

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

/** One occurrence whose correlation window has just closed: which channels delivered a copy. */
export interface ClosedOccurrence {
  readonly type: DomainEventType;
  readonly seen: 'both' | 'legacy_only' | 'events_only';
}

export interface SettleResult {
  readonly state: Exclude<InboxState, 'pending'>;
  readonly detail: string | null;
  readonly copies: readonly CopyOutcome[];
}

export interface DueDelivery {
  readonly occurrenceId: string;
  readonly payload: string;
  readonly attempts: number;
  /** The request that brought the delivered copy, when known: the delivery's log lines carry it. */
  readonly requestId?: string;
}

/** What an operator sees of a dead letter: ids and reasons, never the body (docs/security.md). */
export interface DeadLetter {
  readonly occurrenceId: string;
  readonly attempts: number;
  readonly lastError: string | null;
}

export interface QuarantinedWebhook {
  readonly inboxId: number;
  readonly channel: Channel;
  readonly state: 'unrecognised' | 'quarantined';
  readonly detail: string | null;
  readonly receivedAt: number;
}

export interface StoreCounts {
  readonly inboxPending: number;
  readonly deliveriesPending: number;
  readonly deadLetters: number;
  readonly quarantined: number;
  readonly held: number;
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

/** The operator's queries (src/store/operator-queries.ts) are part of every store. */
export interface CutoverStore extends OperatorQueries {
  /** Marks occurrences whose window ended before `now - windowMs` as closed, once, and returns them. */
  closeWindows(now: number, windowMs: number, limit: number): Promise<ClosedOccurrence[]>;
  /** Per-type figures over occurrences first seen since `since`, for the readiness verdict. */
  cutoverStats(since: number): Promise<TypeStats[]>;
  migrate(): Promise<void>;
  /** Stores the webhooks in one transaction; resolves only once they are committed. */
  append(webhooks: readonly NewWebhook[]): Promise<AppendResult[]>;
  /**
   * Ends every lease (inbox and outbox). Only for a store one process owns (the embedded one):
   * after a crash its leases belong to nobody, and waiting for them to run out only delays recovery.
   */
  releaseLeases(): Promise<void>;
  /** Leases pending inbox rows to this process (several replicas may claim concurrently). */
  claimPending(now: number, limit: number, leaseMs: number): Promise<StoredWebhook[]>;
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
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]>;
  /** Marks deliveries accepted by the downstream, in one transaction. */
  markDelivered(occurrenceIds: readonly string[], now: number): Promise<void>;
  /** `nextAttemptAt` null: the delivery is dead-lettered. */
  markDeliveryFailed(occurrenceId: string, error: string, nextAttemptAt: number | null): Promise<void>;
  listDeadLetters(limit: number): Promise<DeadLetter[]>;
  replayDeadLetters(now: number): Promise<number>;
  listQuarantine(limit: number): Promise<QuarantinedWebhook[]>;
  /** Puts quarantined and unrecognised webhooks back in the queue, e.g. after the mapping was fixed. */
  replayQuarantine(now: number): Promise<number>;
  /** Retention: forgets settled webhooks, decided occurrences and finished deliveries older than `before`. */
  purge(before: number): Promise<number>;
  counts(): Promise<StoreCounts>;
  /** Resolves if a write could be taken now (not merely a read): what /readyz asks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
