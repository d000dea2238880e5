/**
 * The CutoverStore contract on a real PostgreSQL (a database of its own for this file, emptied
 * before each test), plus what only PostgreSQL has: several replicas settling concurrently.
 */
import type { Kysely, Migration } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchema } from '../../src/store/migrate.js';
import { DEFAULT_POSTGRES_TIMEOUTS, createPostgresDriver } from '../../src/store/postgres-driver.js';
import { schemaMigrations } from '../../src/store/schema.js';
import { createSqlCutoverStore } from '../../src/cutover-store.js';
import { MAX_SETTLE_FAILURES, PartlySettled, type CutoverStore, type StoredWebhook } from '../../src/cutover-store.js';
import { describeCutoverStoreContract } from '../contract/cutover-store.contract.js';
import { T0, buildConversion, buildDomainEvent, buildNewWebhook, policy, toStored } from '../support/builders.js';
import { migrateAsThePreviousRelease } from '../fixtures/schema/previous-release-schema.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';

let database: TestDatabase | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

/** A store on its own pool: one "replica". */
function openReplica(poolSize = 5): { store: CutoverStore; truncate(): Promise<void> } {
  if (!database) throw new Error('test database not created');
  const driver = createPostgresDriver(database.url, poolSize);
  return {
    store: createSqlCutoverStore(driver),
    truncate: () => driver.transaction(async (tx) => void (await tx.execute('TRUNCATE inbox, occurrences, window_stats, deliveries RESTART IDENTITY'))),
  };
}

async function freshStore(poolSize = 5): Promise<{ store: CutoverStore; cleanup: () => Promise<void> }> {
  const replica = openReplica(poolSize);
  await replica.store.migrate();
  await replica.truncate();
  return { store: replica.store, cleanup: () => replica.store.close() };
}

describeCutoverStoreContract('PostgreSQL', () => freshStore());

