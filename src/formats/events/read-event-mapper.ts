/** `[{product}.]read.completed*` events → `dataset.*` per data type, and `company.firstSynced` after an initial read. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEvent, DomainEventType } from '../../domain/domain-event.js';
import {
  MISSING_COMPANY_ID,
  MISSING_PAYLOAD,
  NO_DATA_TYPES,
  event,
  identifier,
  type Context,
  type Data,
  type PayloadResult,
} from './event-mapping-helpers.js';
import { DATASET_ERROR_STATUSES, readCompletedPayloadSchema } from './event-webhook-schema.js';
import type { DataTypeReadSummary } from './event-webhook-schema.js';

/** One `read.completed*` event fans out per `dataTypes[]` entry (REFERENCE §3: "handle all elements"). */
export function convertReadCompleted(initial: boolean, payload: object, ctx: Context): PayloadResult {
  const parsed = readCompletedPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;

  const entries = (parsed.data.dataTypes ?? []).filter((entry): entry is DataTypeReadSummary => entry !== undefined);
  // A read that reports no readable data type says nothing we can deliver: keep it in quarantine
  // (visible, replayable) rather than settle it as processed with nothing to show.
  if (entries.length === 0) return NO_DATA_TYPES;
  const events = entries.flatMap((entry) => convertReadEntry(entry, companyId, ctx));

  if (initial) {
    // Legacy `New company synchronised` is per company + connection, not per data type, and Codat sends it
    // only once the initial read finished with at least one data type read successfully (REFERENCE §1,
    // §10.14): a first read in which every data type failed is no first sync.
    const succeeded = entries.filter((entry) => entry.status === 'Complete');
    const connectionIds = [...new Set(succeeded.map((entry) => identifier(entry.connectionId)))];
    for (const connectionId of connectionIds) {
      events.push(
        event(ctx, 'company.firstSynced', ['company.firstSynced', companyId, optionalPart(connectionId)], 'windowed', companyId, connectionId, {}),
      );
    }
  }
  return events;
}

function convertReadEntry(entry: DataTypeReadSummary, companyId: string, ctx: Context): DomainEvent[] {
  const connectionId = identifier(entry.connectionId);
  const dataType = entry.dataType ?? null;
  const status = entry.status ?? null;
  const datasetEvent = (type: DomainEventType, data: Data): DomainEvent =>
    event(ctx, type, [type, companyId, optionalPart(connectionId), optionalPart(dataType)], 'windowed', companyId, connectionId, data);

  if (status === 'Complete') {
    const synced = datasetEvent('dataset.synced', { dataType });
    // Strictly `true`: Codat's replication text even misnames the field (REFERENCE §10.6).
    return entry.recordsModified === true ? [synced, datasetEvent('dataset.changed', { dataType })] : [synced];
  }
  if (isDatasetErrorStatus(status)) return [datasetEvent('dataset.syncFailed', { dataType, status })];
  return [datasetEvent('dataset.readEnded', { dataType, status })];
}

/** The nine documented error statuses, or one Codat adds later that follows their naming. */
export function isDatasetErrorStatus(status: string | null): boolean {
  return status !== null && (DATASET_ERROR_STATUSES.has(status) || status.endsWith('Error'));
}
