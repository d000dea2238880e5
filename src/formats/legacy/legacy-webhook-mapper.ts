/**
 * Legacy rules webhook body → domain events (docs/domain-mapping.md is the spec).
 *
 * Pure and total: it reads nothing but its argument and never throws, because it sits behind a
 * public endpoint that answers Codat (and fuzzers) with whatever it returns.
 */
import { normaliseCodatDateTime } from '../../domain/codat-date-time.js';
import { buildKey, optionalPart, type KeyPart } from '../../domain/correlation-key.js';
import { canonicalWriteStatus } from '../../domain/write-status.js';
import type {
  Conversion,
  DomainEvent,
  DomainEventType,
  FieldValue,
  KeyStrength,
  WebhookSource,
} from '../../domain/domain-event.js';
import { lookupLegacyRule, type LegacyRule } from './legacy-rule-types.js';
import {
  asText,
  dataText,
  dataValue,
  legacyRuleTypeOf,
  legacyWebhookBodySchema,
  type LegacyData,
  type LegacyWebhookBody,
} from './legacy-webhook-schema.js';

/** Written in place of a missing key part (spec "Conventions"). */
const MISSING_PART = '-';

/** Raw rule types are echoed into reasons; cap them so a hostile body cannot bloat logs and quarantine rows. */
const MAX_REASON_DETAIL = 200;

type Data = Readonly<Record<string, FieldValue>>;

/** Everything a rule conversion reads, resolved once. */
interface LegacyContext {
  readonly rule: LegacyRule;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  readonly data: LegacyData;
}

/**
 * A body in the legacy wire format rather than the new one: it has a legacy identifier
 * (`AlertId`, `RuleType` or `Type`) and no `eventType`. Routing is by shape, not by URL,
 * because Codat's new service also sends legacy-format bodies.
 */
export function isLegacyShapedBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  try {
    const has = (key: string): boolean =>
      Object.hasOwn(body, key) && (body as Record<string, unknown>)[key] != null;
    return (has('AlertId') || has('RuleType') || has('Type')) && !has('eventType');
  } catch {
    // A getter or proxy that throws is not a webhook body we can read.
    return false;
  }
}

export function convertLegacyWebhook(body: unknown): Conversion {
  try {
    return convert(body);
  } catch {
    // Only exotic inputs (throwing getters, proxies) get here: JSON.parse output never throws below.
    return { kind: 'invalid', source: { channel: 'legacy', id: null, type: null }, reason: 'unreadable_body' };
  }
}

function convert(body: unknown): Conversion {
  const parsed = legacyWebhookBodySchema.safeParse(body);
  if (!parsed.success) {
    return { kind: 'invalid', source: { channel: 'legacy', id: null, type: null }, reason: 'body_not_object' };
  }
  const wire = parsed.data;
  const rawType = legacyRuleTypeOf(wire);
  const source: WebhookSource = { channel: 'legacy', id: wire.AlertId ?? null, type: rawType ?? null };

  if (rawType === undefined) return { kind: 'unrecognised', source, reason: 'missing_rule_type' };
  const rule = lookupLegacyRule(rawType);
  if (rule === undefined) {
    return { kind: 'unrecognised', source, reason: `unknown_rule_type:${rawType.slice(0, MAX_REASON_DETAIL)}` };
  }

  const context = contextOf(rule, wire);
  if (context.companyId === null && !isClientScoped(rule)) {
    return { kind: 'invalid', source, reason: 'missing_company_id' };
  }
  return { kind: 'converted', source, events: [eventFor(context)] };
}

function contextOf(rule: LegacyRule, wire: LegacyWebhookBody): LegacyContext {
  return {
    rule,
    companyId: wire.CompanyId ?? null,
    // REFERENCE §6 maps both to the connection id; the top-level one is the documented primary.
    connectionId: wire.DataConnectionId ?? dataText(wire.Data, 'dataConnectionId') ?? null,
    data: wire.Data,
  };
}

/** The rate-limit rules are about the Codat client, not a company: the only types allowed without one. */
function isClientScoped(rule: LegacyRule): boolean {
  return rule === 'ClientRateLimitReached' || rule === 'ClientRateLimitReset';
}

