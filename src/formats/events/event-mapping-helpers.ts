/**
 * What the per-family mappers of the new format share: the reasons a payload cannot be converted,
 * the context of one webhook, and the one way a domain event is built from key parts.
 */
import { buildKey, type KeyPart } from '../../domain/correlation-key.js';
import type { DomainEvent, DomainEventType, FieldValue, KeyStrength } from '../../domain/domain-event.js';

export const INVALID_REASONS = {
  notAnObject: 'not_a_json_object',
  missingPayload: 'missing_payload',
  missingCompanyId: 'missing_company_id',
  noDataTypes: 'no_data_types',
  conversionError: 'conversion_error',
} as const;

export type Data = Readonly<Record<string, FieldValue>>;

/** What every event of one webhook shares. */
export interface Context {
  readonly occurredAt: string | null;
}

/** The events of a known type, or why its payload cannot be converted. */
export type PayloadResult = readonly DomainEvent[] | typeof MISSING_COMPANY_ID | typeof MISSING_PAYLOAD | typeof NO_DATA_TYPES;
export const NO_DATA_TYPES = INVALID_REASONS.noDataTypes;
export const MISSING_COMPANY_ID = INVALID_REASONS.missingCompanyId;
export const MISSING_PAYLOAD = INVALID_REASONS.missingPayload;

export function event(
  ctx: Context,
  type: DomainEventType,
  keyParts: readonly KeyPart[],
  keyStrength: KeyStrength,
  companyId: string | null,
  connectionId: string | null,
  data: Data,
): DomainEvent {
  return { type, ...buildKey(keyParts), keyStrength, occurredAt: ctx.occurredAt, companyId, connectionId, data };
}

/** An id (or status) that is absent or empty says nothing: treat both the same. */
export function identifier(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}
