/**
 * Correlation keys, built the same way by both format mappers so that one occurrence makes one key
 * on both channels (docs/domain-mapping.md "Conventions", docs/correlation.md).
 */
import type { DomainEvent } from './domain-event.js';

/** Written in place of a missing key part. */
const MISSING_PART = '-';

/** A key part Codat documents as absent on some copies: a copy without it pairs with one that has it. */
export interface OptionalPart {
  readonly optional: string | null;
}

export type KeyPart = string | null | undefined | OptionalPart;

/** Marks a part that one channel may omit (e.g. the legacy `DataConnectionId`). */
export function optionalPart(value: string | null | undefined): OptionalPart {
  return { optional: value === undefined || value === '' ? null : value };
}

export type EventKey = Pick<DomainEvent, 'correlationKey' | 'pairingKey' | 'keyQualifiers'>;

const isOptional = (part: KeyPart): part is OptionalPart => typeof part === 'object' && part !== null;
const written = (value: string | null | undefined) => (value === null || value === undefined || value === '' ? MISSING_PART : value);

/**
 * Parts joined with `|`, a missing part written `-`. With optional parts, the pairing key leaves them
 * out and the qualifiers carry them, in order.
 */
export function buildKey(parts: readonly KeyPart[]): EventKey {
  const correlationKey = parts.map((part) => written(isOptional(part) ? part.optional : part)).join('|');
  const optional = parts.filter(isOptional);
  if (optional.length === 0) return { correlationKey };
  return {
    correlationKey,
    pairingKey: parts.filter((part) => !isOptional(part)).map((part) => written(part as string | null | undefined)).join('|'),
    keyQualifiers: optional.map((part) => part.optional),
  };
}

/** The key copies are paired and locked on. */
export function pairingKeyOf(event: DomainEvent): string {
  return event.pairingKey ?? event.correlationKey;
}

export function qualifiersOf(event: DomainEvent): readonly (string | null)[] {
  return event.keyQualifiers ?? [];
}