describe('PostgreSQL: a batch whose events fan out', () => {
  it('when a batch would lock more pairing keys than the server\'s lock table holds, then it settles in a few transactions, not in the webhook-by-webhook fallback', async () => {
    if (!database) throw new Error('test database not created');
    let statements = 0;
    const driver = createPostgresDriver(database.url, 5, DEFAULT_POSTGRES_TIMEOUTS, () => { statements += 1; });
    const store = createSqlCutoverStore(driver);
    try {
      await store.migrate();
      await driver.transaction(async (tx) => void (await tx.execute('TRUNCATE inbox, occurrences, window_stats, deliveries RESTART IDENTITY')));
      const limit = Number((await driver.transaction((tx) => tx.query<{ n: string }>(
        `SELECT (current_setting('max_locks_per_transaction')::int * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int))::text AS n`,
      )))[0]?.n);
      // Like read.completed events of 40 data types each: more keys in all than the lock table holds. The server
      // gives the table some slack beyond this product, so three times it.
      const PER_WEBHOOK = 40;
      const count = Math.ceil((limit * 3) / PER_WEBHOOK);
      const webhooks = Array.from({ length: count }, (_, i) => buildNewWebhook({ channel: 'events', dedupeKey: `fan-out-${i}`, receivedAt: T0 + i }));
      const stored = (await store.append(webhooks)).map((result, i) => {
        if (result.status !== 'stored') throw new Error(`webhook ${i} not stored`);
        return toStored(webhooks[i]!, result.inboxId);
      });
      const items = stored.map((webhook) => ({ webhook, conversion: buildConversion(Array.from({ length: PER_WEBHOOK }, () => buildDomainEvent()), 'events') }));

      statements = 0;
      const results = await store.settleBatch(items, policy('legacy', 60_000, 300_000));
      expect(results.every((r) => r.state === 'processed')).toBe(true);
      expect(await store.counts()).toMatchObject({ inboxPending: 0 });
      // A fixed number of statements per transaction of ~1,000 keys; the fallback would send one set per webhook.
      expect(statements, `${statements} statements for ${count} webhooks`).toBeLessThan(count);
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('PostgreSQL: replicas sharing one database', () => {
  const GRACE_MS = 60_000;
  const WINDOW_MS = 300_000;
  const OCCURRENCES = 200;

  it('when two replicas that disagree about the primary settle the two copies of 200 windowed occurrences concurrently, then each occurrence is delivered exactly once', async () => {
    const first = await freshStore(10);
    const second = openReplica(10).store;
    try {
      // Windowed keys: the occurrence id comes from the first copy seen, so without the per-key
      // advisory lock both copies would find no occurrence, each open one, and both deliver.
      const events = Array.from({ length: OCCURRENCES }, (_, i) =>
        buildDomainEvent({
          type: 'connection.connected',
          keyStrength: 'windowed',
          correlationKey: `company-${i}|connection-${i}|Linked`,
          companyId: `company-${i}`,
          connectionId: `connection-${i}`,
          occurredAt: null,
          data: { status: 'Linked' },
        }),
      );
      const legacyWebhooks = events.map((_, i) => buildNewWebhook({ channel: 'legacy', receivedAt: T0 + i }));
      const eventsWebhooks = events.map((_, i) => buildNewWebhook({ channel: 'events', receivedAt: T0 + i + 250 }));
      const appended = await first.store.append([...legacyWebhooks, ...eventsWebhooks]);
      const stored: StoredWebhook[] = appended.map((result, i) => {
        if (result.status !== 'stored') throw new Error(`webhook ${i} not stored`);
        return toStored([...legacyWebhooks, ...eventsWebhooks][i]!, result.inboxId);
      });
      const legacyStored = stored.slice(0, OCCURRENCES);
      const eventsStored = stored.slice(OCCURRENCES);

      // Each replica believes its own channel is primary, so each would deliver what it settles first.
      const legacyIsPrimary = policy('legacy', GRACE_MS, WINDOW_MS);
      const eventsIsPrimary = policy('events', GRACE_MS, WINDOW_MS);
      const results = await Promise.all(
        events.flatMap((event, i) => [
          first.store.settle(legacyStored[i]!, buildConversion([event], 'legacy'), legacyIsPrimary),
          second.settle(eventsStored[i]!, buildConversion([event], 'events'), eventsIsPrimary),
        ]),
      );

      const copies = results.flatMap((r) => r.copies);
      expect(copies).toHaveLength(2 * OCCURRENCES);
      expect(copies.filter((c) => c.action === 'deliver')).toHaveLength(OCCURRENCES);
      expect(copies.filter((c) => c.action === 'match')).toHaveLength(OCCURRENCES);
      for (let i = 0; i < OCCURRENCES; i += 1) {
        const legacyCopy = results[2 * i]?.copies[0];
        const eventsCopy = results[2 * i + 1]?.copies[0];
        expect(eventsCopy?.occurrenceId, `occurrence ${i}`).toBe(legacyCopy?.occurrenceId);
      }

      const due = await first.store.claimDueDeliveries(T0 + 24 * 60 * 60 * 1000, 10 * OCCURRENCES, 30_000);
      expect(due).toHaveLength(OCCURRENCES);
      expect(new Set(due.map((d) => d.occurrenceId)).size).toBe(OCCURRENCES);
      const connections = due.map((d) => (JSON.parse(d.payload) as { connectionId: string }).connectionId);
      expect(new Set(connections).size).toBe(OCCURRENCES);
      expect(await second.counts()).toEqual({ inboxPending: 0, deliveriesPending: OCCURRENCES, deadLetters: 0, quarantined: 0, held: 0 });
    } finally {
      await second.close();
      await first.cleanup();
    }
  });

  it('when PostgreSQL fails some settles of a batch, then the others commit; a transient failure is retried and never counted, any other quarantines its webhook at the bound', async () => {
    if (!database) throw new Error('test database not created');
    const { store, cleanup } = await freshStore(10);
    // PostgreSQL itself raises each failure, with the SQLSTATE the key names: 40001 serialization failure and
    // 40P01 deadlock (transient), 22021 a character it cannot store (about the webhook).
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await admin.query(`CREATE FUNCTION refuse_marked_keys() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.correlation_key LIKE 'refuse-with-%' THEN
            RAISE EXCEPTION 'refused by the test' USING ERRCODE = substr(NEW.correlation_key, 13, 5);
          END IF;
          RETURN NEW;
        END $$`);
      await admin.query('CREATE TRIGGER refuse_marked_keys BEFORE INSERT ON occurrences FOR EACH ROW EXECUTE FUNCTION refuse_marked_keys()');
      const keys = ['ok-0', 'refuse-with-40001', 'refuse-with-40P01', 'refuse-with-22021', 'ok-4'];
      const webhooks = keys.map((_, i) => buildNewWebhook({ channel: 'legacy', dedupeKey: `partly-${i}`, receivedAt: T0 + i }));
      const stored = (await store.append(webhooks)).map((result, i) => {
        if (result.status !== 'stored') throw new Error(`webhook ${i} not stored`);
        return toStored(webhooks[i]!, result.inboxId);
      });
      const items = stored.map((webhook, i) => ({ webhook, conversion: buildConversion([buildDomainEvent({ correlationKey: keys[i]! })], 'legacy') }));
      const ledgerPolicy = policy('legacy', 60_000, 300_000);
      const attempt = (batch: typeof items) => store.settleBatch(batch, ledgerPolicy).then(() => null, (error: unknown) => error);

      const first = await attempt(items);
      expect(first).toBeInstanceOf(PartlySettled);
      expect((first as PartlySettled).settled.map((r) => r?.state)).toEqual(['processed', undefined, undefined, undefined, 'processed']);

      const failing = items.slice(1, 4);
      const statesOf = async (batch: typeof items) => ((await attempt(batch)) as PartlySettled).settled.map((r) => r?.state);
      for (let failures = 2; failures <= MAX_SETTLE_FAILURES; failures += 1) {
        expect(await statesOf(failing), `attempt ${failures}`).toEqual([undefined, undefined, failures === MAX_SETTLE_FAILURES ? 'quarantined' : undefined]);
      }
      const transient = failing.slice(0, 2);
      for (let more = 0; more < 2 * MAX_SETTLE_FAILURES; more += 1) expect(await statesOf(transient)).toEqual([undefined, undefined]);
      expect((await store.listQuarantine(10)).map((q) => [q.inboxId, q.detail])).toEqual([[stored[3]!.inboxId, 'settle_failed:22021']]);
      expect(await store.counts()).toMatchObject({ inboxPending: 2, quarantined: 1, deliveriesPending: 2 });

      // What was transient passes: the two webhooks retried for longer than the bound settle as usual.
      await admin.query('DROP TRIGGER refuse_marked_keys ON occurrences');
      expect((await store.settleBatch(transient, ledgerPolicy)).map((r) => r.state)).toEqual(['processed', 'processed']);
      expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 1, deliveriesPending: 4 });
    } finally {
      await admin.query('DROP TRIGGER IF EXISTS refuse_marked_keys ON occurrences');
      await admin.query('DROP FUNCTION IF EXISTS refuse_marked_keys()');
      await admin.end();
      await cleanup();
    }
  });

  it('when two replicas append the same webhooks at once in opposite orders, then every append commits (no deadlock) and each webhook is stored once', async () => {
    // A Codat retry can reach the other replica while the first copy is still being stored. Two INSERTs
    // that take the same unique keys in opposite orders wait on each other, and PostgreSQL aborts one
    // (a 503 and another retry); in the same order, the second simply waits for the first.
    const first = await freshStore(10);
    const second = openReplica(10).store;
    try {
      const failures: string[] = [];
      let stored = 0;
      for (let round = 0; round < 100; round += 1) {
        const webhooks = Array.from({ length: 40 }, (_, i) => buildNewWebhook({ dedupeKey: `crossing-${round}-${i}` }));
        const outcomes = await Promise.allSettled([first.store.append(webhooks), second.append([...webhooks].reverse())]);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') failures.push(String(outcome.reason));
          else stored += outcome.value.filter((r) => r.status === 'stored').length;
        }
      }

      expect(failures).toEqual([]);
      expect(stored).toBe(100 * 40);
      expect((await first.store.counts()).inboxPending).toBe(100 * 40);
    } finally {
      await second.close();
      await first.cleanup();
    }
  });
});

/**
 * Transactions committed in the test database so far, less this reader's own. A backend reports its counts to
 * PostgreSQL's statistics when it exits, so this first waits until every other client connection has closed;
 * the reader's own transactions (one per query) are reported when it exits, after its reading: `since` takes
 * them off.
 */
async function committedTransactions(): Promise<{ readonly committed: number; readonly reading: number }> {
  if (!database) throw new Error('test database not created');
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  let reading = 0;
  const query = async (sql: string) => {
    reading += 1;
    return (await client.query<{ n: number }>(sql)).rows[0]?.n ?? Number.NaN;
  };
  try {
    for (let wait = 0; wait < 250; wait += 1) {
      const others = await query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      if (others === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const committed = await query('SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = current_database()');
    return { committed, reading };
  } finally {
    await client.end();
  }
}

/** What was committed between two readings, less the first reader's own transactions. */
async function committedSince(before: { readonly committed: number; readonly reading: number }): Promise<number> {
  return (await committedTransactions()).committed - before.committed - before.reading;
}

describe('PostgreSQL: settling claimed batches', () => {
  const GRACE_MS = 60_000;
  const WINDOW_MS = 300_000;

  /** `count` windowed occurrences, and a legacy and a new copy of each appended to the inbox (by a store since closed). */
  async function appendCrossingCopies(count: number) {
    const { store, cleanup } = await freshStore(10);
    try {
      const events = Array.from({ length: count }, (_, i) =>
        buildDomainEvent({
          type: 'connection.connected',
          keyStrength: 'windowed',
          correlationKey: `company-${i}|connection-${i}|Linked`,
          companyId: `company-${i}`,
          connectionId: `connection-${i}`,
          occurredAt: null,
          data: { status: 'Linked' },
        }),
      );
      const webhooks = [
        ...events.map((_, i) => buildNewWebhook({ channel: 'legacy', receivedAt: T0 + i })),
        ...events.map((_, i) => buildNewWebhook({ channel: 'events', receivedAt: T0 + i + 250 })),
      ];
      const stored = (await store.append(webhooks)).map((result, i) => {
        if (result.status !== 'stored') throw new Error(`webhook ${i} not stored`);
        return toStored(webhooks[i]!, result.inboxId);
      });
      return {
        legacy: stored.slice(0, count).map((webhook, i) => ({ webhook, conversion: buildConversion([events[i]!], 'legacy') })),
        events: stored.slice(count).map((webhook, i) => ({ webhook, conversion: buildConversion([events[i]!], 'events') })),
      };
    } finally {
      await cleanup();
    }
  }

  const batchesOf = <T>(items: readonly T[], size: number): T[][] =>
    Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

  it('when a claimed batch of 50 webhooks is settled, then PostgreSQL commits a few transactions, not one per webhook', async () => {
    const { legacy } = await appendCrossingCopies(50);
    const before = await committedTransactions();
    const replica = openReplica(10);
    try {
      const results = await replica.store.settleBatch(legacy, policy('legacy', GRACE_MS, WINDOW_MS));
      expect(results.flatMap((r) => r.copies.map((c) => c.action))).toEqual(Array(50).fill('deliver'));
    } finally {
      await replica.store.close();
    }
    // The batch's one commit; each new connection's start-up and the second reader's first query commit one more.
    expect(await committedSince(before)).toBeLessThanOrEqual(6);
  });

  /** A store whose driver counts every statement it sends (the driver's own counter: BEGIN and COMMIT included). */
  function countingReplica(): { store: CutoverStore; statements: () => number } {
    if (!database) throw new Error('test database not created');
    let statements = 0;
    const driver = createPostgresDriver(database.url, 10, DEFAULT_POSTGRES_TIMEOUTS, () => void (statements += 1));
    return { store: createSqlCutoverStore(driver), statements: () => statements };
  }

  it('when claimed batches of 10 and of 50 webhooks are settled, then both take the same few statements: none per webhook', async () => {
    const statementsFor = async (count: number) => {
      const { legacy, events } = await appendCrossingCopies(count);
      const replica = countingReplica();
      try {
        const first = replica.statements();
        const paired = await replica.store.settleBatch([...legacy, ...events], policy('legacy', GRACE_MS, WINDOW_MS));
        // Each occurrence's two copies in one batch: the later sees what the earlier decided.
        expect(paired.flatMap((r) => r.copies.map((c) => c.action))).toEqual([...Array(count).fill('deliver'), ...Array(count).fill('match')]);
        return replica.statements() - first;
      } finally {
        await replica.store.close();
      }
    };
    const small = await statementsFor(10);
    const large = await statementsFor(50);
    // BEGIN, the locks, the inbox rows, two reads of occurrences, one write each of occurrences, deliveries and
    // inbox, COMMIT.
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(10);
  });

  it('when two replicas that disagree about the primary settle crossing batches of the two copies of 400 occurrences concurrently, then each occurrence is delivered exactly once, and no batch fell back to a transaction per webhook', async () => {
    const OCCURRENCES = 400;
    const BATCH = 50;
    const { legacy, events } = await appendCrossingCopies(OCCURRENCES);
    const before = await committedTransactions();
    const first = openReplica(10).store;
    const second = openReplica(10).store;
    let results;
    try {
      // One replica walks the occurrences up, the other down, a batch at a time on each of two settlers: their
      // batches share keys in opposite orders, which taken one webhook at a time inside a batch is a deadlock.
      const settle = (store: CutoverStore, batches: (typeof legacy)[], primary: 'legacy' | 'events') => {
        const ledgerPolicy = policy(primary, GRACE_MS, WINDOW_MS);
        const queue = [...batches];
        const settler = async () => {
          const settled = [];
          for (let batch = queue.shift(); batch; batch = queue.shift()) settled.push(...(await store.settleBatch(batch, ledgerPolicy)));
          return settled;
        };
        return Promise.all([settler(), settler()]).then((r) => r.flat());
      };
      results = (await Promise.all([
        settle(first, batchesOf(legacy, BATCH), 'legacy'),
        settle(second, batchesOf([...events].reverse(), BATCH), 'events'),
      ])).flat();
    } finally {
      await second.close();
      await first.close();
    }
    const commits = await committedSince(before);

    const copies = results.flatMap((r) => r.copies);
    expect(copies).toHaveLength(2 * OCCURRENCES);
    expect(copies.filter((c) => c.action === 'deliver')).toHaveLength(OCCURRENCES);
    expect(copies.filter((c) => c.action === 'match')).toHaveLength(OCCURRENCES);
    expect(new Set(copies.map((c) => c.occurrenceId)).size).toBe(OCCURRENCES);
    // One commit per batch (16), and one per new connection and reader's query: a batch that deadlocked, and was
    // settled again webhook by webhook, would have added its 50.
    expect(commits).toBeLessThanOrEqual(2 * (OCCURRENCES / BATCH) + 10);

    const check = openReplica(10).store;
    try {
      const due = await check.claimDueDeliveries(T0 + 24 * 60 * 60 * 1000, 10 * OCCURRENCES, 30_000);
      expect(due).toHaveLength(OCCURRENCES);
      expect(new Set(due.map((d) => (JSON.parse(d.payload) as { connectionId: string }).connectionId)).size).toBe(OCCURRENCES);
      expect(await check.counts()).toEqual({ inboxPending: 0, deliveriesPending: OCCURRENCES, deadLetters: 0, quarantined: 0, held: 0 });
    } finally {
      await check.close();
    }
  });
});

describe('PostgreSQL: the schema', () => {
  it('when several replicas start at once on an empty database, then every one of them migrates (none fails on the other\'s tables)', async () => {
    // Replicas of a new deployment start together. Two concurrent CREATE TABLE IF NOT EXISTS of the same table
    // both pass the "not exists" check, and the second fails on PostgreSQL's catalogue (pg_type's unique index):
    // the replica would crash at start.
    const empty = await createTestDatabase('cutover_schema');
    const drivers = Array.from({ length: 4 }, () => createPostgresDriver(empty.url, 2));
    const replicas = drivers.map((driver) => createSqlCutoverStore(driver));
    try {
      // Connected first, so that the four migrations start together rather than as each pool connects.
      await Promise.all(drivers.map((driver) => driver.transaction(async (tx) => tx.query('SELECT 1'))));
      const outcomes = await Promise.allSettled(replicas.map((replica) => replica.migrate()));

      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []))).toEqual([]);
      for (const replica of replicas) expect((await replica.counts()).inboxPending).toBe(0);
    } finally {
      await Promise.allSettled(replicas.map((replica) => replica.close()));
      await empty.drop();
    }
  });

  /** A database the previous release made and used: a webhook waiting, one settled into an occurrence and its delivery. */
  async function previousReleaseDatabase(url: string): Promise<void> {
    const driver = createPostgresDriver(url, 2);
    await migrateAsThePreviousRelease(driver);
    const store = createSqlCutoverStore(driver);
    // This release's store writes deliveries.request_id: the column is there while it fills the rows, then gone.
    await driver.transaction((tx) => tx.execute('ALTER TABLE deliveries ADD COLUMN request_id TEXT'));
    await store.append([buildNewWebhook({ dedupeKey: 'settled-by-the-old-release', receivedAt: T0 })]);
    const [settled] = await store.claimPending(T0 + 1_000, 10, 30_000);
    await store.settle(settled!, buildConversion([buildDomainEvent({ correlationKey: 'kept|1' })], 'legacy'), policy('legacy', 60_000, 300_000));
    await store.append([buildNewWebhook({ dedupeKey: 'waiting-in-the-old-release', receivedAt: T0 })]);
    await driver.transaction((tx) => tx.execute('ALTER TABLE deliveries DROP COLUMN request_id'));
    await store.close();
  }

  const occurredAtNullable = async (admin: pg.Client) =>
    (await admin.query<{ is_nullable: string }>(`SELECT is_nullable FROM information_schema.columns WHERE table_name = 'occurrences' AND column_name = 'occurred_at'`)).rows[0]?.is_nullable;
  const recordedSteps = async (admin: pg.Client) => (await admin.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')).rows.map((r) => r.name);
  const allSteps = Object.keys(schemaMigrations('postgres'));

  it('when a database made by the previous release is migrated while a replica of it is storing a webhook, then it is adopted without waiting for that, altered in place and its rows are kept', async () => {
    const old = await createTestDatabase('cutover_upgrade');
    const admin = new pg.Client({ connectionString: old.url });
    await admin.connect();
    const storing = new pg.Client({ connectionString: old.url });
    await storing.connect();
    const driver = createPostgresDriver(old.url, 2);
    const store = createSqlCutoverStore(driver);
    try {
      await previousReleaseDatabase(old.url);
      expect(await occurredAtNullable(admin)).toBe('YES');
      const occurrencesBefore = (await admin.query('SELECT * FROM occurrences')).rows;
      const deliveriesBefore = (await admin.query('SELECT * FROM deliveries')).rows;
      expect(occurrencesBefore).toHaveLength(1);

      // Re-running the baseline's CREATE INDEX IF NOT EXISTS would wait for this (its SHARE lock on inbox);
      // adopting the database does not touch inbox.
      await storing.query('BEGIN');
      await storing.query(`INSERT INTO inbox (channel, endpoint, dedupe_key, received_at, headers, body, state) VALUES ('legacy', 'legacy', 'in-flight', 0, '{}', '\\x00', 'pending')`);
      let timer: NodeJS.Timeout | undefined;
      const ran = await Promise.race([
        migrateSchema(driver),
        new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting after 5 s'), 5_000))),
      ]).finally(() => clearTimeout(timer));
      await storing.query('ROLLBACK');

      expect(ran).toEqual(allSteps);
      expect(await recordedSteps(admin)).toEqual(allSteps);
      expect(await occurredAtNullable(admin)).toBe('NO');
      expect((await admin.query(`SELECT to_regclass('cutover_schema_version') AS t`)).rows).toEqual([{ t: null }]);
      expect((await admin.query('SELECT * FROM occurrences')).rows).toEqual(occurrencesBefore);
      expect((await admin.query('SELECT * FROM deliveries')).rows).toEqual(deliveriesBefore.map((row) => ({ ...(row as object), request_id: null })));
      const [waiting] = await store.claimPending(T0 + 1_000, 10, 30_000);
      expect(waiting?.dedupeKey).toBe('waiting-in-the-old-release');
      await store.settle(waiting!, buildConversion([buildDomainEvent({ correlationKey: 'new|1' })], 'legacy'), policy('legacy', 60_000, 300_000));
      expect((await store.counts()).deliveriesPending).toBe(2);

      expect(await migrateSchema(driver)).toEqual([]);
    } finally {
      await store.close();
      await storing.end();
      await admin.end();
      await old.drop();
    }
  });

  it('when a database an older release left short (no settle-failure count, another fingerprint) is migrated, then the baseline completes it and its webhooks are kept', async () => {
    const old = await createTestDatabase('cutover_upgrade');
    const admin = new pg.Client({ connectionString: old.url });
    await admin.connect();
    const store = createSqlCutoverStore(createPostgresDriver(old.url, 2));
    try {
      await previousReleaseDatabase(old.url);
      await admin.query(`ALTER TABLE inbox DROP COLUMN settle_failures; UPDATE cutover_schema_version SET version = 'an older release'`);
      const columns = async () =>
        (await admin.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'inbox'`)).rows.map((r) => r.column_name);
      expect(await columns()).not.toContain('settle_failures');

      await store.migrate();
      await store.migrate();
      expect(await columns()).toContain('settle_failures');
      expect(await recordedSteps(admin)).toEqual(allSteps);
      expect((await store.claimPending(T0 + 1_000, 10, 30_000)).map((w) => w.dedupeKey)).toEqual(['waiting-in-the-old-release']);
      expect((await admin.query(`SELECT settle_failures FROM inbox WHERE dedupe_key = 'waiting-in-the-old-release'`)).rows).toEqual([{ settle_failures: 0 }]);
    } finally {
      await store.close();
      await admin.end();
      await old.drop();
    }
  });

  it('when two replicas migrate an empty database at once, then the second waits for the first, both end, and each step runs once', async () => {
    const empty = await createTestDatabase('cutover_schema');
    const observer = new pg.Client({ connectionString: empty.url });
    await observer.connect();
    const drivers = [createPostgresDriver(empty.url, 2), createPostgresDriver(empty.url, 2)];
    // The real steps, counted; the first replica's baseline holds on until the test lets it go.
    const runs = new Map<string, number>();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const counted = (hold: boolean): Record<string, Migration> =>
      Object.fromEntries(Object.entries(schemaMigrations('postgres')).map(([name, step]) => [name, {
        async up(db: Kysely<unknown>) {
          runs.set(name, (runs.get(name) ?? 0) + 1);
          if (hold && name === '0001_baseline') {
            entered();
            await held;
          }
          await step.up(db);
        },
      }]));
    try {
      const first = migrateSchema(drivers[0]!, counted(true));
      await inside;
      const second = migrateSchema(drivers[1]!, counted(false));
      let secondDone = false;
      void second.then(() => (secondDone = true), () => (secondDone = true));
      // The second replica is waiting on the migrator's advisory lock while the first is inside its steps.
      const advisoryWaits = async () =>
        Number((await observer.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0]?.n);
      for (let i = 0; i < 200 && (await advisoryWaits()) === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await advisoryWaits()).toBe(1);
      expect(secondDone).toBe(false);

      release();
      const [ranFirst, ranSecond] = await Promise.all([first, second]);
      expect(ranFirst).toEqual(allSteps);
      expect(ranSecond).toEqual([]);
      expect(Object.fromEntries(runs)).toEqual(Object.fromEntries(allSteps.map((name) => [name, 1])));
      expect(await recordedSteps(observer)).toEqual(allSteps);
    } finally {
      release();
      await observer.end();
      await Promise.allSettled(drivers.map((driver) => driver.close()));
      await empty.drop();
    }
  });

  it('when a replica restarts while another is writing occurrences (as a settle does), then its migration does not wait for that transaction', async () => {
    // CREATE INDEX IF NOT EXISTS locks its table before it finds the index: run on a current schema, it would
    // wait for every transaction writing the table (and stall the appends queued behind it).
    if (!database) throw new Error('test database not created');
    const running = await freshStore();
    const settling = new pg.Client({ connectionString: database.url });
    await settling.connect();
    const restarted = openReplica().store;
    try {
      await settling.query('BEGIN');
      await settling.query(`INSERT INTO occurrences (id, type, correlation_key, key_strength, first_seen_at, occurred_at) VALUES ('in-flight', 'dataset.synced', 'k|1', 'strong', 0, 0)`);

      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        restarted.migrate().then(() => 'migrated'),
        new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting after 5 s'), 5_000))),
      ]).finally(() => clearTimeout(timer));

      expect(outcome).toBe('migrated');
    } finally {
      await settling.query('ROLLBACK');
      await settling.end();
      await restarted.close();
      await running.cleanup();
    }
  });
});
