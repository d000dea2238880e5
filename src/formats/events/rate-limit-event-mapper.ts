/** `client.rateLimit.{reached,reset}` events → `client.rateLimit*`: client-level, the only types without a company. */
import { normaliseCodatDateTime } from '../../domain/codat-date-time.js';
import type { KeyStrength } from '../../domain/domain-event.js';
import { MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { rateLimitPayloadSchema } from './event-webhook-schema.js';

export function convertRateLimit(action: 'reached' | 'reset', payload: object, ctx: Context): PayloadResult {
  const parsed = rateLimitPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const expiry = normaliseExpiry(parsed.data.expiryDate);
  const strength: KeyStrength = expiry === null ? 'windowed' : 'strong';
  const dailyQuota = parsed.data.dailyQuota ?? null;

  if (action === 'reached') {
    return [event(ctx, 'client.rateLimitReached', ['client.rateLimitReached', expiry], strength, null, null, { dailyQuota })];
  }
  return [
    event(ctx, 'client.rateLimitReset', ['client.rateLimitReset', expiry], strength, null, null, {
      dailyQuota,
      quotaRemaining: parsed.data.quotaRemaining ?? null,
    }),
  ];
}

/**
 * The legacy `ExpiresUtc` and the new `expiryDate` may spell one instant differently
 * (fraction digits, offset), so the key uses the ISO form; an unparseable value (Codat's own
 * example holds `23:59:99`) is kept raw so that it still identifies the occurrence.
 */
export function normaliseExpiry(raw: string | undefined): string | null {
  const value = identifier(raw);
  if (value === null) return null;
  return normaliseCodatDateTime(value);
}
