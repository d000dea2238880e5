/** The Sync for Expenses rules (`SyncStarted`, `SyncCompleted`, `SyncFailed`) → `expenses.sync*`. */
import type { DomainEvent, KeyStrength } from '../../domain/domain-event.js';
import { event, type Data, type LegacyContext } from './legacy-mapping-helpers.js';
import { dataText } from './legacy-webhook-schema.js';

export function syncIdEvent(
  context: LegacyContext,
  type: 'expenses.syncStarted' | 'expenses.syncFinished',
  keyPrefix: string,
  data: Data,
): DomainEvent {
  const syncId = dataText(context.data, 'syncId');
  // A strong key must name one occurrence; `-` would merge every id-less sync into one.
  const strength: KeyStrength = syncId === undefined ? 'windowed' : 'strong';
  return event(context, type, strength, [keyPrefix, syncId], data);
}
