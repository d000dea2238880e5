/**
 * Lenient wire schemas for Codat's new-format webhooks (`{id, eventType, generatedDate, payload}`).
 *
 * Codat marks no field `required` and says its enums may grow (REFERENCE §2.1, §10.11), so:
 * - every field is optional, and a field of the wrong type degrades to absent instead of failing
 *   the whole body: one odd field must not cost us the occurrence;
 * - enum-valued fields are plain strings, so a value Codat adds later is carried through;
 * - `z.object` strips undeclared keys: nothing the sender names (`__proto__`, `constructor`, …) is
 *   copied into our objects. Records (`tags`) rely on zod skipping `__proto__` and are not read by
 *   the mapper.
 */
import { z } from 'zod';

/** Optional, and absent rather than failing when the value has the wrong type. */
function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

const text = () => lenient(z.string());
const finiteNumber = () => lenient(z.number());
const flag = () => lenient(z.boolean());

/** An array whose malformed elements become `undefined` instead of failing the array. */
function lenientArray<T extends z.ZodType>(element: T) {
  return lenient(z.array(lenient(element)));
}

// Known enum values, kept for documentation and classification; the schemas accept any string.

export const CONNECTION_STATUSES = ['PendingAuth', 'Linked', 'Unlinked', 'Deauthorized'] as const;

export const WRITE_STATUSES = ['Pending', 'Failed', 'Success', 'TimedOut'] as const;

/** The nine dataset statuses Codat lists as replicating legacy `DataSyncStatusChangedToError` (REFERENCE §2.2). */
export const DATASET_ERROR_STATUSES: ReadonlySet<string> = new Set([
  'FetchError',
  'MapError',
  'InternalError',
  'ProcessingError',
  'ValidationError',
  'AuthError',
  'RateLimitError',
  'PermissionsError',
  'PrerequisiteNotMet',
]);

// ── Envelope ────────────────────────────────────────────────────────────────────────────────

