/** `bankFeeds.sourceAccount.{connected,disconnected}` events (Bank Feeds) → `bankFeeds.sourceAccount*`. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEventType } from '../../domain/domain-event.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { bankFeedSourceAccountPayloadSchema } from './event-webhook-schema.js';

export function convertBankFeedSourceAccount(action: 'connected' | 'disconnected', payload: object, ctx: Context): PayloadResult {
  const parsed = bankFeedSourceAccountPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  // Pre-2025 bodies have no `referenceCompany`, only `companyId` and `bankAccount`.
  const companyId = identifier(parsed.data.referenceCompany?.id) ?? identifier(parsed.data.companyId);
  if (companyId === null) return MISSING_COMPANY_ID;
  const connectionId = identifier(parsed.data.connectionId);
  const account = parsed.data.sourceAccount ?? parsed.data.bankAccount;
  const sourceAccountId = identifier(account?.id);
  const type: DomainEventType = action === 'connected' ? 'bankFeeds.sourceAccountConnected' : 'bankFeeds.sourceAccountDisconnected';
  return [
    event(ctx, type, [type, companyId, optionalPart(connectionId), sourceAccountId], 'windowed', companyId, connectionId, {
      sourceAccountId,
      status: account?.status ?? null,
    }),
  ];
}
