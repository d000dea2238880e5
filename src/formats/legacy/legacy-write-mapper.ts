/** The push operation rules (`PushOperationStatusChanged`, `PushOperationTimedOut`) → `write.*`. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEvent, DomainEventType } from '../../domain/domain-event.js';
import { canonicalWriteStatus } from '../../domain/write-status.js';
import { event, type Data, type LegacyContext } from './legacy-mapping-helpers.js';
import { dataText } from './legacy-webhook-schema.js';

/** The domain type of each documented write status (canonical spelling). */
const WRITE_TYPES: ReadonlyMap<string, DomainEventType> = new Map([
  ['Success', 'write.succeeded'],
  ['Failed', 'write.failed'],
  ['TimedOut', 'write.timedOut'],
  ['Pending', 'write.pending'],
]);

export function writeEvent(context: LegacyContext, status: string | undefined): DomainEvent {
  const { companyId, connectionId, data } = context;
  const keyStatus = status === undefined ? undefined : canonicalWriteStatus(status);
  // An unknown or missing status is still a status change of a known write: carried through.
  const type = (keyStatus === undefined ? undefined : WRITE_TYPES.get(keyStatus)) ?? 'write.statusChanged';
  const dataType = dataText(data, 'dataType');
  const operationKey = dataText(data, 'pushOperationKey') ?? dataText(data, 'pushOperationGuid');
  const eventData: Data = { dataType: dataType ?? null, status: keyStatus ?? null };
  if (operationKey !== undefined) {
    return event(context, type, 'strong', ['write', operationKey, keyStatus], eventData);
  }
  // Without Codat's operation id the best identity is the entity plus the status, and that can repeat.
  return event(context, type, 'windowed', ['write', companyId, optionalPart(connectionId), optionalPart(dataType), keyStatus], eventData);
}
