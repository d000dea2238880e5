/**
 * The contract phase (docs/toggle-phases.md, phase 5) as a flip of `codat-legacy-consumer`. With the legacy
 * consumer off, a legacy webhook is still stored and acknowledged as before (the receiver does not change); what
 * changes is that its events are left out of the ledger where the new channel is primary and carries the type
 * too. What still needs the legacy channel is refused the contract and keeps flowing: legacy-only types (no
 * replacement exists) and companies the toggle `codat-new-event-types` has not moved yet.
 */
import { carriageOf, type Channel, type Conversion, type DomainEventType } from '../domain/domain-event.js';
import type { LedgerPolicy } from './ledger-store.js';

export function contractConversion(channel: Channel, conversion: Conversion, policy: LedgerPolicy): Conversion {
  if (channel !== 'legacy' || conversion.kind !== 'converted') return conversion;
  const contracted: DomainEventType[] = [];
  const kept = conversion.events.filter((event) => {
    const replaced = carriageOf(event.type) === 'both' && policy.primaryFor(event.companyId) === 'events';
    if (replaced) contracted.push(event.type);
    return !replaced;
  });
  return contracted.length === 0 ? conversion : { ...conversion, events: kept, contracted };
}
