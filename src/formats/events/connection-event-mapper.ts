/** `connection.*` events → the matching `connection.*` domain event. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEventType } from '../../domain/domain-event.js';
import type { ConnectionTransition } from './event-types.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { connectionPayloadSchema } from './event-webhook-schema.js';

export function convertConnection(
  transition: ConnectionTransition,
  payload: object,
  ctx: Context,
): PayloadResult {
  const parsed = connectionPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const connection = parsed.data.connection;
  const connectionId = identifier(connection?.id);
  const type: DomainEventType = `connection.${transition}`;
  const status = connection?.status ?? null;

  switch (transition) {
    case 'deleted':
      // Legacy `Sync Connection Deleted` carries no connection id, so the key leaves it out.
      return [event(ctx, type, [type, companyId, optionalPart(connectionId)], 'windowed', companyId, connectionId, {})];
    case 'failed':
      return [event(ctx, type, [type, companyId, optionalPart(connectionId)], 'windowed', companyId, connectionId, { status })];
    default:
      return [
        event(ctx, type, [type, companyId, optionalPart(connectionId)], 'windowed', companyId, connectionId, {
          status,
          integrationKey: connection?.integrationKey ?? null,
        }),
      ];
  }
}
