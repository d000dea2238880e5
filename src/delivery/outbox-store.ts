/**
 * The delivery outbox: one row per occurrence to deliver, queued in the same transaction that decided it,
 * claimed with a lease, retried, dead-lettered. Its own SQL, on the one driver both databases share.
 */
import { toDeliveryPayload, type RecordedCopy } from '../domain/delivery-payload.js';
import type { EachRowStatement, SqlDriver, SqlExecutor } from '../store/sql-driver.js';
import { CLAIM_MAX_BYTES, REDOABLE, budgetOf, compareText, cutAtBytes, durabilityOf } from '../store/sql-driver.js';

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

/** A delivery the downstream refused or never answered; `nextAttemptAt` null: it is dead-lettered. */
export interface FailedDelivery {
  readonly occurrenceId: string;
  readonly error: string;
  readonly nextAttemptAt: number | null;
}

export interface OutboxStore {
  claimDueDeliveries(now: number, limit: number, leaseMs: number, maxBytes?: number): Promise<DueDelivery[]>;
  /** Marks deliveries accepted by the downstream, in one transaction. */
  markDelivered(occurrenceIds: readonly string[], now: number): Promise<void>;
  /** Records failed attempts (retried later, or dead-lettered), in one transaction. */
  markDeliveriesFailed(failures: readonly FailedDelivery[]): Promise<void>;
  listDeadLetters(limit: number): Promise<DeadLetter[]>;
  replayDeadLetters(now: number): Promise<number>;
}

/** An occurrence's delivery, decided in the ledger's transaction. */
export interface QueuedDelivery {
  readonly occurrenceId: string;
  readonly copy: RecordedCopy;
  readonly reason: 'primary' | 'only-channel' | 'rescued';
  readonly now: number;
}

const ENQUEUE: EachRowStatement = {
  postgres: `INSERT INTO deliveries (occurrence_id, payload, state, next_attempt_at, created_at, request_id)
    SELECT id, payload, 'pending', at, at, request_id FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS d(id, payload, at, request_id)
    ON CONFLICT (occurrence_id) DO NOTHING`,
  sqlite: `INSERT INTO deliveries (occurrence_id, payload, state, next_attempt_at, created_at, request_id)
    VALUES ($1, $2, 'pending', $3, $3, $4) ON CONFLICT (occurrence_id) DO NOTHING`,
};

/**
 * Queues occurrences' deliveries inside the ledger's transaction: decided and queued commit together. One
 * statement for a whole batch; a delivery already queued (a rescue that came first) is left as it is.
 */
export async function enqueueDeliveries(tx: SqlExecutor, deliveries: readonly QueuedDelivery[]) {
  if (deliveries.length === 0) return;
  await tx.queryEach(
    ENQUEUE,
    deliveries.map(({ occurrenceId, copy, reason, now }) => [occurrenceId, JSON.stringify(toDeliveryPayload(occurrenceId, copy, reason)), now, copy.requestId ?? null]),
  );
}

const MARK_FAILED: EachRowStatement = {
  postgres: `UPDATE deliveries SET attempts = attempts + 1, last_error = f.error, claimed_until = 0,
      state = f.state, next_attempt_at = COALESCE(f.next_attempt_at, deliveries.next_attempt_at)
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS f(id, error, state, next_attempt_at)
    WHERE deliveries.occurrence_id = f.id`,
  sqlite: `UPDATE deliveries SET attempts = attempts + 1, last_error = $2, claimed_until = 0,
      state = $3, next_attempt_at = COALESCE($4, next_attempt_at)
    WHERE occurrence_id = $1`,
};

export function createOutboxStore(driver: SqlDriver): OutboxStore {
  const { skipLocked } = driver;
  const { redoable, claimIndex } = durabilityOf(driver);
  return {
    // Acknowledged, not redoable: what is claimed here leaves the process. Syncing this commit syncs every
    // settle before it (WAL order), so nothing the downstream receives can be undone by a power cut.
    async claimDueDeliveries(now, limit, leaseMs, maxBytes = CLAIM_MAX_BYTES) {
      // Bounded by bytes as well as by count (CLAIM_MAX_BYTES): a payload carries what its event's data held.
      const candidates = `SELECT occurrence_id, next_attempt_at, octet_length(payload) AS size FROM deliveries ${claimIndex('deliveries_due')}
           WHERE state = 'pending' AND next_attempt_at <= $1 AND claimed_until <= $1
           ORDER BY next_attempt_at LIMIT $2 ${skipLocked}`;
      const rows = await driver.statement<{ occurrence_id: string; payload: string; attempts: number; next_attempt_at: number; request_id: string | null }>(
        `UPDATE deliveries SET claimed_until = $3 WHERE occurrence_id IN (${cutAtBytes(candidates, 'occurrence_id', 'next_attempt_at', '$4')})
         RETURNING occurrence_id, payload, attempts, next_attempt_at, request_id`,
        [now, limit, now + leaseMs, budgetOf(maxBytes)],
      );
      rows.sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at));
      return rows.map((r): DueDelivery => ({ occurrenceId: r.occurrence_id, payload: r.payload, attempts: Number(r.attempts), ...(r.request_id ? { requestId: r.request_id } : {}) }));
    },

    // Redoable: a power cut that undoes it leaves the deliveries pending, and they are sent again under the same
    // Idempotency-Key, as after a crash between sending and recording. The next claim syncs it anyway (WAL order).
    async markDelivered(occurrenceIds, now) {
      if (occurrenceIds.length === 0) return;
      await driver.statement(
        `UPDATE deliveries SET state = 'delivered', delivered_at = $1, attempts = attempts + 1, claimed_until = 0
         WHERE occurrence_id IN (${occurrenceIds.map((_, i) => `$${i + 2}`).join(', ')})`,
        [now, ...occurrenceIds],
        REDOABLE,
      );
    },

    async markDeliveriesFailed(failures) {
      if (failures.length === 0) return;
      // One commit for a batch's failures, not one each (a downstream that is down fails them all), the
      // rows in one order for every replica.
      const byId = [...failures].sort((a, b) => compareText(a.occurrenceId, b.occurrenceId));
      await redoable((tx) =>
        tx.queryEach(
          MARK_FAILED,
          byId.map(({ occurrenceId, error, nextAttemptAt }) => [occurrenceId, error.slice(0, 500), nextAttemptAt === null ? 'dead' : 'pending', nextAttemptAt]),
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

  };
}
