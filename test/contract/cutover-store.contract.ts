/**
 * The behaviour every CutoverStore must have, whatever database is underneath: the durable inbox,
 * the cross-channel ledger (one delivery per real-world occurrence, whichever channel is primary
 * and however the toggle flips between the copies) and the delivery outbox.
 *
 * Run by test/unit/sqlite-cutover-store.test.ts and test/integration/postgres-cutover-store.test.ts.
 * `makeStore` must hand out a migrated, empty store each time.
 */
import { randomBytes } from 'node:crypto';
import { buildKey, optionalPart } from '../../src/domain/correlation-key.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Channel, DomainEvent, DomainEventType, KeyStrength, WebhookSource } from '../../src/domain/domain-event.js';
import type { DeliveryPayload } from '../../src/domain/delivery-payload.js';
import { occurrenceIdFor } from '../../src/domain/ledger.js';
import { eventsFormat } from '../../src/formats/events/events-format.js';
import { legacyFormat } from '../../src/formats/legacy/legacy-format.js';
import { MAX_SETTLE_FAILURES, type CopyOutcome, type CutoverStore, type LedgerPolicy, type NewWebhook, type StoredWebhook } from '../../src/cutover-store.js';
import {
  T0,
  buildConversion,
  buildDomainEvent,
  buildInvalid,
  buildNewWebhook,
  buildUnrecognised,
  policy,
  toStored,
} from '../support/builders.js';
import { loadSample } from '../support/samples.js';

const GRACE_MS = 60_000;
const WINDOW_MS = 300_000;
const LEASE_MS = 30_000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Long after every time the tests use: everything enqueued is due by then. */
const LATER = T0 + DAY_MS;

const legacyPrimary = policy('legacy', GRACE_MS, WINDOW_MS);
const eventsPrimary = policy('events', GRACE_MS, WINDOW_MS);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let windowedSequence = 0;
/** `connection.connected`: carried by both channels, keyed by company + connection + status (windowed). */
function windowedEvent(overrides: Partial<DomainEvent> = {}): DomainEvent {
  windowedSequence += 1;
  return buildDomainEvent({
    type: 'connection.connected',
    keyStrength: 'windowed',
    correlationKey: `company-1|connection-${windowedSequence}|Linked`,
    occurredAt: null,
    connectionId: `connection-${windowedSequence}`,
    data: { status: 'Linked' },
    ...overrides,
  });
}

/** `write.succeeded` (strong key) or `connection.connected` (windowed key): both channels carry either. */
const bothChannelsEvent = (strength: KeyStrength): DomainEvent => (strength === 'strong' ? buildDomainEvent() : windowedEvent());

const idsOf = (due: readonly { occurrenceId: string }[]) => due.map((d) => d.occurrenceId);

const other = (channel: Channel): Channel => (channel === 'legacy' ? 'events' : 'legacy');

/** What a settle that is expected to fail failed with (null if it did not fail). */
const failureOf = (settling: Promise<unknown>): Promise<unknown> => settling.then(() => null, (error: unknown) => error);

/**
 * A mapper bug: an event of a type the ledger does not know. Settling it throws inside the transaction, the
 * same way on every database (no text of it is odd: the failure is not one the store can screen out).
 */
const poisonEvent = (): DomainEvent => buildDomainEvent({ type: 'no.such.type' as DomainEventType });

type JsonRecord = Record<string, unknown>;
/** A Codat sample body, changed by `edit` (the samples are parsed afresh each time). */
function sampleWith(name: string, edit: (body: JsonRecord & { Data: JsonRecord; payload: JsonRecord }) => void): unknown {
  const body = loadSample(name) as JsonRecord & { Data: JsonRecord; payload: JsonRecord };
  edit(body);
  return body;
}

