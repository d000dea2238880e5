/** `{dataType}.write.{successful,unsuccessful}` events → `write.*`, typed by the status the payload carries. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEventType } from '../../domain/domain-event.js';
import { canonicalWriteStatus } from '../../domain/write-status.js';
import type { Outcome } from './event-types.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { writePayloadSchema } from './event-webhook-schema.js';

export function convertWrite(dataType: string, outcome: Outcome, payload: object, ctx: Context): PayloadResult {
  const parsed = writePayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const connectionId = identifier(parsed.data.connectionId);
  const rawStatus = identifier(parsed.data.status);
  const status = rawStatus === null ? (outcome === 'successful' ? 'Success' : 'Failed') : canonicalWriteStatus(rawStatus);
  // The status decides, not the suffix: Codat documents TimedOut under `.write.successful` (REFERENCE §10.2).
  const type = writeTypeOf(status);
  const operationKey = identifier(parsed.data.id);
  const data = { dataType, status };

  if (operationKey !== null) {
    return [event(ctx, type, ['write', operationKey, status], 'strong', companyId, connectionId, data)];
  }
  return [event(ctx, type, ['write', companyId, optionalPart(connectionId), optionalPart(dataType), status], 'windowed', companyId, connectionId, data)];
}

export function writeTypeOf(status: string): DomainEventType {
  switch (status) {
    case 'Success':
      return 'write.succeeded';
    case 'Failed':
      return 'write.failed';
    case 'TimedOut':
      return 'write.timedOut';
    default:
      // Includes `Pending`: `write.pending` is legacy-only, and a new-channel copy must not be
      // delivered as if it were the legacy occurrence.
      return 'write.statusChanged';
  }
}
