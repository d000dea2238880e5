/** The `DataSyncCompleted`, `DatasetDataChanged` and `DataSyncStatusChangedToError` rules → `dataset.*`. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEvent } from '../../domain/domain-event.js';
import { event, type Data, type LegacyContext } from './legacy-mapping-helpers.js';
import { dataText } from './legacy-webhook-schema.js';

export function datasetEvent(
  context: LegacyContext,
  type: 'dataset.synced' | 'dataset.changed' | 'dataset.syncFailed',
  extra: Data,
): DomainEvent {
  const dataType = dataText(context.data, 'dataType');
  return event(context, type, 'windowed', [type, context.companyId, optionalPart(context.connectionId), optionalPart(dataType)], {
    dataType: dataType ?? null,
    ...extra,
  });
}
