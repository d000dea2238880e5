/** The `DataConnectionStatusChanged` rule → the `connection.*` event its status transition is. */
import { optionalPart } from '../../domain/correlation-key.js';
import type { DomainEvent, DomainEventType } from '../../domain/domain-event.js';
import { event, type LegacyContext } from './legacy-mapping-helpers.js';
import { dataText } from './legacy-webhook-schema.js';

/** Written in place of a missing key part (spec "Conventions"). */
const MISSING_PART = '-';

/** The connection statuses Codat documents for `Data.newStatus`/`oldStatus`, compared case-insensitively. */
const PENDING_AUTH = 'pendingauth';
const LINKED = 'linked';
const BROKEN_LINK_STATUSES: ReadonlySet<string> = new Set(['unlinked', 'deauthorized']);

/**
 * Which `connection.*` event a status transition is, per the spec table. `undefined` old status
 * means the body had none (absent, null or blank). Returns `undefined` for a transition no
 * `connection.*` event describes.
 */
export function connectionTransitionType(
  oldStatus: string | undefined,
  newStatus: string,
): DomainEventType | undefined {
  const from = oldStatus?.toLowerCase();
  const to = newStatus.toLowerCase();
  if (from === undefined && to === PENDING_AUTH) return 'connection.created';
  if ((from === undefined || from === PENDING_AUTH) && to === LINKED) return 'connection.connected';
  if (from === LINKED && BROKEN_LINK_STATUSES.has(to)) return 'connection.disconnected';
  if (from !== undefined && BROKEN_LINK_STATUSES.has(from) && to === LINKED) return 'connection.reconnected';
  return undefined;
}

export function connectionStatusEvent(context: LegacyContext): DomainEvent {
  const { companyId, connectionId, data } = context;
  const newStatus = dataText(data, 'newStatus');
  // Codat's legacy service reports a deleted connection as a status change with no new status.
  if (newStatus === undefined) {
    return event(context, 'connection.deleted', 'windowed', ['connection.deleted', companyId, optionalPart(connectionId)], {});
  }
  const oldStatus = dataText(data, 'oldStatus');
  const integrationKey = dataText(data, 'platformKey') ?? null;
  const type = connectionTransitionType(oldStatus, newStatus);
  if (type !== undefined) {
    return event(context, type, 'windowed', [type, companyId, optionalPart(connectionId)], { status: newStatus, integrationKey });
  }
  const transition = `${oldStatus ?? MISSING_PART}->${newStatus}`;
  return event(
    context,
    'connection.statusChanged',
    'windowed',
    ['connection.statusChanged', companyId, optionalPart(connectionId), transition],
    { status: newStatus, oldStatus: oldStatus ?? null, integrationKey },
  );
}
