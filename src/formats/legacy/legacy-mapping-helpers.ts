/** What the per-family mappers of the legacy format share: the resolved body and the one event builder. */
import { buildKey, type KeyPart } from '../../domain/correlation-key.js';
import type { DomainEvent, DomainEventType, FieldValue, KeyStrength } from '../../domain/domain-event.js';
import type { LegacyRule } from './legacy-rule-types.js';
import type { LegacyData } from './legacy-webhook-schema.js';

export type Data = Readonly<Record<string, FieldValue>>;

/** Everything a rule conversion reads, resolved once. */
export interface LegacyContext {
  readonly rule: LegacyRule;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: LegacyData;
}

export function event(
  context: LegacyContext,
  type: DomainEventType,
  keyStrength: KeyStrength,
  keyParts: readonly KeyPart[],
  data: Data,
): DomainEvent {
  return {
    type,
    ...buildKey(keyParts),
    keyStrength,
    // Legacy bodies carry no time of occurrence; delivery uses the arrival time instead.
    occurredAt: null,
    companyId: context.companyId,
    connectionId: context.connectionId,
    data,
  };
}