export function describeCutoverStoreContract(
  name: string,
  makeStore: () => Promise<{ store: CutoverStore; cleanup: () => Promise<void> }>,
): void {
  describe(`CutoverStore contract: ${name}`, () => {
    let store: CutoverStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    /** Appends one webhook, expects it stored, and returns it as a claim would. */
    async function receive(overrides: Partial<NewWebhook> = {}): Promise<StoredWebhook> {
      const webhook = buildNewWebhook(overrides);
      const [result] = await store.append([webhook]);
      if (result?.status !== 'stored') throw new Error(`expected ${webhook.dedupeKey} to be stored, got ${JSON.stringify(result)}`);
      return toStored(webhook, result.inboxId);
    }

    /** One channel's copy of `event`, received at `at` and settled under `ledgerPolicy`. */
    async function copyOf(
      event: DomainEvent,
      channel: Channel,
      at: number,
      ledgerPolicy: LedgerPolicy,
      source: WebhookSource | Channel = channel,
    ): Promise<CopyOutcome & { webhook: StoredWebhook }> {
      const webhook = await receive({ channel, receivedAt: at });
      const result = await store.settle(webhook, buildConversion([event], source), ledgerPolicy);
      expect(result.state).toBe('processed');
      expect(result.copies).toHaveLength(1);
      const [copy] = result.copies;
      if (!copy) throw new Error('no copy outcome');
      return { ...copy, webhook };
    }

    /** Claims (and so leases) every due delivery and returns the parsed payloads. */
    async function claimPayloads(now = LATER): Promise<DeliveryPayload[]> {
      const due = await store.claimDueDeliveries(now, 10_000, LEASE_MS);
      return due.map((d) => JSON.parse(d.payload) as DeliveryPayload);
    }

    describe('append', () => {
      it('when webhooks are appended, then each is stored with its own id and claimed back exactly as stored', async () => {
        const a = buildNewWebhook({ channel: 'legacy', receivedAt: T0 });
        // A new-format body posted to the legacy URL: channel and endpoint are kept apart.
        const b = buildNewWebhook({ channel: 'events', endpoint: 'legacy', receivedAt: T0 + 1 });
        const results = await store.append([a, b]);

        expect(results.map((r) => r.status)).toEqual(['stored', 'stored']);
        const [ra, rb] = results;
        if (ra?.status !== 'stored' || rb?.status !== 'stored') throw new Error('not stored');
        expect(ra.inboxId).not.toBe(rb.inboxId);
        // Claimed oldest first, by id. Within one append the ids follow (channel, dedupe key), the order in
        // which the rows are inserted so that concurrent appends cannot deadlock: here b (events) before a.
        expect(await store.claimPending(T0 + 10, 10, LEASE_MS)).toEqual([toStored(b, rb.inboxId), toStored(a, ra.inboxId)]);
      });

      it('when an empty batch is appended, then nothing is stored', async () => {
        expect(await store.append([])).toEqual([]);
        expect((await store.counts()).inboxPending).toBe(0);
      });

      it('when a webhook is delivered again on the same channel, then the redelivery is a duplicate and the first copy is kept', async () => {
        const first = await receive({ channel: 'legacy', dedupeKey: 'alert-1', body: Buffer.from('{"first":true}') });
        const redelivery = buildNewWebhook({ channel: 'legacy', dedupeKey: 'alert-1', receivedAt: T0 + 5_000, body: Buffer.from('{"second":true}') });

        expect(await store.append([redelivery])).toEqual([{ status: 'duplicate' }]);
        expect(await store.claimPending(LATER, 10, LEASE_MS)).toEqual([first]);
      });

      it('when one batch holds the same webhook twice, then the first is stored and the second is a duplicate', async () => {
        const a = buildNewWebhook({ dedupeKey: 'alert-a' });
        const b = buildNewWebhook({ dedupeKey: 'alert-b' });
        const results = await store.append([a, b, { ...a, body: Buffer.from('{"again":true}') }]);

        expect(results.map((r) => r.status)).toEqual(['stored', 'stored', 'duplicate']);
        const claimed = await store.claimPending(LATER, 10, LEASE_MS);
        expect(claimed.map((w) => [w.inboxId, w.dedupeKey, w.body.toString()])).toEqual([
          [(results[0] as { inboxId: number }).inboxId, 'alert-a', a.body.toString()],
          [(results[1] as { inboxId: number }).inboxId, 'alert-b', b.body.toString()],
        ]);
      });

      it('when several appends are in flight at once, then each caller gets its own results, and a webhook in two of them is stored for the earlier', async () => {
        const a = buildNewWebhook({ dedupeKey: 'together-a' });
        const b = buildNewWebhook({ dedupeKey: 'together-b' });
        const c = buildNewWebhook({ dedupeKey: 'together-c' });
        const [first, second, third] = await Promise.all([
          store.append([a, b]),
          store.append([{ ...b, body: Buffer.from('{"again":true}') }, c]),
          store.append([]),
        ]);

        expect(first?.map((r) => r.status)).toEqual(['stored', 'stored']);
        expect(second?.map((r) => r.status)).toEqual(['duplicate', 'stored']);
        expect(third).toEqual([]);
        const claimed = await store.claimPending(LATER, 10, LEASE_MS);
        expect(claimed.map((w) => [w.inboxId, w.dedupeKey, w.body.toString()])).toEqual([
          [(first?.[0] as { inboxId: number }).inboxId, 'together-a', a.body.toString()],
          [(first?.[1] as { inboxId: number }).inboxId, 'together-b', b.body.toString()],
          [(second?.[1] as { inboxId: number }).inboxId, 'together-c', c.body.toString()],
        ]);
      });

      it('when the same dedupe key arrives on the other channel, then it is stored as a webhook of its own', async () => {
        await receive({ channel: 'legacy', dedupeKey: 'shared-key' });
        const results = await store.append([buildNewWebhook({ channel: 'events', dedupeKey: 'shared-key' })]);

        expect(results[0]?.status).toBe('stored');
        expect((await store.claimPending(LATER, 10, LEASE_MS)).map((w) => w.channel)).toEqual(['legacy', 'events']);
      });

      it('when a body holds bytes that are not valid UTF-8, then they round-trip exactly', async () => {
        const body = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0xe2, 0x82, 0x80, 0xed, 0xa0, 0x80, 0x5c, 0x27, 0x7d]);
        const stored = await receive({ body });

        const [claimed] = await store.claimPending(LATER, 10, LEASE_MS);
        expect(claimed?.inboxId).toBe(stored.inboxId);
        expect(Buffer.isBuffer(claimed?.body)).toBe(true);
        expect(claimed?.body.equals(body)).toBe(true);
      });

      it('when a dedupe key holds a NUL or a lone surrogate, then the webhook is stored under the key escaped, and a redelivery is a duplicate', async () => {
        const webhooks = ['alert-\u0000', 'alert-\ud800'].map((dedupeKey) => buildNewWebhook({ dedupeKey }));
        expect((await store.append(webhooks)).map((r) => r.status)).toEqual(['stored', 'stored']);
        expect((await store.append(webhooks)).map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
        expect((await store.claimPending(LATER, 10, LEASE_MS)).map((w) => w.dedupeKey).sort()).toEqual(['alert-\\u0000', 'alert-\\ud800']);
      });

      it('when a webhook is appended quarantined, then it is never claimed and is listed in quarantine with its reason', async () => {
        const webhook = buildNewWebhook({ channel: 'events', receivedAt: T0 + 7, state: 'quarantined', detail: 'malformed_json' });
        const [result] = await store.append([webhook]);
        if (result?.status !== 'stored') throw new Error('not stored');

        expect(await store.claimPending(LATER, 10, LEASE_MS)).toEqual([]);
        expect(await store.listQuarantine(10)).toEqual([
          { inboxId: result.inboxId, channel: 'events', state: 'quarantined', detail: 'malformed_json', receivedAt: T0 + 7 },
        ]);
        expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 1 });
      });

      it('when a batch is larger than one insert statement, then every webhook gets its own result, in order', async () => {
        const webhooks = Array.from({ length: 1_201 }, (_, i) => buildNewWebhook({ receivedAt: T0 + i }));
        // A redelivery of an early webhook far into the batch (another INSERT statement, same transaction).
        webhooks[1_100] = { ...webhooks[3]!, receivedAt: T0 + 1_100 };
        const results = await store.append(webhooks);

        expect(results).toHaveLength(1_201);
        expect(results[1_100]).toEqual({ status: 'duplicate' });
        const ids = results.flatMap((r) => (r.status === 'stored' ? [r.inboxId] : []));
        expect(new Set(ids).size).toBe(1_200);
        expect((await store.counts()).inboxPending).toBe(1_200);
      });
    });

    describe('claimPending', () => {
      it('when pending webhooks are claimed, then the oldest come first and no more than the limit', async () => {
        const stored: StoredWebhook[] = [];
        for (let i = 0; i < 5; i += 1) stored.push(await receive({ receivedAt: T0 + i }));

        expect(await store.claimPending(T0 + 100, 3, LEASE_MS)).toEqual(stored.slice(0, 3));
        expect(await store.claimPending(T0 + 100, 10, LEASE_MS)).toEqual(stored.slice(3));
        expect(await store.claimPending(T0 + 100, 10, LEASE_MS)).toEqual([]);
      });

      it('when the pending bodies add up to more than the claim may hold, then it stops where the bytes before a webhook reach the budget', async () => {
        const sized = (bytes: number, i: number) => receive({ receivedAt: T0 + i, body: Buffer.alloc(bytes, 0x61) });
        const stored = [await sized(1_000, 0), await sized(1_000, 1), await sized(1_000, 2), await sized(5_000, 3), await sized(10, 4)];

        // 0 and 1 000 and 2 000 bytes before the first three: under 2 500; 3 000 before the fourth.
        expect(await store.claimPending(T0 + 100, 10, LEASE_MS, 2_500)).toEqual(stored.slice(0, 3));
        // A body larger than the whole budget is claimed, alone: nothing comes before it.
        expect(await store.claimPending(T0 + 100, 10, LEASE_MS, 2_500)).toEqual(stored.slice(3, 4));
        // A budget below one byte is one that still claims the first.
        expect(await store.claimPending(T0 + 100, 10, LEASE_MS, 0)).toEqual(stored.slice(4));
      });

      it('when a claimed webhook is still leased, then it is not claimed again, and when the lease has ended, then it is', async () => {
        const webhook = await receive({ receivedAt: T0 });

        expect(await store.claimPending(T0, 10, LEASE_MS)).toEqual([webhook]);
        expect(await store.claimPending(T0 + LEASE_MS - 1, 10, LEASE_MS)).toEqual([]);
        expect(await store.claimPending(T0 + LEASE_MS, 10, LEASE_MS)).toEqual([webhook]);
      });

      it('when leases are released (restart of the process that owns the store), then leased webhooks and deliveries are claimable at once', async () => {
        const webhook = await receive({ receivedAt: T0 });
        expect(await store.claimPending(T0, 10, LEASE_MS)).toEqual([webhook]);
        await store.settle(webhook, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);
        const other = await receive({ receivedAt: T0 + 1 });
        expect(await store.claimPending(T0 + 1, 10, LEASE_MS)).toEqual([other]);
        expect(await store.claimDueDeliveries(LATER, 10, LEASE_MS)).toHaveLength(1);

        await store.releaseLeases();

        expect(await store.claimPending(T0 + 2, 10, LEASE_MS)).toEqual([other]);
        expect(await store.claimDueDeliveries(LATER + 1, 10, LEASE_MS)).toHaveLength(1);
      });

      it('when a claimed webhook is settled, then it is never claimed again', async () => {
        const webhook = await receive({ receivedAt: T0 });
        await store.claimPending(T0, 10, LEASE_MS);
        await store.settle(webhook, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);

        expect(await store.claimPending(LATER, 10, LEASE_MS)).toEqual([]);
        expect((await store.counts()).inboxPending).toBe(0);
      });
    });

    describe('settle and the ledger', () => {
      for (const strength of ['strong', 'windowed'] as const) {
        describe(`${strength} key`, () => {
          it('when the primary copy comes first, then it is delivered once, and when the shadow copy follows, then it is a match with its lag and still one delivery', async () => {
            const event = bothChannelsEvent(strength);
            const primary = await copyOf(event, 'legacy', T0, legacyPrimary);
            expect(primary).toMatchObject({ type: event.type, channel: 'legacy', action: 'deliver', reason: 'primary', lagMs: null });
            expect((await store.counts()).deliveriesPending).toBe(1);

            const shadow = await copyOf(event, 'events', T0 + 1_500, legacyPrimary);
            expect(shadow).toMatchObject({ occurrenceId: primary.occurrenceId, channel: 'events', action: 'match', reason: null, lagMs: 1_500 });
            expect(await store.counts()).toMatchObject({ deliveriesPending: 1, held: 0 });

            const payloads = await claimPayloads();
            expect(payloads).toHaveLength(1);
            expect(payloads[0]).toMatchObject({ id: primary.occurrenceId, source: { channel: 'legacy' }, delivery: { reason: 'primary' } });
          });

          it('when the shadow copy comes first, then it is held, and when the primary copy follows, then the primary copy is delivered', async () => {
            const event = bothChannelsEvent(strength);
            const shadow = await copyOf(event, 'events', T0, legacyPrimary);
            expect(shadow).toMatchObject({ channel: 'events', action: 'hold', reason: null, lagMs: null });
            expect(await store.counts()).toMatchObject({ deliveriesPending: 0, held: 1 });

            const primary = await copyOf(event, 'legacy', T0 + 2_000, legacyPrimary);
            expect(primary).toMatchObject({ occurrenceId: shadow.occurrenceId, channel: 'legacy', action: 'deliver', reason: 'primary', lagMs: 2_000 });
            expect(await store.counts()).toMatchObject({ deliveriesPending: 1, held: 0 });
            expect(await store.rescueDue(LATER, 100)).toEqual([]);

            const payloads = await claimPayloads();
            expect(payloads).toHaveLength(1);
            expect(payloads[0]).toMatchObject({ id: shadow.occurrenceId, source: { channel: 'legacy' }, delivery: { reason: 'primary' } });
          });

          it('when only the shadow copy comes, then it is held until the grace period is over and then rescued exactly once', async () => {
            const event = bothChannelsEvent(strength);
            const source: WebhookSource = { channel: 'events', id: 'event-shadow-1', type: 'connection.connected' };
            const shadow = await copyOf(event, 'events', T0, legacyPrimary, source);
            expect(shadow.action).toBe('hold');

            expect(await store.rescueDue(T0 + GRACE_MS - 1, 100)).toEqual([]);
            expect((await store.counts()).held).toBe(1);
            expect(await store.rescueDue(T0 + GRACE_MS, 100)).toEqual([
              { occurrenceId: shadow.occurrenceId, type: event.type, channel: 'events', action: 'rescued', reason: 'rescued', lagMs: null, lateChannel: null, mismatches: [] },
            ]);
            expect(await store.rescueDue(LATER, 100)).toEqual([]);
            expect(await store.counts()).toMatchObject({ deliveriesPending: 1, held: 0 });

            // The primary copy turning up after the rescue is only a match.
            const late = await copyOf(event, 'legacy', T0 + GRACE_MS + 10, legacyPrimary);
            expect(late).toMatchObject({ occurrenceId: shadow.occurrenceId, action: 'match' });

            const payloads = await claimPayloads();
            expect(payloads).toHaveLength(1);
            expect(payloads[0]).toMatchObject({
              id: shadow.occurrenceId,
              source: { channel: 'events', id: 'event-shadow-1', type: 'connection.connected' },
              delivery: { reason: 'rescued' },
            });
          });

          it('when the toggle flips between the copies (legacy primary for the first, events for the second), then the occurrence is delivered exactly once', async () => {
            const event = bothChannelsEvent(strength);
            const first = await copyOf(event, 'legacy', T0, legacyPrimary);
            const second = await copyOf(event, 'events', T0 + 1_000, eventsPrimary);

            expect(first.action).toBe('deliver');
            expect(second).toMatchObject({ occurrenceId: first.occurrenceId, action: 'match' });
            expect(await store.rescueDue(LATER, 100)).toEqual([]);
            expect((await claimPayloads()).map((p) => p.id)).toEqual([first.occurrenceId]);
          });

          it('when the toggle flips the other way between the copies, then both are shadow copies, held, and rescued once', async () => {
            const event = bothChannelsEvent(strength);
            const first = await copyOf(event, 'events', T0, legacyPrimary);
            const second = await copyOf(event, 'legacy', T0 + 1_000, eventsPrimary);

            expect(first.action).toBe('hold');
            expect(second).toMatchObject({ occurrenceId: first.occurrenceId, action: 'hold', lagMs: 1_000 });
            expect(await store.counts()).toMatchObject({ held: 1, deliveriesPending: 0 });
            // The deadline is the first held copy's.
            expect(await store.rescueDue(T0 + GRACE_MS - 1, 100)).toEqual([]);
            const rescued = await store.rescueDue(T0 + GRACE_MS, 100);
            expect(rescued.map((r) => [r.occurrenceId, r.action])).toEqual([[first.occurrenceId, 'rescued']]);
            expect(await store.rescueDue(LATER, 100)).toEqual([]);

            const payloads = await claimPayloads();
            expect(payloads.map((p) => [p.id, p.delivery.reason])).toEqual([[first.occurrenceId, 'rescued']]);
          });

          it('when a second copy comes from the channel that already sent one, then it is a duplicate and nothing more is delivered', async () => {
            // Strong keys: the same occurrence. Windowed keys: a repeat of the transition, a new occurrence.
            const event = bothChannelsEvent(strength);
            const first = await copyOf(event, 'legacy', T0, legacyPrimary);
            const again = await copyOf(event, 'legacy', T0 + 1_000, legacyPrimary);
            if (strength === 'strong') {
              expect(again).toMatchObject({ occurrenceId: first.occurrenceId, action: 'duplicate', reason: null, lagMs: null });
              expect((await store.counts()).deliveriesPending).toBe(1);
              // The other channel's copy still pairs with the occurrence.
              expect((await copyOf(event, 'events', T0 + 2_000, legacyPrimary)).action).toBe('match');
              expect((await store.counts()).deliveriesPending).toBe(1);
            } else {
              expect(again.occurrenceId).not.toBe(first.occurrenceId);
              expect(again.action).toBe('deliver');
            }
          });
        });
      }

      it('when a held shadow copy is sent twice, then the second is a duplicate and the occurrence is rescued once', async () => {
        const event = buildDomainEvent();
        const first = await copyOf(event, 'events', T0, legacyPrimary);
        const again = await copyOf(event, 'events', T0 + 1_000, legacyPrimary);

        expect(first.action).toBe('hold');
        expect(again).toMatchObject({ occurrenceId: first.occurrenceId, action: 'duplicate' });
        expect((await store.counts()).held).toBe(1);
        expect(await store.rescueDue(LATER, 100)).toHaveLength(1);
        expect(await claimPayloads()).toHaveLength(1);
      });

      it('when the primary channel differs per company, then each occurrence is decided with its own company', async () => {
        const perCompany = policy((companyId) => (companyId === 'company-on' ? 'events' : 'legacy'), GRACE_MS, WINDOW_MS);
        const on = await copyOf(buildDomainEvent({ companyId: 'company-on' }), 'events', T0, perCompany);
        const off = await copyOf(buildDomainEvent({ companyId: 'company-off' }), 'events', T0, perCompany);

        expect(on.action).toBe('deliver');
        expect(off.action).toBe('hold');
      });

      it('when an events-only type comes while legacy is primary, then it is recorded as shadow and never delivered nor rescued', async () => {
        const event = windowedEvent({ type: 'connection.failed', data: { status: 'Failed' } });
        const copy = await copyOf(event, 'events', T0, legacyPrimary);

        expect(copy).toMatchObject({ action: 'shadow', reason: null });
        expect(await store.counts()).toMatchObject({ held: 0, deliveriesPending: 0 });
        expect(await store.rescueDue(LATER, 100)).toEqual([]);
        expect(await claimPayloads()).toEqual([]);
      });

      it('when an events-only type comes while events is primary, then it is delivered as the only channel', async () => {
        const copy = await copyOf(windowedEvent({ type: 'connection.failed' }), 'events', T0, eventsPrimary);

        expect(copy).toMatchObject({ action: 'deliver', reason: 'only-channel' });
        expect((await claimPayloads()).map((p) => [p.type, p.delivery.reason])).toEqual([['connection.failed', 'only-channel']]);
      });

      it('when a legacy-only type comes, then it is delivered whichever channel is primary', async () => {
        const underLegacy = await copyOf(buildDomainEvent({ type: 'write.pending' }), 'legacy', T0, legacyPrimary);
        const underEvents = await copyOf(buildDomainEvent({ type: 'write.pending' }), 'legacy', T0 + 1, eventsPrimary);

        expect(underLegacy).toMatchObject({ action: 'deliver', reason: 'only-channel' });
        expect(underEvents).toMatchObject({ action: 'deliver', reason: 'only-channel' });
        expect(await claimPayloads()).toHaveLength(2);
      });

      for (const order of ['L1 N1 L2 N2', 'L1 L2 N1 N2', 'N1 L1 N2 L2', 'N1 N2 L1 L2', 'L1 N1 N2 L2'] as const) {
        it(`when one windowed key repeats in the order ${order}, then the copies pair into two occurrences (first with first) with two deliveries`, async () => {
          const event = windowedEvent();
          const copies = new Map<string, CopyOutcome>();
          for (const [k, label] of order.split(' ').entries()) {
            copies.set(label, await copyOf(event, label.startsWith('L') ? 'legacy' : 'events', T0 + 1_000 * k, legacyPrimary));
          }
          const id = (label: string) => copies.get(label)?.occurrenceId;

          expect(id('N1')).toBe(id('L1'));
          expect(id('N2')).toBe(id('L2'));
          expect(id('L2')).not.toBe(id('L1'));
          expect(copies.get('L1')?.action).toBe('deliver');
          expect(copies.get('L2')?.action).toBe('deliver');
          expect(await store.rescueDue(LATER, 100)).toEqual([]);
          const payloads = await claimPayloads();
          expect(new Set(payloads.map((p) => p.id))).toEqual(new Set([id('L1'), id('L2')]));
          expect(payloads.map((p) => p.source.channel)).toEqual(['legacy', 'legacy']);
        });
      }

      it('when two copies of a windowed key are placed farther apart than the window, then they do not pair', async () => {
        const event = windowedEvent();
        const l1 = await copyOf(event, 'legacy', T0, legacyPrimary);
        // Codat says this copy happened when it arrived: no retry of the legacy copy's occurrence.
        const n1 = await copyOf({ ...event, occurredAt: new Date(T0 + WINDOW_MS + 1).toISOString() }, 'events', T0 + WINDOW_MS + 1, legacyPrimary);

        expect(n1.occurrenceId).not.toBe(l1.occurrenceId);
        expect(n1).toMatchObject({ action: 'hold', lagMs: null });
        expect(await store.rescueDue(LATER, 100)).toHaveLength(1);
        expect(await claimPayloads()).toHaveLength(2);
      });

      it('when the copies of a windowed key are settled out of arrival order, then they pair within the window and not beyond it', async () => {
        const near = windowedEvent();
        const laterShadow = await copyOf(near, 'events', T0 + 1_000, legacyPrimary);
        const earlierPrimary = await copyOf(near, 'legacy', T0, legacyPrimary);
        expect(earlierPrimary).toMatchObject({ occurrenceId: laterShadow.occurrenceId, action: 'deliver', lagMs: 1_000 });

        const far = windowedEvent();
        const farShadow = await copyOf(far, 'events', T0 + WINDOW_MS + 1, legacyPrimary);
        const farPrimary = await copyOf(far, 'legacy', T0, legacyPrimary);
        expect(farPrimary.occurrenceId).not.toBe(farShadow.occurrenceId);
        expect(farPrimary).toMatchObject({ action: 'deliver', lagMs: null });
        expect((await store.counts()).held).toBe(1);
      });

      it('when a webhook converts into several events, then each is settled as its own occurrence', async () => {
        const webhook = await receive({ channel: 'legacy' });
        const result = await store.settle(
          webhook,
          buildConversion([buildDomainEvent(), buildDomainEvent({ type: 'write.pending' })], 'legacy'),
          eventsPrimary,
        );

        expect(result.copies.map((c) => [c.type, c.action])).toEqual([
          ['write.succeeded', 'hold'],
          ['write.pending', 'deliver'],
        ]);
        expect(await store.counts()).toMatchObject({ held: 1, deliveriesPending: 1, inboxPending: 0 });
      });

      it('when an unrecognised webhook is settled, then its row is unrecognised with the reason, listed in quarantine, and nothing is delivered', async () => {
        const webhook = await receive({ channel: 'events', receivedAt: T0 + 3 });
        const result = await store.settle(webhook, buildUnrecognised('events', 'unknown_event_type'), legacyPrimary);

        expect(result).toEqual({ state: 'unrecognised', detail: 'unknown_event_type', copies: [] });
        expect(await store.listQuarantine(10)).toEqual([
          { inboxId: webhook.inboxId, channel: 'events', state: 'unrecognised', detail: 'unknown_event_type', receivedAt: T0 + 3 },
        ]);
        expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 1, deliveriesPending: 0 });
        expect(await store.claimPending(LATER, 10, LEASE_MS)).toEqual([]);
      });

      it('when an invalid webhook is settled, then its row is quarantined with the reason', async () => {
        const webhook = await receive({ channel: 'legacy', receivedAt: T0 + 4 });
        const result = await store.settle(webhook, buildInvalid('legacy', 'missing_company_id'), legacyPrimary);

        expect(result).toEqual({ state: 'quarantined', detail: 'missing_company_id', copies: [] });
        expect(await store.listQuarantine(10)).toEqual([
          { inboxId: webhook.inboxId, channel: 'legacy', state: 'quarantined', detail: 'missing_company_id', receivedAt: T0 + 4 },
        ]);
        expect(await store.claimPending(LATER, 10, LEASE_MS)).toEqual([]);
      });

      it('when quarantine is replayed, then those webhooks are claimable again and settle normally', async () => {
        const unrecognised = await receive({ channel: 'events', receivedAt: T0 });
        await store.settle(unrecognised, buildUnrecognised('events'), legacyPrimary);
        const invalid = await receive({ channel: 'legacy', receivedAt: T0 + 1 });
        await store.settle(invalid, buildInvalid('legacy'), legacyPrimary);
        const malformed = buildNewWebhook({ channel: 'legacy', receivedAt: T0 + 2, state: 'quarantined', detail: 'malformed_json' });
        await store.append([malformed]);

        expect(await store.replayQuarantine(LATER)).toBe(3);
        const claimed = await store.claimPending(LATER, 10, LEASE_MS);
        expect(claimed.map((w) => w.dedupeKey)).toEqual([unrecognised.dedupeKey, invalid.dedupeKey, malformed.dedupeKey]);
        for (const webhook of claimed) {
          const result = await store.settle(webhook, buildConversion([buildDomainEvent({ type: 'write.pending' })], 'legacy'), legacyPrimary);
          expect(result.state).toBe('processed');
        }
        expect(await store.listQuarantine(10)).toEqual([]);
        expect(await store.counts()).toMatchObject({ quarantined: 0, inboxPending: 0, deliveriesPending: 3 });
      });

      it('when an already-settled webhook is settled again, then nothing changes', async () => {
        const event = buildDomainEvent();
        const webhook = await receive({ channel: 'legacy', receivedAt: T0 });
        await store.settle(webhook, buildConversion([event], 'legacy'), legacyPrimary);
        const countsBefore = await store.counts();

        const again = await store.settle(webhook, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);
        const asInvalid = await store.settle(webhook, buildInvalid('legacy'), legacyPrimary);

        expect(again.copies).toEqual([]);
        expect(asInvalid.copies).toEqual([]);
        expect(await store.counts()).toEqual(countsBefore);
        expect(await store.listQuarantine(10)).toEqual([]);
        expect(await claimPayloads()).toHaveLength(1);
      });

      it('when a quarantined webhook is settled again without a replay, then it stays quarantined and nothing is delivered', async () => {
        const webhook = await receive({ channel: 'legacy', receivedAt: T0 });
        await store.settle(webhook, buildInvalid('legacy', 'missing_company_id'), legacyPrimary);

        const again = await store.settle(webhook, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);

        expect(again.copies).toEqual([]);
        expect((await store.listQuarantine(10)).map((q) => [q.inboxId, q.state, q.detail])).toEqual([[webhook.inboxId, 'quarantined', 'missing_company_id']]);
        expect((await store.counts()).deliveriesPending).toBe(0);
      });

      it('when an occurrence is delivered, then its payload carries the occurrence id, type, time, company, data and source', async () => {
        const event = buildDomainEvent({
          occurredAt: '2024-05-01T10:00:00.000Z',
          companyId: 'company-42',
          connectionId: 'connection-7',
          data: { dataType: 'invoices', status: 'Success', recordCount: 3, retried: false, note: null },
        });
        const source: WebhookSource = { channel: 'legacy', id: 'alert-123', type: 'PushOperationStatusChanged' };
        await copyOf(event, 'legacy', T0, legacyPrimary, source);

        const [delivery] = await store.claimDueDeliveries(LATER, 10, LEASE_MS);
        expect(delivery?.attempts).toBe(0);
        expect(JSON.parse(delivery?.payload ?? 'null')).toEqual({
          id: occurrenceIdFor(event, ''),
          type: 'write.succeeded',
          occurredAt: '2024-05-01T10:00:00.000Z',
          companyId: 'company-42',
          connectionId: 'connection-7',
          data: { dataType: 'invoices', status: 'Success', recordCount: 3, retried: false, note: null },
          source: { channel: 'legacy', id: 'alert-123', type: 'PushOperationStatusChanged' },
          delivery: { reason: 'primary' },
        });
        expect(delivery?.occurrenceId).toBe(occurrenceIdFor(event, ''));
      });

      it('when an event carries no time of its own, then the payload gives its arrival time', async () => {
        await copyOf(buildDomainEvent({ occurredAt: null }), 'legacy', T0 + 1_234, legacyPrimary);

        const [payload] = await claimPayloads();
        expect(payload?.occurredAt).toBe(new Date(T0 + 1_234).toISOString());
      });

      for (const delivering of ['legacy', 'events'] as const) {
        it(`when the ${delivering} copy of a strong occurrence is the one delivered, then the payload id is the occurrence id either copy is given`, async () => {
          const event = buildDomainEvent();
          const ledger = policy(delivering, GRACE_MS, WINDOW_MS);
          const shadow = await copyOf(event, other(delivering), T0, ledger);
          const primary = await copyOf(event, delivering, T0 + 500, ledger);

          expect(shadow.occurrenceId).toBe(primary.occurrenceId);
          expect(primary.occurrenceId).toBe(occurrenceIdFor(event, ''));
          const payloads = await claimPayloads();
          expect(payloads.map((p) => [p.id, p.source.channel])).toEqual([[primary.occurrenceId, delivering]]);
        });
      }
    });

    describe('pairing what Codat tells as one occurrence', () => {
      const HOUR = 3_600_000;
      const iso = (at: number) => new Date(at).toISOString();
      let datasetSequence = 0;
      /** `dataset.synced` for one company, paired on the company with the connection and data type as qualifiers. */
      function datasetEvent(connectionId: string | null, occurredAt: number | null, company = `company-ds-${(datasetSequence += 1)}`): DomainEvent {
        return buildDomainEvent({
          type: 'dataset.synced',
          keyStrength: 'windowed',
          ...buildKey(['dataset.synced', company, optionalPart(connectionId), optionalPart('invoices')]),
          occurredAt: occurredAt === null ? null : iso(occurredAt),
          companyId: company,
          connectionId,
          data: { dataType: 'invoices' },
        });
      }
      const legacySource = (type = 'Data sync completed'): WebhookSource => ({ channel: 'legacy', id: null, type });
      const eventsSource = (type = 'read.completed'): WebhookSource => ({ channel: 'events', id: null, type });

      it('when the legacy copy has no connection id, then it pairs with the new copy that has one (either order), and one is delivered', async () => {
        for (const legacyFirst of [true, false]) {
          const withConnection = datasetEvent('conn-a', T0);
          const withoutConnection: DomainEvent = { ...datasetEvent(null, null, withConnection.companyId ?? ''), occurredAt: null };
          const [first, second] = legacyFirst
            ? [await copyOf(withoutConnection, 'legacy', T0 + 500, eventsPrimary, legacySource()), await copyOf(withConnection, 'events', T0 + 900, eventsPrimary, eventsSource())]
            : [await copyOf(withConnection, 'events', T0 + 500, eventsPrimary, eventsSource()), await copyOf(withoutConnection, 'legacy', T0 + 900, eventsPrimary, legacySource())];
          expect(second.occurrenceId).toBe(first.occurrenceId);
        }
        expect(await claimPayloads()).toHaveLength(2);
        expect((await store.counts()).held).toBe(0);
      });

      it('when a copy carries a connection, then it pairs with its own connection\'s occurrence and never with another connection\'s', async () => {
        const company = 'company-two-connections';
        const onA = await copyOf(datasetEvent('conn-a', T0, company), 'events', T0, legacyPrimary, eventsSource());
        const onB = await copyOf(datasetEvent('conn-b', T0 + 100, company), 'events', T0 + 100, legacyPrimary, eventsSource());
        const legacyB = await copyOf({ ...datasetEvent('conn-b', null, company) }, 'legacy', T0 + 200, legacyPrimary, legacySource());
        const legacyA = await copyOf({ ...datasetEvent('conn-a', null, company) }, 'legacy', T0 + 300, legacyPrimary, legacySource());

        expect(legacyB.occurrenceId).toBe(onB.occurrenceId);
        expect(legacyA.occurrenceId).toBe(onA.occurrenceId);
        expect(legacyA.mismatches).toEqual([]);
      });

      it('when a new-format copy is retried 27 h late after the key recurred hourly, then it pairs with its own twin by its generatedDate', async () => {
        const company = 'company-hourly';
        const legacyIds: string[] = [];
        for (let hour = 0; hour < 28; hour += 1) {
          legacyIds.push((await copyOf(datasetEvent('conn-a', null, company), 'legacy', T0 + hour * HOUR + 2_000, legacyPrimary, legacySource())).occurrenceId);
          // Every hour's new copy arrives on time, except the first one's.
          if (hour > 0) await copyOf(datasetEvent('conn-a', T0 + hour * HOUR, company), 'events', T0 + hour * HOUR + 3_000, legacyPrimary, eventsSource());
        }
        const late = await copyOf(datasetEvent('conn-a', T0, company), 'events', T0 + 27 * HOUR + 35 * 60_000, legacyPrimary, eventsSource());

        expect(late.occurrenceId).toBe(legacyIds[0]);
        expect(late.action).toBe('match');
        expect(await claimPayloads(T0 + 30 * HOUR)).toHaveLength(28);
      });

      it('when a legacy copy (no time of its own) arrives when Codat\'s schedule retries it, then it pairs with the new copy only the other channel carried; off schedule, it is its own occurrence', async () => {
        const company = 'company-late-legacy';
        const first = await copyOf(datasetEvent('conn-a', T0, company), 'events', T0, legacyPrimary, eventsSource());
        const second = await copyOf(datasetEvent('conn-a', T0 + HOUR, company), 'events', T0 + HOUR, legacyPrimary, eventsSource());
        const secondLegacy = await copyOf(datasetEvent('conn-a', null, company), 'legacy', T0 + HOUR + 1_000, legacyPrimary, legacySource());
        expect(await store.rescueDue(T0 + 2 * HOUR, 100)).toHaveLength(1);
        // Codat's fifth attempt: 5 s + 5 min + 30 min + 2 h after the first (plus the time the attempts took).
        const retried = await copyOf(datasetEvent('conn-a', null, company), 'legacy', T0 + 2 * HOUR + 35 * 60_000 + 40_000, legacyPrimary, legacySource());
        // Nothing Codat would retry at 3 h 10 min: a repeat whose new copy is lost, not a retry.
        const offSchedule = await copyOf(datasetEvent('conn-a', null, company), 'legacy', T0 + 3 * HOUR + 10 * 60_000, legacyPrimary, legacySource());

        expect(secondLegacy.occurrenceId).toBe(second.occurrenceId);
        expect(retried).toMatchObject({ occurrenceId: first.occurrenceId, action: 'match' });
        expect(offSchedule.action).toBe('deliver');
        expect(await claimPayloads(T0 + 6 * HOUR)).toHaveLength(3);
      });

      it('when one channel tells one read twice under two event types, then the second telling is a duplicate, and a later read is not', async () => {
        const company = 'company-first-read';
        const initial = await copyOf(datasetEvent('conn-a', T0, company), 'events', T0 + 1_000, eventsPrimary, eventsSource('read.completed.initial'));
        const retold = await copyOf(datasetEvent('conn-a', T0 + 40, company), 'events', T0 + 1_500, eventsPrimary, eventsSource('read.completed'));
        const nextRead = await copyOf(datasetEvent('conn-a', T0 + 10 * 60_000, company), 'events', T0 + 10 * 60_000, eventsPrimary, eventsSource('read.completed'));

        expect(initial.action).toBe('deliver');
        expect(retold).toMatchObject({ occurrenceId: initial.occurrenceId, action: 'duplicate' });
        expect(nextRead.occurrenceId).not.toBe(initial.occurrenceId);
        expect(nextRead.action).toBe('deliver');
        expect(await claimPayloads()).toHaveLength(2);
      });

      it('when a twin completes an occurrence after its window closed, then readiness counts the occurrence once, as seen on both channels', async () => {
        const company = 'company-closed-window';
        await copyOf(datasetEvent('conn-a', null, company), 'legacy', T0, legacyPrimary, legacySource());
        expect(await store.closeWindows(T0 + WINDOW_MS + 1, WINDOW_MS, 100)).toHaveLength(1);
        const late = await copyOf(datasetEvent('conn-a', T0, company), 'events', T0 + 20 * HOUR, legacyPrimary, eventsSource());
        expect(late.action).toBe('match');
        expect(await store.closeWindows(T0 + 21 * HOUR, WINDOW_MS, 100)).toEqual([]);

        const [stats] = await store.cutoverStats(T0 - HOUR);
        expect(stats).toMatchObject({ type: 'dataset.synced', both: 1, legacyOnly: 0, eventsOnly: 0, delivered: 1 });
      });
    });

    describe('settling a batch', () => {
      it('when both copies of an occurrence and an unrecognised webhook are settled in one batch, then the results are those of settling them one by one', async () => {
        const event = windowedEvent();
        const legacy = await receive({ channel: 'legacy', receivedAt: T0 });
        const events = await receive({ channel: 'events', receivedAt: T0 + 5 });
        const unknown = await receive({ channel: 'events', receivedAt: T0 + 6 });

        const results = await store.settleBatch([
          { webhook: legacy, conversion: buildConversion([event], 'legacy') },
          { webhook: events, conversion: buildConversion([event], 'events') },
          { webhook: unknown, conversion: buildUnrecognised('events') },
        ], legacyPrimary);

        expect(results.map((r) => r.state)).toEqual(['processed', 'processed', 'unrecognised']);
        expect(results.flatMap((r) => r.copies.map((c) => c.action))).toEqual(['deliver', 'match']);
        expect(await claimPayloads()).toHaveLength(1);
        expect((await store.counts()).inboxPending).toBe(0);
      });

      it('when several deliveries are marked delivered together, then none of them is due again', async () => {
        for (let i = 0; i < 3; i += 1) await copyOf(buildDomainEvent(), 'legacy', T0, legacyPrimary);
        const due = await store.claimDueDeliveries(LATER, 10, LEASE_MS);
        await store.markDelivered(due.map((d) => d.occurrenceId), LATER);
        expect(await store.claimDueDeliveries(LATER + LEASE_MS, 10, LEASE_MS)).toEqual([]);
        expect((await store.counts()).deliveriesPending).toBe(0);
      });
    });

    describe('webhooks that cannot be settled as they are', () => {
      const converters = { legacy: legacyFormat.convert, events: eventsFormat.convert };
      const inboxIds = (webhooks: readonly StoredWebhook[]) => webhooks.map((w) => w.inboxId);

      it(`when one webhook of a batch fails to settle, then all the others settle and are delivered, and at its ${MAX_SETTLE_FAILURES}th failure it is quarantined with the reason, where a replay reaches it`, async () => {
        const webhooks: StoredWebhook[] = [];
        for (let i = 0; i < 10; i += 1) webhooks.push(await receive({ receivedAt: T0 + i }));
        const POISON = 4;
        const items = webhooks.map((webhook, i) => ({ webhook, conversion: buildConversion([i === POISON ? poisonEvent() : buildDomainEvent()], 'legacy') }));
        const poison = items[POISON]!;

        let now = T0 + 1_000;
        expect(inboxIds(await store.claimPending(now, 50, LEASE_MS))).toEqual(inboxIds(webhooks));
        expect(await failureOf(store.settleBatch(items, legacyPrimary))).toMatchObject({ name: 'PartlySettled' });
        expect(await claimPayloads()).toHaveLength(9);
        expect((await store.counts()).inboxPending).toBe(1);

        // Claimed again at each lease's end, alone; quarantined (and so settled) at the bound.
        for (let failures = 2; failures <= MAX_SETTLE_FAILURES; failures += 1) {
          now += LEASE_MS;
          expect(inboxIds(await store.claimPending(now, 50, LEASE_MS))).toEqual([poison.webhook.inboxId]);
          const settling = store.settleBatch([poison], legacyPrimary);
          if (failures < MAX_SETTLE_FAILURES) expect(await failureOf(settling)).toMatchObject({ name: 'PartlySettled' });
          else expect((await settling).map((r) => [r.state, r.detail])).toEqual([['quarantined', expect.stringMatching(/^settle_failed:\w+$/)]]);
        }
        expect(await store.claimPending(now + LEASE_MS, 50, LEASE_MS)).toEqual([]);
        const [quarantined] = await store.listQuarantine(10);
        expect(quarantined).toMatchObject({ inboxId: poison.webhook.inboxId, state: 'quarantined', detail: expect.stringMatching(/^settle_failed:/) });
        expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 1 });

        // A replay starts the count again: one more failure leaves it pending; once the mapping is fixed, it is delivered.
        expect(await store.replayQuarantine(now)).toBe(1);
        now += LEASE_MS;
        expect(inboxIds(await store.claimPending(now, 50, LEASE_MS))).toEqual([poison.webhook.inboxId]);
        expect(await failureOf(store.settle(poison.webhook, poison.conversion, legacyPrimary))).toBeInstanceOf(Error);
        expect((await store.counts()).inboxPending).toBe(1);
        const fixed = await store.settle(poison.webhook, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);
        expect(fixed.copies.map((c) => c.action)).toEqual(['deliver']);
        expect(await claimPayloads(LATER)).toHaveLength(1);
        expect(await store.counts()).toMatchObject({ inboxPending: 0, quarantined: 0 });
      });

      it('when several webhooks of one batch fail, then each is counted on its own and the rest of the batch settles', async () => {
        const webhooks: StoredWebhook[] = [];
        for (let i = 0; i < 6; i += 1) webhooks.push(await receive({ receivedAt: T0 + i }));
        const poisoned = new Set([0, 3, 5]);
        const items = webhooks.map((webhook, i) => ({ webhook, conversion: buildConversion([poisoned.has(i) ? poisonEvent() : buildDomainEvent()], 'legacy') }));

        const failure = await failureOf(store.settleBatch(items, legacyPrimary));
        expect(failure).toMatchObject({ name: 'PartlySettled' });
        expect(await claimPayloads()).toHaveLength(3);
        expect((await store.counts()).inboxPending).toBe(3);
      });

      const surrogates: [string, (body: JsonRecord & { Data: JsonRecord }) => void][] = [
        ['a high surrogate alone in the push operation key (a correlation-key part)', (b) => (b.Data.pushOperationKey = 'c2f8847d-\ud800')],
        ['a low surrogate alone in the company id', (b) => (b.CompanyId = '\udc00-8a210b68')],
      ];
      for (const [label, edit] of surrogates) {
        it(`when ${label}, then that webhook is quarantined with the reason and the rest of its batch settles`, async () => {
          const bad = await receive({ receivedAt: T0 });
          const good = await receive({ receivedAt: T0 + 1 });
          const results = await store.settleBatch([
            { webhook: bad, conversion: converters.legacy(sampleWith('legacy-PushOperationStatusChanged', edit)) },
            { webhook: good, conversion: converters.legacy(loadSample('legacy-PushOperationStatusChanged')) },
          ], legacyPrimary);

          expect(results.map((r) => [r.state, r.detail])).toEqual([['quarantined', 'lone_surrogate_in_identifier'], ['processed', null]]);
          expect(await claimPayloads()).toHaveLength(1);
          expect((await store.counts()).inboxPending).toBe(0);
        });
      }

      it('when a webhook\'s dedupe key holds a lone surrogate, then its windowed occurrence (whose id is derived from it) is settled and delivered', async () => {
        const webhook = await receive({ dedupeKey: 'alert-\ud800', receivedAt: T0 });
        const result = await store.settle(webhook, buildConversion([windowedEvent()], 'legacy'), legacyPrimary);
        expect(result.copies.map((c) => c.action)).toEqual(['deliver']);
        expect(await claimPayloads()).toHaveLength(1);
      });

      const oddTypes: [Channel, string, unknown, string][] = [
        ['legacy', 'a NUL in an unknown RuleType', sampleWith('legacy-SyncStarted', (b) => (b.RuleType = 'Made Up\u0000Rule')), 'unknown_rule_type:Made Up\\u0000Rule'],
        ['events', 'a NUL in an unknown eventType', sampleWith('event-company.created', (b) => (b.eventType = 'made.up\u0000')), 'unknown_event_type:made.up\\u0000'],
        ['events', 'a lone surrogate in an unknown eventType', sampleWith('event-company.created', (b) => (b.eventType = 'made.up\udbff')), 'unknown_event_type:made.up\\udbff'],
      ];
      for (const [channel, label, body, reason] of oddTypes) {
        it(`when ${label} comes, then the webhook is unrecognised with the character escaped in its reason`, async () => {
          const webhook = await receive({ channel, receivedAt: T0 });
          const result = await store.settle(webhook, converters[channel](body), legacyPrimary);
          expect([result.state, result.detail]).toEqual(['unrecognised', reason]);
          expect((await store.listQuarantine(10)).map((q) => q.detail)).toEqual([reason]);
        });
      }

      it('when the body\'s id holds a NUL and a lone surrogate, then the webhook settles and its delivery carries the id exactly', async () => {
        const id = 'alert-\u0000-\ud800';
        const webhook = await receive({ receivedAt: T0 });
        await store.settle(webhook, converters.legacy(sampleWith('legacy-PushOperationStatusChanged', (b) => (b.AlertId = id))), legacyPrimary);
        expect((await claimPayloads()).map((p) => p.source.id)).toEqual([id]);
      });

      it('when a correlation-key part is 3 KB long, then both copies settle and pair into one delivery, and another long key sharing its start is an occurrence of its own', async () => {
        // Random, so that PostgreSQL cannot compress it below its index-entry limit (3,000 times 'k' it could).
        const key = randomBytes(1_500).toString('hex');
        const similar = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
        const legacyCopy = (pushOperationKey: string) =>
          converters.legacy(sampleWith('legacy-PushOperationStatusChanged', (b) => (b.Data.pushOperationKey = pushOperationKey)));
        const eventsCopy = converters.events(sampleWith('event-dataType.write.successful-invoices', (b) => (b.payload.id = key)));

        const first = await store.settle(await receive({ channel: 'legacy', receivedAt: T0 }), legacyCopy(key), legacyPrimary);
        const second = await store.settle(await receive({ channel: 'events', receivedAt: T0 + 5 }), eventsCopy, legacyPrimary);
        const third = await store.settle(await receive({ channel: 'legacy', receivedAt: T0 + 10 }), legacyCopy(similar), legacyPrimary);

        expect([first, second, third].map((r) => r.copies.map((c) => c.action))).toEqual([['deliver'], ['match'], ['deliver']]);
        expect(second.copies[0]?.occurrenceId).toBe(first.copies[0]?.occurrenceId);
        expect(third.copies[0]?.occurrenceId).not.toBe(first.copies[0]?.occurrenceId);
        expect(await claimPayloads()).toHaveLength(2);
      });
    });

    describe('comparing the two streams', () => {
      it('when the second copy completes a pair, then the lag, the late channel and the disagreeing fields are reported', async () => {
        const legacy = buildDomainEvent({ data: { dataType: 'invoices', status: 'Success' } });
        const events = { ...legacy, data: { dataType: 'bills', status: 'Success' } };
        const first = await copyOf(legacy, 'legacy', T0, legacyPrimary);
        const second = await copyOf(events, 'events', T0 + 2500, legacyPrimary);

        expect(first).toMatchObject({ lagMs: null, lateChannel: null, mismatches: [] });
        expect(second).toMatchObject({ action: 'match', lagMs: 2500, lateChannel: 'events', mismatches: ['data.dataType'] });
      });

      it('when copies are settled in another order than they arrived, then the late channel is the later arrival', async () => {
        const event = windowedEvent();
        await copyOf(event, 'events', T0 + 1000, legacyPrimary);
        const earlier = await copyOf(event, 'legacy', T0, legacyPrimary);
        expect(earlier).toMatchObject({ lagMs: 1000, lateChannel: 'events' });
      });

      it('when windows close, then each occurrence is reported once with the channels that carried it', async () => {
        await copyOf(buildDomainEvent({ correlationKey: 'pair' }), 'legacy', T0, legacyPrimary);
        await copyOf(buildDomainEvent({ correlationKey: 'pair' }), 'events', T0 + 10, legacyPrimary);
        await copyOf(buildDomainEvent(), 'legacy', T0, legacyPrimary);
        await copyOf(buildDomainEvent(), 'events', T0 + WINDOW_MS, legacyPrimary);

        expect(await store.closeWindows(T0 + WINDOW_MS - 1, WINDOW_MS, 100)).toEqual([]);
        const closed = await store.closeWindows(T0 + WINDOW_MS, WINDOW_MS, 100);
        expect(closed.map((c) => c.seen).sort()).toEqual(['both', 'legacy_only']);
        expect(await store.closeWindows(T0 + WINDOW_MS, WINDOW_MS, 100)).toEqual([]);
        expect(await store.closeWindows(T0 + 2 * WINDOW_MS, WINDOW_MS, 100)).toEqual([{ type: 'write.succeeded', seen: 'events_only' }]);
      });

      it('when stats are asked for, then coverage inputs, mismatches, lags, rescues and roles are counted per type', async () => {
        const paired = buildDomainEvent();
        await copyOf(paired, 'legacy', T0, legacyPrimary);
        await copyOf({ ...paired, data: { ...paired.data, status: 'Failed' } }, 'events', T0 + 4000, legacyPrimary);
        await copyOf(buildDomainEvent(), 'legacy', T0, eventsPrimary); // legacy copy while the new channel is primary: held
        await copyOf(buildDomainEvent({ type: 'write.pending', data: {} }), 'legacy', T0, eventsPrimary);
        await store.rescueDue(T0 + GRACE_MS, 100);
        await store.closeWindows(T0 + WINDOW_MS, WINDOW_MS, 100);

        const stats = await store.cutoverStats(T0 - 1);
        const succeeded = stats.find((s) => s.type === 'write.succeeded');
        expect(succeeded).toMatchObject({
          both: 1, legacyOnly: 1, eventsOnly: 0,
          mismatches: { 'data.status': 1 },
          lagP50Seconds: 4, lagP99Seconds: 4,
          rescuedFromLegacy: 1, rescuedFromEvents: 0,
          deliveredFromLegacyPrimary: 1, legacyCopiesWhileEventsPrimary: 1, delivered: 2,
        });
        expect(stats.find((s) => s.type === 'write.pending')).toMatchObject({ delivered: 1, legacyCopiesWhileEventsPrimary: 1 });
        // Figures are kept per hour of first sight: a period starting in a later hour sees none of them.
        expect(await store.cutoverStats(T0 + 2 * 3600_000)).toEqual([]);
      });
    });

    describe('deliveries', () => {
      /** Three occurrences delivered from their legacy copies at T0, T0+1, T0+2; their ids in that order. */
      async function deliverThree(): Promise<string[]> {
        const ids: string[] = [];
        for (let i = 0; i < 3; i += 1) ids.push((await copyOf(buildDomainEvent(), 'legacy', T0 + i, legacyPrimary)).occurrenceId);
        return ids;
      }
      it('when deliveries are due, then they are claimed oldest first up to the limit, and a leased one is not claimed again within its lease', async () => {
        const ids = await deliverThree();

        expect(idsOf(await store.claimDueDeliveries(T0 + 10, 2, LEASE_MS))).toEqual(ids.slice(0, 2));
        expect(idsOf(await store.claimDueDeliveries(T0 + 10, 10, LEASE_MS))).toEqual(ids.slice(2));
        expect(await store.claimDueDeliveries(T0 + 10 + LEASE_MS - 1, 10, LEASE_MS)).toEqual([]);
        expect(idsOf(await store.claimDueDeliveries(T0 + 10 + LEASE_MS, 10, LEASE_MS))).toEqual(ids);
      });

      it('when the due payloads add up to more than the claim may hold, then it stops where the bytes before a delivery reach the budget', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i += 1) {
          const event = buildDomainEvent({ data: { dataType: 'invoices', status: 'Success', message: 'x'.repeat(2_000) } });
          ids.push((await copyOf(event, 'legacy', T0 + i, legacyPrimary)).occurrenceId);
        }

        // Each payload is a little over 2,000 bytes: the second starts under 4,100, the third past it.
        expect(idsOf(await store.claimDueDeliveries(T0 + 10, 10, LEASE_MS, 4_100))).toEqual(ids.slice(0, 2));
        // A budget smaller than any payload still claims the first.
        expect(idsOf(await store.claimDueDeliveries(T0 + 10, 10, LEASE_MS, 0))).toEqual(ids.slice(2));
      });

      it('when webhooks came with a request id, then their claims, their deliveries and a rescued delivery carry it', async () => {
        const headers = (requestId: string) => ({ 'content-type': 'application/json', 'x-request-id': requestId });
        await receive({ channel: 'legacy', receivedAt: T0, headers: headers('req-delivered') });
        await receive({ channel: 'events', receivedAt: T0, headers: headers('req-rescued') });
        await receive({ channel: 'legacy', receivedAt: T0 });
        const claimed = await store.claimPending(T0 + 1, 10, LEASE_MS);
        expect(claimed.map((w) => w.requestId)).toEqual(['req-delivered', 'req-rescued', undefined]);
        const [delivered, held, anonymous] = claimed;
        if (!delivered || !held || !anonymous) throw new Error('not claimed');
        await store.settle(delivered, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);
        // The shadow copy is held for its primary, which never comes: rescued after the grace.
        expect((await store.settle(held, buildConversion([buildDomainEvent()], 'events'), legacyPrimary)).copies[0]?.action).toBe('hold');
        await store.settle(anonymous, buildConversion([buildDomainEvent()], 'legacy'), legacyPrimary);
        expect(await store.rescueDue(T0 + GRACE_MS + 1, 10)).toHaveLength(1);

        const due = await store.claimDueDeliveries(LATER, 10, LEASE_MS);
        expect(due.map((d) => d.requestId ?? null).sort()).toEqual(['req-delivered', 'req-rescued', null].sort());
      });

      it('when a delivery is marked delivered, then it is no longer due', async () => {
        const ids = await deliverThree();
        await store.claimDueDeliveries(T0 + 10, 10, LEASE_MS);
        await store.markDelivered([ids[0]!], T0 + 20);

        expect(idsOf(await store.claimDueDeliveries(LATER, 10, LEASE_MS))).toEqual(ids.slice(1));
        expect((await store.counts()).deliveriesPending).toBe(2);
      });

      it('when a delivery fails with a next attempt time, then it is due again at that time and not before', async () => {
        const ids = await deliverThree();
        expect(idsOf(await store.claimDueDeliveries(T0 + 10, 1, LEASE_MS))).toEqual([ids[0]]);
        await store.markDeliveriesFailed([{ occurrenceId: ids[0]!, error: 'HTTP 503 Service Unavailable', nextAttemptAt: T0 + 5_000 }]);

        expect(idsOf(await store.claimDueDeliveries(T0 + 4_999, 10, LEASE_MS))).toEqual(ids.slice(1));
        const retried = await store.claimDueDeliveries(T0 + 5_000, 10, LEASE_MS);
        expect(retried.map((d) => [d.occurrenceId, d.attempts])).toEqual([[ids[0], 1]]);
        expect((await store.counts()).deliveriesPending).toBe(3);
      });

      it('when a delivery fails with no next attempt, then it is dead-lettered: listed, counted and never due', async () => {
        const ids = await deliverThree();
        await store.claimDueDeliveries(T0 + 10, 1, LEASE_MS);
        await store.markDeliveriesFailed([{ occurrenceId: ids[0]!, error: 'HTTP 400 Bad Request', nextAttemptAt: null }]);

        expect(await store.listDeadLetters(10)).toEqual([
          { occurrenceId: ids[0], attempts: 1, lastError: 'HTTP 400 Bad Request' },
        ]);
        expect(await store.counts()).toMatchObject({ deadLetters: 1, deliveriesPending: 2 });
        expect(idsOf(await store.claimDueDeliveries(LATER, 10, LEASE_MS))).toEqual(ids.slice(1));
      });

      it('when dead letters are replayed, then they are due again and no longer listed', async () => {
        const ids = await deliverThree();
        await store.markDeliveriesFailed([
          { occurrenceId: ids[0]!, error: 'HTTP 400', nextAttemptAt: null },
          { occurrenceId: ids[1]!, error: 'HTTP 422', nextAttemptAt: null },
        ]);

        expect(await store.replayDeadLetters(T0 + 100)).toBe(2);
        expect(await store.listDeadLetters(10)).toEqual([]);
        expect(await store.counts()).toMatchObject({ deadLetters: 0, deliveriesPending: 3 });
        expect(new Set(idsOf(await store.claimDueDeliveries(T0 + 100, 10, LEASE_MS)))).toEqual(new Set(ids));
      });
    });

    describe('purge', () => {
      it('when purging, then settled webhooks, finished deliveries and decided occurrences older than the cutoff are forgotten, and recent or unfinished ones are kept', async () => {
        // processed_at is stamped by the store itself, so this test runs on the wall clock.
        const old = Date.now() - 10 * DAY_MS;
        const eventA = buildDomainEvent(); // delivered and finished: forgotten
        const eventB = buildDomainEvent(); // delivered, delivery still pending: kept
        const eventD = buildDomainEvent(); // dead-lettered: kept
        const eventH = buildDomainEvent(); // held, not decided: kept
        const a = await copyOf(eventA, 'legacy', old, legacyPrimary);
        await store.markDelivered([a.occurrenceId], old + 1_000);
        const b = await copyOf(eventB, 'legacy', old + 1, legacyPrimary);
        const d = await copyOf(eventD, 'legacy', old + 2, legacyPrimary);
        await store.markDeliveriesFailed([{ occurrenceId: d.occurrenceId, error: 'HTTP 400', nextAttemptAt: null }]);
        await copyOf(eventH, 'events', old + 3, legacyPrimary);
        const quarantined = await receive({ receivedAt: old + 4 });
        await store.settle(quarantined, buildInvalid('legacy'), legacyPrimary);
        const pending = await receive({ receivedAt: old + 5 });

        await sleep(5);
        const cutoff = Date.now();
        const eventR = buildDomainEvent(); // recent: kept
        const r = await copyOf(eventR, 'legacy', cutoff, legacyPrimary);
        await store.markDelivered([r.occurrenceId], cutoff + 1);

        expect(await store.purge(cutoff)).toBeGreaterThan(0);
        expect(await store.purge(cutoff)).toBe(0);

        expect(await store.counts()).toEqual({ inboxPending: 1, deliveriesPending: 1, deadLetters: 1, quarantined: 1, held: 1 });
        expect((await store.claimPending(Date.now(), 10, LEASE_MS)).map((w) => w.inboxId)).toEqual([pending.inboxId]);
        expect((await store.listQuarantine(10)).map((q) => q.inboxId)).toEqual([quarantined.inboxId]);
        expect((await store.listDeadLetters(10)).map((l) => l.occurrenceId)).toEqual([d.occurrenceId]);
        expect(idsOf(await store.claimDueDeliveries(Date.now(), 10, LEASE_MS))).toEqual([b.occurrenceId]);

        // Kept occurrences still pair with a late copy; the forgotten one does not.
        const now = Date.now();
        expect((await copyOf(eventB, 'events', now, legacyPrimary)).action).toBe('match');
        expect((await copyOf(eventR, 'events', now, legacyPrimary)).action).toBe('match');
        expect((await copyOf(eventA, 'events', now, legacyPrimary)).action).toBe('hold');
        // Kept settled webhooks still deduplicate redeliveries; forgotten ones no longer do.
        const redeliver = (w: StoredWebhook) => store.append([buildNewWebhook({ channel: w.channel, dedupeKey: w.dedupeKey, receivedAt: now })]);
        expect(await redeliver(r.webhook)).toEqual([{ status: 'duplicate' }]);
        expect(await redeliver(pending)).toEqual([{ status: 'duplicate' }]);
        expect(await redeliver(quarantined)).toEqual([{ status: 'duplicate' }]);
        expect((await redeliver(a.webhook))[0]?.status).toBe('stored');
      });

      for (const strength of ['strong', 'windowed'] as const) {
        it(`when a ${strength}-key webhook is redelivered after retention forgot it but while its occurrence is kept, then the copy is a duplicate`, async () => {
          const event = bothChannelsEvent(strength);
          const first = await copyOf(event, 'legacy', Date.now() - 10 * DAY_MS, legacyPrimary);
          // A dead letter keeps its occurrence past retention.
          await store.markDeliveriesFailed([{ occurrenceId: first.occurrenceId, error: 'HTTP 400', nextAttemptAt: null }]);
          await sleep(5);
          await store.purge(Date.now());

          const again = buildNewWebhook({ channel: 'legacy', dedupeKey: first.webhook.dedupeKey, receivedAt: Date.now() });
          const [appended] = await store.append([again]);
          if (appended?.status !== 'stored') throw new Error('the inbox should have forgotten the webhook');
          const result = await store.settle(toStored(again, appended.inboxId), buildConversion([event], 'legacy'), legacyPrimary);

          expect(result.copies.map((c) => [c.occurrenceId, c.action])).toEqual([[first.occurrenceId, 'duplicate']]);
          expect(await store.counts()).toMatchObject({ inboxPending: 0, deliveriesPending: 0, deadLetters: 1 });
        });
      }
    });

    describe('counts and housekeeping', () => {
      it('when the store is empty, then every count is zero', async () => {
        expect(await store.counts()).toEqual({ inboxPending: 0, deliveriesPending: 0, deadLetters: 0, quarantined: 0, held: 0 });
      });

      it('when there are pending webhooks, pending deliveries, dead letters, quarantined webhooks and held occurrences, then counts reflects each', async () => {
        await receive();
        await receive();
        await store.append([buildNewWebhook({ state: 'quarantined', detail: 'malformed_json' })]);
        await store.settle(await receive({ channel: 'events' }), buildUnrecognised('events'), legacyPrimary);
        await store.settle(await receive(), buildInvalid('legacy'), legacyPrimary);
        await copyOf(buildDomainEvent(), 'events', T0, legacyPrimary);
        const delivered = await copyOf(buildDomainEvent(), 'legacy', T0, legacyPrimary);
        const dead = await copyOf(buildDomainEvent(), 'legacy', T0, legacyPrimary);
        await copyOf(buildDomainEvent(), 'legacy', T0, legacyPrimary);
        await store.markDelivered([delivered.occurrenceId], T0 + 1);
        await store.markDeliveriesFailed([{ occurrenceId: dead.occurrenceId, error: 'HTTP 400', nextAttemptAt: null }]);

        expect(await store.counts()).toEqual({ inboxPending: 2, deliveriesPending: 1, deadLetters: 1, quarantined: 3, held: 1 });
      });

      it('when migrate runs again, then what is stored is kept', async () => {
        await receive();
        await store.migrate();

        expect((await store.counts()).inboxPending).toBe(1);
      });

      it('when pinged, then it answers', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describe('operator queries', () => {
      async function deadLetter(type: DomainEventType = 'write.succeeded'): Promise<string> {
        const copy = await copyOf(buildDomainEvent({ type }), 'legacy', T0, legacyPrimary);
        await store.markDeliveriesFailed([{ occurrenceId: copy.occurrenceId, error: 'TypeError: fetch failed — caused by: Error: connect ECONNREFUSED', nextAttemptAt: null }]);
        return copy.occurrenceId;
      }

      it('when dead letters are paged, then each page continues after the last and a replayed one leaves the list', async () => {
        const ids = [await deadLetter(), await deadLetter(), await deadLetter('write.failed')];
        const first = await store.pageDeadLetters({ limit: 2 });
        expect(first.entries).toHaveLength(2);
        expect(first.next).not.toBeNull();
        const second = await store.pageDeadLetters({ limit: 2, after: first.next ?? undefined });
        expect(second.next).toBeNull();
        expect([...first.entries, ...second.entries].map((e) => e.occurrenceId).sort()).toEqual([...ids].sort());
        expect(first.entries[0]?.lastError).toContain('ECONNREFUSED');
        expect((await store.pageDeadLetters({ limit: 10, type: 'write.failed' })).entries.map((e) => e.type)).toEqual(['write.failed']);

        const [id = ''] = ids;
        const shown = await store.getDeadLetter(id);
        expect(shown?.payload).toMatchObject({ id });
        expect(await store.replayDeadLettersById([id, 'no-such-id'], LATER)).toBe(1);
        expect(await store.getDeadLetter(id)).toBeNull();
        expect(idsOf(await store.claimDueDeliveries(LATER, 10, LEASE_MS))).toEqual([id]);
        await expect(store.pageDeadLetters({ limit: 2, after: 'not-a-cursor' })).rejects.toMatchObject({ name: 'InvalidCursor' });
      });

      it('when quarantined webhooks are filtered, shown and replayed by id, then only those go back to the queue, body intact', async () => {
        const body = Buffer.from('{"id": ');
        const [broken] = await store.append([buildNewWebhook({ channel: 'events', state: 'quarantined', detail: 'malformed_json', body })]);
        const unknown = await receive({ channel: 'legacy' });
        await store.settle(unknown, buildUnrecognised('legacy', 'unknown_rule_type:Brand New'), legacyPrimary);
        if (broken?.status !== 'stored') throw new Error('not stored');

        const byReason = await store.pageQuarantine({ limit: 10, reason: 'unknown_rule_type' });
        expect(byReason.entries.map((e) => e.inboxId)).toEqual([unknown.inboxId]);
        expect((await store.pageQuarantine({ limit: 10, state: 'quarantined', channel: 'events' })).entries.map((e) => e.inboxId)).toEqual([broken.inboxId]);
        const shown = await store.getQuarantined(broken.inboxId);
        expect(shown).toMatchObject({ detail: 'malformed_json', bytes: body.length, body: '{"id": ' });
        expect(Buffer.from(shown?.bodyBase64 ?? '', 'base64')).toEqual(body);

        expect(await store.replayQuarantineById([unknown.inboxId], LATER)).toBe(1);
        expect((await store.claimPending(LATER, 10, LEASE_MS)).map((w) => w.inboxId)).toEqual([unknown.inboxId]);
        expect((await store.pageQuarantine({ limit: 10 })).entries.map((e) => e.inboxId)).toEqual([broken.inboxId]);
      });

      it('when windows are open and then close, then the details show them pending, then in the hour they were first seen', async () => {
        const event = bothChannelsEvent('strong');
        await copyOf(event, 'legacy', T0, legacyPrimary);
        expect((await store.cutoverDetails(T0 - 3600_000, T0)).pending).toEqual({ [event.type]: 1 });
        await copyOf(event, 'events', T0 + 1000, legacyPrimary);
        await store.closeWindows(T0 + WINDOW_MS + 1, WINDOW_MS, 100);
        const details = await store.cutoverDetails(T0 - 3600_000, T0 + WINDOW_MS + 1);
        expect(details.pending).toEqual({});
        const hour = details.hours.find((h) => h.hour === Math.floor(T0 / 3600_000) * 3600_000);
        expect(hour).toMatchObject({ both: 1, legacyOnly: 0, lagP50Seconds: 1 });
        expect(details.companies).toMatchObject({ onLegacy: 1, onEvents: 0, withGaps: [] });
      });
    });
  });
}
