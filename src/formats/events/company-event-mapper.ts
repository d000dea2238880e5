/** `company.{created,deleted}` and `company.product.{added,removed}` events: the payload is the company itself. */
import type { DomainEventType } from '../../domain/domain-event.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { companyPayloadSchema, companyProductPayloadSchema } from './event-webhook-schema.js';

export function convertCompany(action: 'created' | 'deleted', payload: object, ctx: Context): PayloadResult {
  const parsed = companyPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  // The payload is the company itself: `payload.id` is the company id.
  const companyId = identifier(parsed.data.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = `company.${action}`;
  return [event(ctx, type, [type, companyId], 'strong', companyId, null, { name: parsed.data.name ?? null })];
}

export function convertCompanyProduct(action: 'added' | 'removed', payload: object, ctx: Context): PayloadResult {
  const parsed = companyProductPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = action === 'added' ? 'company.productAdded' : 'company.productRemoved';
  const productId = parsed.data.productId ?? null;
  return [event(ctx, type, [type, companyId, productId], 'windowed', companyId, null, { productId })];
}
