/**
 * Converts one new-format Codat webhook body (`{id, eventType, generatedDate, payload}`) into
 * domain events, following docs/domain-mapping.md.
 *
 * Pure and total: no I/O, and it never throws, whatever the body (it runs on unauthenticated
 * input and under fuzzers). Anything it cannot convert is returned as `unrecognised` or
 * `invalid` with a reason, so the caller can keep and count it.
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
import { parseEventType } from './event-types.js';
import type { ConnectionTransition, EventKind, Outcome } from './event-types.js';
import {
  DATASET_ERROR_STATUSES,
  bankFeedSourceAccountPayloadSchema,
  companyPayloadSchema,
  companyProductPayloadSchema,
  connectionPayloadSchema,
  eventEnvelopeSchema,
  expensesSyncPayloadSchema,
  rateLimitPayloadSchema,
  readCompletedPayloadSchema,
  reportPayloadSchema,
  writePayloadSchema,
} from './event-webhook-schema.js';
import type { DataTypeReadSummary } from './event-webhook-schema.js';

export const INVALID_REASONS = {
  notAnObject: 'not_a_json_object',
  missingPayload: 'missing_payload',
  missingCompanyId: 'missing_company_id',
  noDataTypes: 'no_data_types',
  conversionError: 'conversion_error',
} as const;

export const MISSING_EVENT_TYPE = 'missing_event_type';

/** Cap on how much of an unknown `eventType` goes into a reason: the sender controls its length. */
const MAX_REASON_TYPE_LENGTH = 200;

type Data = Readonly<Record<string, FieldValue>>;

/** What every event of one webhook shares. */
interface Context {
  readonly occurredAt: string | null;
}

export function convertEventWebhook(body: unknown): Conversion {
  try {
    return convert(body);
  } catch {
    // Defence in depth: the code below is written not to throw, but a body reaching this service
    // must always end up stored with a reason rather than as a 500 that Codat retries for a day.
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.conversionError };
  }
}

function convert(body: unknown): Conversion {
  if (!isJsonObject(body)) {
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.notAnObject };
  }
  const parsed = eventEnvelopeSchema.safeParse(body);
  // Every envelope field is lenient, so this cannot fail today; it keeps a future stricter field
  // from turning into a throw.
  if (!parsed.success) {
    return { kind: 'invalid', source: emptySource(), reason: INVALID_REASONS.notAnObject };
  }
  const envelope = parsed.data;
  const rawType = envelope.eventType ?? envelope.type ?? null;
  const source: WebhookSource = { channel: 'events', id: envelope.id ?? null, type: rawType };

  if (rawType === null) return { kind: 'unrecognised', source, reason: MISSING_EVENT_TYPE };
  const kind = parseEventType(rawType);
  if (kind.kind === 'unknown') {
    return { kind: 'unrecognised', source, reason: `unknown_event_type:${rawType.slice(0, MAX_REASON_TYPE_LENGTH)}` };
  }

  const payload = envelope.payload;
  if (!isJsonObject(payload)) return { kind: 'invalid', source, reason: INVALID_REASONS.missingPayload };

  const result = convertPayload(kind, payload, { occurredAt: envelope.generatedDate ?? null });
  if (typeof result === 'string') return { kind: 'invalid', source, reason: result };
  return { kind: 'converted', source, events: result };
}

/** The events of a known type, or why its payload cannot be converted. */
type PayloadResult = readonly DomainEvent[] | typeof MISSING_COMPANY_ID | typeof MISSING_PAYLOAD | typeof NO_DATA_TYPES;
const NO_DATA_TYPES = INVALID_REASONS.noDataTypes;
const MISSING_COMPANY_ID = INVALID_REASONS.missingCompanyId;
const MISSING_PAYLOAD = INVALID_REASONS.missingPayload;

function convertPayload(kind: Exclude<EventKind, { kind: 'unknown' }>, payload: object, ctx: Context): PayloadResult {
  switch (kind.kind) {
    case 'connection':
      return convertConnection(kind.transition, payload, ctx);
    case 'read.completed':
      return convertReadCompleted(kind.initial, payload, ctx);
    case 'write':
      return convertWrite(kind.dataType, kind.outcome, payload, ctx);
    case 'company':
      return convertCompany(kind.action, payload, ctx);
    case 'company.product':
      return convertCompanyProduct(kind.action, payload, ctx);
    case 'expenses.sync':
      return convertExpensesSync(kind.outcome, payload, ctx);
    case 'client.rateLimit':
      return convertRateLimit(kind.action, payload, ctx);
    case 'bankFeeds.sourceAccount':
      return convertBankFeedSourceAccount(kind.action, payload, ctx);
    case 'report':
      return convertReport(kind.reportType, kind.outcome, payload, ctx);
  }
}

// ── Per event family ────────────────────────────────────────────────────────────────────────

