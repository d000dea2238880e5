/**
 * Parsing of the new format's `eventType` string into the kind of event it names.
 *
 * Several event types are families with a variable part (`{dataType}.write.*`,
 * `reports.{reportType}.generate.*`, `{productIdentifier}.read.completed.*`), so a lookup table
 * is not enough. Matching is exact-case: Codat's event types are identifiers, not prose, and an
 * unexpected spelling is better counted as unrecognised than guessed at.
 * Facts: ../shared/codat/REFERENCE.md §3 and §10.
 */

export type Outcome = 'successful' | 'unsuccessful';

export type ConnectionTransition = 'created' | 'connected' | 'disconnected' | 'reconnected' | 'deleted' | 'failed';

export type EventKind =
  | {
      readonly kind: 'read.completed';
      /** `.successful` / `.unsuccessful` suffix, when present. */
      readonly outcome: Outcome | null;
      /** `.initial` suffix: the read after a connection is (re)authorised. */
      readonly initial: boolean;
      /** `{productIdentifier}.` prefix (e.g. `lending`), when present. */
      readonly product: string | null;
    }
  | { readonly kind: 'write'; readonly dataType: string; readonly outcome: Outcome }
  | { readonly kind: 'connection'; readonly transition: ConnectionTransition }
  | { readonly kind: 'company'; readonly action: 'created' | 'deleted' }
  | { readonly kind: 'company.product'; readonly action: 'added' | 'removed' }
  | { readonly kind: 'expenses.sync'; readonly outcome: Outcome }
  | { readonly kind: 'client.rateLimit'; readonly action: 'reached' | 'reset' }
  | { readonly kind: 'bankFeeds.sourceAccount'; readonly action: 'connected' | 'disconnected' }
  | { readonly kind: 'report'; readonly reportType: string; readonly outcome: Outcome }
  | { readonly kind: 'unknown' };

const UNKNOWN: EventKind = { kind: 'unknown' };

/** Event types without a variable part. A Map, so that `__proto__` or `constructor` never match. */
const FIXED_KINDS: ReadonlyMap<string, EventKind> = new Map<string, EventKind>([
  ['connection.created', { kind: 'connection', transition: 'created' }],
  ['connection.connected', { kind: 'connection', transition: 'connected' }],
  ['connection.disconnected', { kind: 'connection', transition: 'disconnected' }],
  ['connection.reconnected', { kind: 'connection', transition: 'reconnected' }],
  ['connection.deleted', { kind: 'connection', transition: 'deleted' }],
  ['connection.failed', { kind: 'connection', transition: 'failed' }],
  ['company.created', { kind: 'company', action: 'created' }],
  ['company.deleted', { kind: 'company', action: 'deleted' }],
  ['company.product.added', { kind: 'company.product', action: 'added' }],
  ['company.product.removed', { kind: 'company.product', action: 'removed' }],
  ['expenses.sync.successful', { kind: 'expenses.sync', outcome: 'successful' }],
  ['expenses.sync.unsuccessful', { kind: 'expenses.sync', outcome: 'unsuccessful' }],
  ['client.rateLimit.reached', { kind: 'client.rateLimit', action: 'reached' }],
  ['client.rateLimit.reset', { kind: 'client.rateLimit', action: 'reset' }],
  ['bankFeeds.sourceAccount.connected', { kind: 'bankFeeds.sourceAccount', action: 'connected' }],
  ['bankFeeds.sourceAccount.disconnected', { kind: 'bankFeeds.sourceAccount', action: 'disconnected' }],
]);

/** One dot-free segment: Codat's data types, report types and product identifiers never contain a dot. */
const SEGMENT = '[A-Za-z0-9_-]+';

const READ_COMPLETED = new RegExp(`^(?:(${SEGMENT})\\.)?read\\.completed((?:\\.[A-Za-z]+)*)$`);
const WRITE = new RegExp(`^(${SEGMENT})\\.write\\.(successful|unsuccessful)$`);
// Codat's OAS says `reports.`; its docs page says `report.` (REFERENCE §10.7): accept both.
const REPORT = new RegExp(`^reports?\\.(${SEGMENT})\\.generate\\.(successful|unsuccessful)$`);

export function parseEventType(eventType: string): EventKind {
  const fixed = FIXED_KINDS.get(eventType);
  if (fixed !== undefined) return fixed;

  const read = READ_COMPLETED.exec(eventType);
  if (read !== null) return parseReadCompleted(read[1] ?? null, read[2] ?? '');

  const report = REPORT.exec(eventType);
  if (report?.[1] !== undefined && report[2] !== undefined) {
    return { kind: 'report', reportType: report[1], outcome: toOutcome(report[2]) };
  }

  const write = WRITE.exec(eventType);
  if (write?.[1] !== undefined && write[2] !== undefined) {
    return { kind: 'write', dataType: pluralWriteDataType(write[1]), outcome: toOutcome(write[2]) };
  }

  return UNKNOWN;
}

/**
 * The suffix tokens `.successful`, `.unsuccessful` and `.initial` may come in any order, each at
 * most once. `successful` with `unsuccessful` contradicts itself, so it is not a type we know.
 */
function parseReadCompleted(product: string | null, suffix: string): EventKind {
  const tokens = suffix === '' ? [] : suffix.slice(1).split('.');
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token !== 'successful' && token !== 'unsuccessful' && token !== 'initial') return UNKNOWN;
    if (seen.has(token)) return UNKNOWN;
    seen.add(token);
  }
  if (seen.has('successful') && seen.has('unsuccessful')) return UNKNOWN;

  const outcome: Outcome | null = seen.has('successful') ? 'successful' : seen.has('unsuccessful') ? 'unsuccessful' : null;
  return { kind: 'read.completed', outcome, initial: seen.has('initial'), product };
}

function toOutcome(token: string): Outcome {
  return token === 'successful' ? 'successful' : 'unsuccessful';
}

/** The data types Codat documents `{dataType}.write.*` events for (static/oas/Webhooks.json): all plural. */
const WRITE_DATA_TYPES: ReadonlySet<string> = new Set([
  'bankAccounts', 'bankTransactions', 'billCreditNotes', 'billPayments', 'bills', 'chartOfAccounts', 'creditNotes', 'customers',
  'directCosts', 'directIncomes', 'invoices', 'items', 'journalEntries', 'journals', 'payments', 'purchaseOrders', 'suppliers', 'transfers',
]);

/** Codat's Bill Pay guide writes `bill.write.successful`: the singular of a documented data type is that data type. */
function pluralWriteDataType(dataType: string): string {
  return !WRITE_DATA_TYPES.has(dataType) && WRITE_DATA_TYPES.has(`${dataType}s`) ? `${dataType}s` : dataType;
}
