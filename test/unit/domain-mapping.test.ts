/**
 * The invariant the service rests on: one real-world occurrence yields the same domain events
 * (type and correlation key) whichever channel delivered it. Each row pairs a legacy sample with
 * the new-format sample of the same occurrence (they share company, connection, push operation
 * and sync ids; their AlertId/id differ on purpose).
 */
import { pairingKeyOf, qualifiersOf } from '../../src/domain/correlation-key.js';
import { qualifiersAgree } from '../../src/domain/ledger.js';
import { describe, expect, it } from 'vitest';
import { DOMAIN_EVENT_TYPES, carriageOf, type DomainEvent, type DomainEventType } from '../../src/domain/domain-event.js';
import { convertEventWebhook } from '../../src/formats/events/event-webhook-mapper.js';
import { convertLegacyWebhook } from '../../src/formats/legacy/legacy-webhook-mapper.js';
import { allSampleNames, loadSample } from '../support/samples.js';

const events = (conversion: ReturnType<typeof convertLegacyWebhook>): readonly DomainEvent[] =>
  conversion.kind === 'converted' ? conversion.events : [];

/** Fields each channel carries differently by Codat's design (REFERENCE §5–§6): not compared. */
const NOT_COMPARED: Partial<Record<DomainEventType, readonly string[]>> = {
  // Legacy "Sync Completed" fired on any completion; the new types split success and failure.
  'expenses.syncFinished': ['outcome'],
  // Legacy "Rate Limit Reached" has no QuotaRemaining.
  'client.rateLimitReached': ['quotaRemaining'],
};

const PAIRS: readonly { legacy: string; event: string; type: DomainEventType }[] = [
  { legacy: 'legacy-DataConnectionStatusChanged', event: 'event-connection.connected', type: 'connection.connected' },
  { legacy: 'legacy-SyncConnectionDeleted', event: 'event-connection.deleted', type: 'connection.deleted' },
  { legacy: 'legacy-DataSyncCompleted', event: 'event-read.completed', type: 'dataset.synced' },
  { legacy: 'legacy-DatasetDataChanged', event: 'event-read.completed', type: 'dataset.changed' },
  { legacy: 'legacy-DataSyncStatusChangedToError', event: 'event-read.completed', type: 'dataset.syncFailed' },
  { legacy: 'legacy-NewCompanySynchronized', event: 'event-read.completed.initial', type: 'company.firstSynced' },
  { legacy: 'legacy-PushOperationStatusChanged', event: 'event-dataType.write.successful-invoices', type: 'write.succeeded' },
  { legacy: 'legacy-PushOperationStatusChanged-Failed', event: 'event-dataType.write.unsuccessful-bills-failed', type: 'write.failed' },
  { legacy: 'legacy-PushOperationTimedOut', event: 'event-dataType.write.unsuccessful-invoices-timedout', type: 'write.timedOut' },
  { legacy: 'legacy-SyncCompleted', event: 'event-expenses.sync.successful', type: 'expenses.syncFinished' },
  { legacy: 'legacy-SyncFailed', event: 'event-expenses.sync.unsuccessful', type: 'expenses.syncFinished' },
  { legacy: 'legacy-ClientRateLimitReached', event: 'event-client.rateLimit.reached', type: 'client.rateLimitReached' },
  { legacy: 'legacy-ClientRateLimitReset', event: 'event-client.rateLimit.reset', type: 'client.rateLimitReset' },
];

describe('one occurrence, two channels, the same domain events', () => {
  it.each(PAIRS)('when $legacy and $event describe one occurrence, then both yield $type with one key', ({ legacy, event, type }) => {
    const fromLegacy = events(convertLegacyWebhook(loadSample(legacy))).filter((e) => e.type === type);
    const fromEvents = events(convertEventWebhook(loadSample(event))).filter((e) => e.type === type);
    expect(fromLegacy).toHaveLength(1);
    const [legacyEvent] = fromLegacy;
    // The ledger pairs on the pairing key, where every key part both copies carry agrees.
    const twin = fromEvents.find(
      (e) => legacyEvent !== undefined && pairingKeyOf(e) === pairingKeyOf(legacyEvent) && qualifiersAgree(qualifiersOf(e), qualifiersOf(legacyEvent)),
    );
    expect(twin, `no ${type} pairing with ${legacyEvent?.correlationKey} from ${event}`).toBeDefined();
    expect(twin?.keyStrength).toBe(legacyEvent?.keyStrength);
    expect(twin?.companyId).toBe(legacyEvent?.companyId);
    const skipped = new Set(NOT_COMPARED[type] ?? []);
    for (const [field, value] of Object.entries(legacyEvent?.data ?? {})) {
      if (skipped.has(field) || value === null) continue;
      expect(twin?.data[field], `${type}.data.${field}`).toBe(value);
    }
  });

  it('when every type both channels carry is listed, then each has a sample pair above (or a documented variant)', () => {
    const paired = new Set(PAIRS.map((p) => p.type));
    // Covered by variant tests in the mapper suites instead of a sample pair.
    const variantsOnly = new Set<DomainEventType>(['connection.created', 'connection.disconnected', 'connection.reconnected', 'write.statusChanged']);
    const both = (Object.keys(DOMAIN_EVENT_TYPES) as DomainEventType[]).filter((t) => carriageOf(t) === 'both');
    expect(both.filter((t) => !paired.has(t) && !variantsOnly.has(t))).toEqual([]);
  });

  it('when a mapper converts any sample, then the types it yields are carried by its channel', () => {
    for (const name of allSampleNames()) {
      const legacy = name.startsWith('legacy-');
      const conversion = legacy ? convertLegacyWebhook(loadSample(name)) : convertEventWebhook(loadSample(name));
      expect(conversion.kind, name).toBe('converted');
      for (const e of events(conversion)) {
        expect(carriageOf(e.type), `${name} → ${e.type}`).not.toBe(legacy ? 'events-only' : 'legacy-only');
      }
    }
  });

  it('when the legacy types with no replacement arrive, then they are marked legacy-only', () => {
    const types = ['legacy-AccountCategoriesUpdated', 'legacy-SyncStarted'].flatMap((n) => events(convertLegacyWebhook(loadSample(n))).map((e) => e.type));
    expect(types.map(carriageOf)).toEqual(['legacy-only', 'legacy-only']);
  });

  it('when the new-only types arrive, then they are marked events-only', () => {
    const names = ['event-connection.failed', 'event-company.created', 'event-company.product.added', 'event-bankFeeds.sourceAccount.connected', 'event-reports.creditModel.generate.successful'];
    for (const name of names) {
      for (const e of events(convertEventWebhook(loadSample(name)))) expect(carriageOf(e.type), name).toBe('events-only');
    }
  });
});