export const eventEnvelopeSchema = z.object({
  id: text(),
  eventType: text(),
  /** Codat's company-specific-webhooks blog sample says `type` (REFERENCE §10.8). */
  type: text(),
  /** Kept raw: Codat `DateTime` has several shapes and even invalid examples (REFERENCE §2.1). */
  generatedDate: text(),
  /** Checked and parsed per event type by the mapper. */
  payload: z.unknown().optional(),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

// ── Shared pieces ───────────────────────────────────────────────────────────────────────────

export const companyReferenceSchema = z.object({
  id: text(),
  name: text(),
  description: lenient(z.string().nullable()),
  links: lenient(z.object({ portal: text() })),
  tags: lenient(z.record(z.string(), z.string())),
});
export type CompanyReference = z.infer<typeof companyReferenceSchema>;

export const dataConnectionErrorSchema = z.object({
  statusCode: text(),
  statusText: text(),
  errorMessage: text(),
  erroredOnUtc: text(),
  status: lenient(z.string().nullable()),
  resolvedOnUtc: lenient(z.string().nullable()),
});

/** Codat marks `Connection` `additionalProperties:false`; we still accept extra fields. */
export const connectionSchema = z.object({
  id: text(),
  integrationId: text(),
  integrationKey: text(),
  sourceId: text(),
  sourceType: text(),
  platformName: text(),
  linkUrl: text(),
  status: text(),
  lastSync: lenient(z.string().nullable()),
  created: text(),
  dataConnectionErrors: lenient(z.array(lenient(dataConnectionErrorSchema)).nullable()),
});
export type Connection = z.infer<typeof connectionSchema>;

// ── Payloads ────────────────────────────────────────────────────────────────────────────────

export const connectionPayloadSchema = z.object({
  referenceCompany: lenient(companyReferenceSchema),
  connection: lenient(connectionSchema),
});
export type ConnectionPayload = z.infer<typeof connectionPayloadSchema>;

export const dataTypeReadSummarySchema = z.object({
  connectionId: text(),
  dataType: text(),
  recordsModified: flag(),
  status: text(),
});
export type DataTypeReadSummary = z.infer<typeof dataTypeReadSummarySchema>;

export const readCompletedPayloadSchema = z.object({
  referenceCompany: lenient(companyReferenceSchema),
  modifiedFromDate: text(),
  dataTypes: lenientArray(dataTypeReadSummarySchema),
});
export type ReadCompletedPayload = z.infer<typeof readCompletedPayloadSchema>;

export const writePayloadSchema = z.object({
  /** The push operation id (= legacy `Data.pushOperationKey`). */
  id: text(),
  /** `Create` | `Update` | `Delete` | `UploadAttachment`. */
  type: text(),
  referenceCompany: lenient(companyReferenceSchema),
  connectionId: text(),
  requestedOnDate: text(),
  completedOnDate: text(),
  status: text(),
  record: lenient(z.object({ id: text() })),
  attachmentId: lenient(z.string().nullable()),
});
export type WritePayload = z.infer<typeof writePayloadSchema>;

export const expensesSyncPayloadSchema = z.object({
  referenceCompany: lenient(companyReferenceSchema),
  syncId: text(),
  transactions: lenientArray(
    z.object({ id: text(), status: text(), errorMessage: lenient(z.string().nullable()) }),
  ),
});
export type ExpensesSyncPayload = z.infer<typeof expensesSyncPayloadSchema>;

export const rateLimitPayloadSchema = z.object({
  dailyQuota: finiteNumber(),
  quotaRemaining: finiteNumber(),
  expiryDate: text(),
});
export type RateLimitPayload = z.infer<typeof rateLimitPayloadSchema>;

/** `company.created` / `company.deleted`: the payload is the company itself, no `referenceCompany`. */
export const companyPayloadSchema = z.object({
  id: text(),
  name: text(),
  description: lenient(z.string().nullable()),
  redirect: text(),
  lastSync: lenient(z.string().nullable()),
  created: text(),
  createdByUserName: lenient(z.string().nullable()),
  products: lenientArray(z.string()),
  tags: lenient(z.record(z.string(), z.string())),
  referenceParentCompany: lenient(companyReferenceSchema),
  referenceSubsidiaryCompanies: lenientArray(companyReferenceSchema),
});
export type CompanyPayload = z.infer<typeof companyPayloadSchema>;

/** `company.product.added` / `.removed`: `id` is the company's id. */
export const companyProductPayloadSchema = z.object({
  id: text(),
  name: text(),
  description: lenient(z.string().nullable()),
  productId: text(),
  productName: text(),
  products: lenientArray(z.string()),
});
export type CompanyProductPayload = z.infer<typeof companyProductPayloadSchema>;

/** Source account V1 or V2: only `id` is required by Codat in either. */
export const sourceAccountSchema = z.object({
  id: text(),
  accountName: text(),
  accountType: text(),
  accountNumber: text(),
  sortCode: lenient(z.string().nullable()),
  currency: text(),
  balance: finiteNumber(),
  modifiedDate: lenient(z.string().nullable()),
  /** `pending` | `connected` | `connecting` | `disconnected` | `unknown`. */
  status: lenient(z.string().nullable()),
  feedStartDate: lenient(z.string().nullable()),
});
export type SourceAccount = z.infer<typeof sourceAccountSchema>;

/**
 * `bankFeeds.sourceAccount.*`. Since 2025-01-10: `referenceCompany` + `connectionId` +
 * `sourceAccount` (and a deprecated `companyId`). Before: no envelope, `companyId`,
 * `connectionId`, `bankAccount`. One schema reads both shapes.
 */
export const bankFeedSourceAccountPayloadSchema = z.object({
  referenceCompany: lenient(companyReferenceSchema),
  companyId: text(),
  connectionId: text(),
  sourceAccount: lenient(sourceAccountSchema),
  bankAccount: lenient(sourceAccountSchema),
});
export type BankFeedSourceAccountPayload = z.infer<typeof bankFeedSourceAccountPayloadSchema>;

/** `reports.{reportType}.generate.*`: `id` is the report id. */
export const reportPayloadSchema = z.object({
  id: text(),
  referenceCompany: lenient(companyReferenceSchema),
});
export type ReportPayload = z.infer<typeof reportPayloadSchema>;
