/** The client rules (`ClientRateLimitReached`, `ClientRateLimitReset`) → `client.rateLimit*`, with their quotas. */
import { normaliseCodatDateTime } from '../../domain/codat-date-time.js';
import type { DomainEvent, FieldValue, KeyStrength } from '../../domain/domain-event.js';
import { event, type Data, type LegacyContext } from './legacy-mapping-helpers.js';
import { asText, dataValue } from './legacy-webhook-schema.js';

export function rateLimitEvent(
  context: LegacyContext,
  type: 'client.rateLimitReached' | 'client.rateLimitReset',
  data: Data,
): DomainEvent {
  const expiry = normaliseExpiry(dataValue(context.data, 'ExpiresUtc'));
  // The expiry identifies the quota period; without it only arrival time can pair copies.
  const strength: KeyStrength = expiry === undefined ? 'windowed' : 'strong';
  return event(context, type, strength, [type, expiry], data);
}

/** The expiry as Codat-neutral ISO, shared with the events mapper so that both make one key. */
export function normaliseExpiry(value: unknown): string | undefined {
  const raw = asText(value);
  return raw === undefined ? undefined : normaliseCodatDateTime(raw);
}

/** Plain decimal only: `Number()` alone would also accept `0x10`, `1e3` and `Infinity`. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A quota as a number when it is numeric (number or decimal string), so both channels compare
 * equal; any other string is carried through as received (unknown values are not dropped);
 * anything else is absent.
 */
export function quotaOf(value: unknown): FieldValue {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const text = asText(value)?.trim();
  if (text === undefined) return null;
  return DECIMAL.test(text) ? Number(text) : text;
}