function convertConnection(
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

/** One `read.completed*` event fans out per `dataTypes[]` entry (REFERENCE §3: "handle all elements"). */
function convertReadCompleted(initial: boolean, payload: object, ctx: Context): PayloadResult {
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

function convertWrite(dataType: string, outcome: Outcome, payload: object, ctx: Context): PayloadResult {
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

function convertCompany(action: 'created' | 'deleted', payload: object, ctx: Context): PayloadResult {
  const parsed = companyPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  // The payload is the company itself: `payload.id` is the company id.
  const companyId = identifier(parsed.data.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = `company.${action}`;
  return [event(ctx, type, [type, companyId], 'strong', companyId, null, { name: parsed.data.name ?? null })];
}

function convertCompanyProduct(action: 'added' | 'removed', payload: object, ctx: Context): PayloadResult {
  const parsed = companyProductPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = action === 'added' ? 'company.productAdded' : 'company.productRemoved';
  const productId = parsed.data.productId ?? null;
  return [event(ctx, type, [type, companyId, productId], 'windowed', companyId, null, { productId })];
}

function convertExpensesSync(outcome: Outcome, payload: object, ctx: Context): PayloadResult {
  const parsed = expensesSyncPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const syncId = identifier(parsed.data.syncId);
  // Without a sync id the key names no occurrence, so it must not collapse copies forever.
  const strength: KeyStrength = syncId === null ? 'windowed' : 'strong';
  return [
    event(ctx, 'expenses.syncFinished', ['expenses.sync', syncId], strength, companyId, null, {
      outcome: outcome === 'successful' ? 'succeeded' : 'failed',
    }),
  ];
}

/** Client-level: the only types without a company. */
function convertRateLimit(action: 'reached' | 'reset', payload: object, ctx: Context): PayloadResult {
  const parsed = rateLimitPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const expiry = normaliseExpiry(parsed.data.expiryDate);
  const strength: KeyStrength = expiry === null ? 'windowed' : 'strong';
  const dailyQuota = parsed.data.dailyQuota ?? null;

  if (action === 'reached') {
    return [event(ctx, 'client.rateLimitReached', ['client.rateLimitReached', expiry], strength, null, null, { dailyQuota })];
  }
  return [
    event(ctx, 'client.rateLimitReset', ['client.rateLimitReset', expiry], strength, null, null, {
      dailyQuota,
      quotaRemaining: parsed.data.quotaRemaining ?? null,
    }),
  ];
}

/**
 * The legacy `ExpiresUtc` and the new `expiryDate` may spell one instant differently
 * (fraction digits, offset), so the key uses the ISO form; an unparseable value (Codat's own
 * example holds `23:59:99`) is kept raw so that it still identifies the occurrence.
 */
export function normaliseExpiry(raw: string | undefined): string | null {
  const value = identifier(raw);
  if (value === null) return null;
  return normaliseCodatDateTime(value);
}

function convertBankFeedSourceAccount(action: 'connected' | 'disconnected', payload: object, ctx: Context): PayloadResult {
  const parsed = bankFeedSourceAccountPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  // Pre-2025 bodies have no `referenceCompany`, only `companyId` and `bankAccount`.
  const companyId = identifier(parsed.data.referenceCompany?.id) ?? identifier(parsed.data.companyId);
  if (companyId === null) return MISSING_COMPANY_ID;
  const connectionId = identifier(parsed.data.connectionId);
  const account = parsed.data.sourceAccount ?? parsed.data.bankAccount;
  const sourceAccountId = identifier(account?.id);
  const type: DomainEventType = action === 'connected' ? 'bankFeeds.sourceAccountConnected' : 'bankFeeds.sourceAccountDisconnected';
  return [
    event(ctx, type, [type, companyId, optionalPart(connectionId), sourceAccountId], 'windowed', companyId, connectionId, {
      sourceAccountId,
      status: account?.status ?? null,
    }),
  ];
}

function convertReport(reportType: string, outcome: Outcome, payload: object, ctx: Context): PayloadResult {
  const parsed = reportPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = outcome === 'successful' ? 'report.generated' : 'report.generationFailed';
  const reportId = identifier(parsed.data.id);
  const data = { reportType };
  // The report type is part of the key: Codat's samples reuse one report id across report types.
  if (reportId !== null) return [event(ctx, type, [type, reportType, reportId], 'strong', companyId, null, data)];
  return [event(ctx, type, [type, companyId, reportType], 'windowed', companyId, null, data)];
}

// ── Helpers ─────────────────────────────────────────────────────────────────────────────────

function event(
  ctx: Context,
  type: DomainEventType,
  keyParts: readonly KeyPart[],
  keyStrength: KeyStrength,
  companyId: string | null,
  connectionId: string | null,
  data: Data,
): DomainEvent {
  return { type, ...buildKey(keyParts), keyStrength, occurredAt: ctx.occurredAt, companyId, connectionId, data };
}

/** An id (or status) that is absent or empty says nothing: treat both the same. */
function identifier(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function isJsonObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function emptySource(): WebhookSource {
  return { channel: 'events', id: null, type: null };
}
