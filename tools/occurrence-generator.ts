/**
 * Generates real-world occurrences as the wire copies Codat would send for them: a legacy copy,
 * a new-format copy, or both, with redeliveries. Each occurrence has its own company id, so a
 * delivery can be traced back to the occurrence it stands for.
 */
import { randomUUID } from 'node:crypto';

export type OccurrenceKind = 'write' | 'connection' | 'dataset' | 'expenses' | 'legacy-only' | 'events-only';

export interface WireCopy {
  readonly channel: 'legacy' | 'events';
  readonly body: string;
  readonly webhookId: string;
}

export interface GeneratedOccurrence {
  readonly companyId: string;
  readonly kind: OccurrenceKind;
  readonly domainType: string;
  readonly copies: readonly WireCopy[];
}

const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';

function company(companyId: string) {
  return { id: companyId, name: 'Sim Co', links: { portal: `https://app.codat.io/companies/${companyId}/summary` } };
}

function legacyBody(companyId: string, ruleType: string, data: Record<string, unknown>) {
  return JSON.stringify({ AlertId: randomUUID(), RuleType: ruleType, CompanyId: companyId, DataConnectionId: CONNECTION, Message: 'sim', Data: data });
}

function eventBody(eventType: string, payload: Record<string, unknown>) {
  return JSON.stringify({ id: randomUUID(), eventType, generatedDate: new Date().toISOString(), payload });
}

export function bodiesFor(kind: OccurrenceKind, companyId: string): { domainType: string; legacy?: string; events?: string } {
  switch (kind) {
    case 'write': {
      const key = randomUUID();
      return {
        domainType: 'write.succeeded',
        legacy: legacyBody(companyId, 'Push Operation Status Changed()', { dataType: 'invoices', status: 'Success', pushOperationKey: key }),
        events: eventBody('invoices.write.successful', { id: key, type: 'Create', referenceCompany: company(companyId), connectionId: CONNECTION, status: 'Success' }),
      };
    }
    case 'connection':
      return {
        domainType: 'connection.connected',
        legacy: legacyBody(companyId, 'DataConnectionStatusChanged', { dataConnectionId: CONNECTION, oldStatus: 'PendingAuth', newStatus: 'Linked', platformKey: 'gbol' }),
        events: eventBody('connection.connected', { referenceCompany: company(companyId), connection: { id: CONNECTION, integrationKey: 'gbol', status: 'Linked' } }),
      };
    case 'dataset':
      return {
        domainType: 'dataset.synced',
        legacy: legacyBody(companyId, 'Data sync completed', { dataType: 'invoices', datasetId: randomUUID() }),
        events: eventBody('read.completed', {
          referenceCompany: company(companyId),
          dataTypes: [{ connectionId: CONNECTION, dataType: 'invoices', recordsModified: false, status: 'Complete' }],
        }),
      };
    case 'expenses': {
      const syncId = randomUUID();
      return {
        domainType: 'expenses.syncFinished',
        legacy: legacyBody(companyId, 'Sync Completed', { syncId, syncType: 'Expense' }),
        events: eventBody('expenses.sync.successful', { referenceCompany: company(companyId), syncId, transactions: [] }),
      };
    }
    case 'legacy-only':
      return { domainType: 'expenses.syncStarted', legacy: legacyBody(companyId, 'Sync Started', { syncId: randomUUID(), syncType: 'Expense' }) };
    case 'events-only':
      return { domainType: 'company.created', events: eventBody('company.created', { id: companyId, name: 'Sim Co', redirect: 'https://link.codat.io' }) };
  }
}

export interface GeneratorOptions {
  readonly random: () => number;
  /** Share of two-channel occurrences that arrive on one channel only (lost or late copy). */
  readonly oneSidedShare: number;
  /** Share of copies that Codat delivers again (same webhook-id). */
  readonly redeliveryShare: number;
}

const KINDS: readonly OccurrenceKind[] = ['write', 'connection', 'dataset', 'expenses', 'write', 'dataset', 'legacy-only', 'events-only'];

export function generateOccurrence(options: GeneratorOptions): GeneratedOccurrence {
  const kind = KINDS[Math.floor(options.random() * KINDS.length)] ?? 'write';
  const companyId = randomUUID();
  const { domainType, legacy, events } = bodiesFor(kind, companyId);
  const channels: WireCopy[] = [];
  const oneSided = legacy && events && options.random() < options.oneSidedShare;
  const dropLegacy = oneSided && options.random() < 0.5;
  if (legacy && !dropLegacy) channels.push({ channel: 'legacy', body: legacy, webhookId: `msg_${randomUUID()}` });
  if (events && !(oneSided && !dropLegacy)) channels.push({ channel: 'events', body: events, webhookId: `msg_${randomUUID()}` });
  const copies = channels.flatMap((copy) => (options.random() < options.redeliveryShare ? [copy, copy] : [copy]));
  return { companyId, kind, domainType, copies };
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