/** Every legacy rule yields exactly one domain event. */
function eventFor(context: LegacyContext): DomainEvent {
  const { companyId, connectionId, data } = context;
  switch (context.rule) {
    case 'DataConnectionStatusChanged':
      return connectionStatusEvent(context);
    case 'SyncConnectionDeleted':
      return event(context, 'connection.deleted', 'windowed', ['connection.deleted', companyId, optionalPart(connectionId)], {});
    case 'NewCompanySynchronized':
      return event(context, 'company.firstSynced', 'windowed', ['company.firstSynced', companyId, optionalPart(connectionId)], {});
    case 'DataSyncCompleted':
      return datasetEvent(context, 'dataset.synced', {});
    case 'DatasetDataChanged':
      return datasetEvent(context, 'dataset.changed', {});
    case 'DataSyncStatusChangedToError':
      return datasetEvent(context, 'dataset.syncFailed', { status: dataText(data, 'datasetStatus') ?? null });
    case 'PushOperationStatusChanged':
      return writeEvent(context, dataText(data, 'status'));
    case 'PushOperationTimedOut':
      // This rule's body usually has no status: the rule itself says what happened.
      return writeEvent(context, dataText(data, 'status') ?? 'TimedOut');
    case 'AccountCategoriesUpdated':
      return event(
        context,
        'company.accountCategoriesUpdated',
        'windowed',
        ['company.accountCategoriesUpdated', companyId, optionalPart(connectionId)],
        { modifiedDate: dataText(data, 'modifiedDate') ?? null },
      );
    case 'SyncStarted':
      return syncIdEvent(context, 'expenses.syncStarted', 'expenses.syncStarted', {
        syncType: dataText(data, 'syncType') ?? null,
      });
    case 'SyncCompleted':
      return syncIdEvent(context, 'expenses.syncFinished', 'expenses.sync', { outcome: 'completed' });
    case 'SyncFailed':
      return syncIdEvent(context, 'expenses.syncFinished', 'expenses.sync', { outcome: 'failed' });
    case 'ClientRateLimitReached':
      return rateLimitEvent(context, 'client.rateLimitReached', {
        dailyQuota: quotaOf(dataValue(data, 'DailyQuota')),
      });
    case 'ClientRateLimitReset':
      return rateLimitEvent(context, 'client.rateLimitReset', {
        dailyQuota: quotaOf(dataValue(data, 'DailyQuota')),
        quotaRemaining: quotaOf(dataValue(data, 'QuotaRemaining')),
      });
  }
}

function event(
  context: LegacyContext,
  type: DomainEventType,
  keyStrength: KeyStrength,
  keyParts: readonly KeyPart[],
  data: Data,
): DomainEvent {
  return {
    type,
    ...buildKey(keyParts),
    keyStrength,
    // Legacy bodies carry no time of occurrence; delivery uses the arrival time instead.
    occurredAt: null,
    companyId: context.companyId,
    connectionId: context.connectionId,
    data,
  };
}

// --- Connections ----------------------------------------------------------------------------

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

function connectionStatusEvent(context: LegacyContext): DomainEvent {
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

// --- Datasets -------------------------------------------------------------------------------

function datasetEvent(
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

// --- Writes (push operations) ---------------------------------------------------------------

/** The domain type of each documented write status (canonical spelling). */
const WRITE_TYPES: ReadonlyMap<string, DomainEventType> = new Map([
  ['Success', 'write.succeeded'],
  ['Failed', 'write.failed'],
  ['TimedOut', 'write.timedOut'],
  ['Pending', 'write.pending'],
]);

function writeEvent(context: LegacyContext, status: string | undefined): DomainEvent {
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

// --- Expenses syncs -------------------------------------------------------------------------

function syncIdEvent(
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

// --- Client rate limits ---------------------------------------------------------------------

function rateLimitEvent(
  context: LegacyContext,
  type: 'client.rateLimitReached' | 'client.rateLimitReset',
  data: Data,
): DomainEvent {
  const expiry = normaliseExpiry(dataValue(context.data, 'ExpiresUtc'));
  // The expiry identifies the quota period; without it only arrival time can pair copies.
  const strength: KeyStrength = expiry === undefined ? 'windowed' : 'strong';
  return event(context, type, strength, [type, expiry], data);
}

/** The expiry as Codat-neutral ISO, shared with the events mapper so that both make one key. */
export function normaliseExpiry(value: unknown): string | undefined {
  const raw = asText(value);
  return raw === undefined ? undefined : normaliseCodatDateTime(raw);
}

/** Plain decimal only: `Number()` alone would also accept `0x10`, `1e3` and `Infinity`. */
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * A quota as a number when it is numeric (number or decimal string), so both channels compare
 * equal; any other string is carried through as received (unknown values are not dropped);
 * anything else is absent.
 */
export function quotaOf(value: unknown): FieldValue {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const text = asText(value)?.trim();
  if (text === undefined) return null;
  return DECIMAL.test(text) ? Number(text) : text;
}
