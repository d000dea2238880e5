/** `expenses.sync.{successful,unsuccessful}` events (Sync for Expenses) → `expenses.syncFinished`. */
import type { KeyStrength } from '../../domain/domain-event.js';
import type { Outcome } from './event-types.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { expensesSyncPayloadSchema } from './event-webhook-schema.js';

export function convertExpensesSync(outcome: Outcome, payload: object, ctx: Context): PayloadResult {
  const parsed = expensesSyncPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const syncId = identifier(parsed.data.syncId);
  // Without a sync id the key names no occurrence, so it must not collapse copies forever.
  const strength: KeyStrength = syncId === null ? 'windowed' : 'strong';
  return [
    event(ctx, 'expenses.syncFinished', ['expenses.sync', syncId], strength, companyId, null, {
      outcome: outcome === 'successful' ? 'succeeded' : 'failed',
    }),
  ];
}
