/**
 * Do the two conversions of one occurrence agree? A disagreement means one mapper (or Codat) says
 * something different on each channel: the thing to fix before trusting the new stream.
 */
import type { DomainEvent, DomainEventType } from './domain-event.js';

/**
 * Facts each channel carries differently by Codat's design (REFERENCE §5–§6): never mismatches.
 * Legacy "Sync Completed" fired on any completion while the new types split success from failure;
 * legacy "Rate Limit Reached" has no remaining quota; `connection.deleted` has no status on legacy.
 */
export const NOT_COMPARED: Partial<Record<DomainEventType, readonly string[]>> = {
  'expenses.syncFinished': ['outcome'],
  'client.rateLimitReached': ['quotaRemaining'],
};

/** Names of the fields on which the two copies disagree (`companyId`, `connectionId`, `data.<field>`). */
export function mismatchedFields(a: DomainEvent, b: DomainEvent): string[] {
  const skipped = new Set(NOT_COMPARED[a.type] ?? []);
  const fields: string[] = [];
  // A value one channel does not carry (null) is not a disagreement.
  const differs = (x: unknown, y: unknown) => x !== null && x !== undefined && y !== null && y !== undefined && x !== y;
  if (differs(a.companyId, b.companyId)) fields.push('companyId');
  if (differs(a.connectionId, b.connectionId)) fields.push('connectionId');
  const names = new Set([...Object.keys(a.data), ...Object.keys(b.data)]);
  for (const name of [...names].sort()) {
    if (!skipped.has(name) && differs(a.data[name], b.data[name])) fields.push(`data.${name}`);
  }
  return fields;
}
