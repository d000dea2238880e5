/**
 * Paired traffic for the demo: each occurrence as Codat sends it on both channels (a legacy rule body and the
 * new event that replaces it, sharing the ids Codat's mapping pairs on), for a fixed set of companies so that
 * the gradual flip moves whole companies.
 */
import { randomUUID } from 'node:crypto';

export interface Copy {
  readonly channel: 'legacy' | 'events';
  readonly body: string;
  readonly webhookId: string;
}

export interface Occurrence {
  readonly companyId: string;
  readonly legacy: Copy;
  readonly events: Copy;
}

const CONNECTION = '2e9d2c44-f675-40ba-8049-353bfcb5e171';
export const COMPANIES: readonly string[] = Array.from({ length: 24 }, () => randomUUID());

const company = (id: string) => ({ id, name: 'Demo Co', links: { portal: `https://app.codat.io/companies/${id}/summary` } });
const copy = (channel: Copy['channel'], body: unknown): Copy => ({ channel, body: JSON.stringify(body), webhookId: `msg_${randomUUID()}` });
const legacy = (companyId: string, ruleType: string, data: Record<string, unknown>) =>
  copy('legacy', { AlertId: randomUUID(), RuleType: ruleType, CompanyId: companyId, DataConnectionId: CONNECTION, Message: 'demo', Data: data });
const event = (eventType: string, at: number, payload: Record<string, unknown>) =>
  copy('events', { id: randomUUID(), eventType, generatedDate: new Date(at).toISOString(), payload });

const KINDS = [
  (companyId: string, at: number): Omit<Occurrence, 'companyId'> => {
    const key = randomUUID();
    return {
      legacy: legacy(companyId, 'Push Operation Status Changed()', { dataType: 'invoices', status: 'Success', pushOperationKey: key }),
      events: event('invoices.write.successful', at, { id: key, type: 'Create', referenceCompany: company(companyId), connectionId: CONNECTION, status: 'Success' }),
    };
  },
  (companyId: string, at: number) => {
    const syncId = randomUUID();
    return {
      legacy: legacy(companyId, 'Sync Completed', { syncId, syncType: 'Expense' }),
      events: event('expenses.sync.successful', at, { referenceCompany: company(companyId), syncId, transactions: [] }),
    };
  },
  (companyId: string, at: number) => {
    const key = randomUUID();
    return {
      legacy: legacy(companyId, 'Push Operation Status Changed()', { dataType: 'bills', status: 'Failed', pushOperationKey: key }),
      events: event('bills.write.unsuccessful', at, { id: key, type: 'Create', referenceCompany: company(companyId), connectionId: CONNECTION, status: 'Failed' }),
    };
  },
];

export function occurrence(i: number, at: number): Occurrence {
  const companyId = COMPANIES[i % COMPANIES.length] ?? COMPANIES[0] ?? randomUUID();
  const kind = KINDS[i % KINDS.length] ?? KINDS[0];
  if (!kind) throw new Error('no traffic kinds');
  return { companyId, ...kind(companyId, at) };
}
