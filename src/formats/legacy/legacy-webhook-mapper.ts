/**
 * Legacy rules webhook body → domain events (docs/domain-mapping.md is the spec).
 *
 * Pure and total: it reads nothing but its argument and never throws, because it sits behind a
 * public endpoint that answers Codat (and fuzzers) with whatever it returns.
 */
import { optionalPart } from '../../domain/correlation-key.js';
import type { Conversion, DomainEvent, WebhookSource } from '../../domain/domain-event.js';
import { connectionStatusEvent } from './legacy-connection-mapper.js';
import { datasetEvent } from './legacy-dataset-mapper.js';
import { syncIdEvent } from './legacy-expenses-sync-mapper.js';
import { event, type LegacyContext } from './legacy-mapping-helpers.js';
import { quotaOf, rateLimitEvent } from './legacy-rate-limit-mapper.js';
import { lookupLegacyRule, type LegacyRule } from './legacy-rule-types.js';
import { dataText, dataValue, legacyRuleTypeOf, legacyWebhookBodySchema, type LegacyWebhookBody } from './legacy-webhook-schema.js';
import { writeEvent } from './legacy-write-mapper.js';

/** Raw rule types are echoed into reasons; cap them so a hostile body cannot bloat logs and quarantine rows. */
const MAX_REASON_DETAIL = 200;

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
