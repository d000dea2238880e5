/**
 * The durable store, as the service uses it: each stage's store (inbox, ledger, outbox, readiness, the
 * operator's queries) on one driver, plus what spans them (schema, retention, leases, health). SQLite embedded
 * or PostgreSQL, one SQL path, one contract-test suite (test/contract/cutover-store.contract.ts).
 */
import { createDeadLetterQueries, type DeadLetterQueries } from './delivery/dead-letter-queries.js';
import { createOutboxStore, type OutboxStore } from './delivery/outbox-store.js';
import { createLedgerStore, type LedgerStore } from './ledger/ledger-store.js';
import { createCutoverDetailsQuery, type CutoverDetailsQuery } from './readiness/cutover-details-query.js';
import { HOUR_MS, createReadinessStore, type ReadinessStore } from './readiness/readiness-store.js';
import { migrateSchema } from './store/migrate.js';
import type { SqlDriver } from './store/sql-driver.js';
import { createInboxStore, type InboxStore } from './webhooks/inbox-store.js';
import { createQuarantineQueries, type QuarantineQueries } from './webhooks/quarantine-queries.js';

export { MAX_PAGE } from './store/page-cursor.js';
export type { AppendResult, InboxState, NewWebhook, QuarantinedWebhook, StoredWebhook } from './webhooks/inbox-store.js';
export type { QuarantineDetail, QuarantineQuery, QuarantineSummary } from './webhooks/quarantine-queries.js';
export { MAX_SETTLE_FAILURES, PartlySettled, type CopyOutcome, type LedgerPolicy, type SettleResult } from './ledger/ledger-store.js';
export type { DeadLetter, DueDelivery } from './delivery/outbox-store.js';
export type { DeadLetterDetail, DeadLetterQuery, DeadLetterSummary } from './delivery/dead-letter-queries.js';
export type { ClosedOccurrence, StoreCounts } from './readiness/readiness-store.js';
export type { CompanyProgress, CutoverDetails, HourFigures } from './readiness/cutover-details-query.js';

/** What the operator asks (the CLI, /admin, the /cutover page). */
export type OperatorQueries = DeadLetterQueries & QuarantineQueries & CutoverDetailsQuery;

export interface CutoverStore extends InboxStore, LedgerStore, OutboxStore, ReadinessStore, DeadLetterQueries, QuarantineQueries, CutoverDetailsQuery {
  migrate(): Promise<void>;
  /**
   * Ends every lease (inbox and outbox). Only for a store one process owns (the embedded one):
   * after a crash its leases belong to nobody, and waiting for them to run out only delays recovery.
   */
  releaseLeases(): Promise<void>;
  /** Retention: forgets settled webhooks, decided occurrences and finished deliveries older than `before`. */
  purge(before: number): Promise<number>;
  /** Resolves if a write could be taken now (not merely a read): what /readyz asks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function createSqlCutoverStore(driver: SqlDriver): CutoverStore {
  return {
    ...createInboxStore(driver),
    ...createQuarantineQueries(driver),
    ...createLedgerStore(driver),
    ...createOutboxStore(driver),
    ...createDeadLetterQueries(driver),
    ...createReadinessStore(driver),
    ...createCutoverDetailsQuery(driver),
    migrate: async () => {
      await migrateSchema(driver);
    },
    async releaseLeases() {
      await driver.transaction(async (tx) => {
        await tx.execute(`UPDATE inbox SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0`);
        await tx.execute(`UPDATE deliveries SET claimed_until = 0 WHERE state = 'pending' AND claimed_until > 0`);
      });
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

    ping: () => driver.probe(),
    close: () => driver.close(),
  };
}
