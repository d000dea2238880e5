/**
 * Legacy `RuleType` recognition (docs/domain-mapping.md "Legacy RuleType normalisation",
 * REFERENCE §4).
 *
 * The same rule reaches us under several spellings: the body string ("Push Operation Status
 * Changed()"), the PascalCase subscription name of Codat's new service
 * ("PushOperationStatusChanged", which migrated clients may see in `RuleType`), the Portal rule
 * name, "synchronised" vs "synchronized". Normalising all of them to one folded form lets a
 * single table recognise every variant.
 */

/** The legacy rules this service converts, named after their subscription name in Codat's new service. */
export type LegacyRule =
  | 'DataConnectionStatusChanged'
  | 'NewCompanySynchronized'
  | 'DataSyncCompleted'
  | 'DatasetDataChanged'
  | 'DataSyncStatusChangedToError'
  | 'PushOperationStatusChanged'
  | 'PushOperationTimedOut'
  | 'AccountCategoriesUpdated'
  | 'SyncConnectionDeleted'
  | 'SyncStarted'
  | 'SyncCompleted'
  | 'SyncFailed'
  | 'ClientRateLimitReached'
  | 'ClientRateLimitReset';

/**
 * Every known spelling of each rule: subscription name, body `RuleType` variants (REFERENCE §4
 * column 2) and Portal rule name (column 3). Entries that normalise to the same string are
 * kept anyway: they document where each spelling comes from.
 */
export const LEGACY_RULE_NAMES = {
  DataConnectionStatusChanged: ['DataConnectionStatusChanged', 'Company data connection status changed'],
  NewCompanySynchronized: ['NewCompanySynchronized', 'New company synchronised', 'New company synchronized'],
  DataSyncCompleted: ['DataSyncCompleted', 'Data sync completed'],
  DatasetDataChanged: ['DatasetDataChanged', 'Dataset data changed'],
  DataSyncStatusChangedToError: [
    'DataSyncStatusChangedToError',
    'Data Sync Status Changed To Error',
    'Dataset status has changed to an error state',
  ],
  PushOperationStatusChanged: [
    'PushOperationStatusChanged',
    'Push Operation Status Changed()',
    'Push operation status has changed',
  ],
  PushOperationTimedOut: ['PushOperationTimedOut', 'Push Operation Timed Out', 'Push operation has timed out'],
  AccountCategoriesUpdated: ['AccountCategoriesUpdated', 'Account Categories Updated'],
  SyncConnectionDeleted: ['SyncConnectionDeleted', 'Sync Connection Deleted'],
  // Dropped from Codat's docs in 2023-12 and never given a subscription name; "SyncStarted" by analogy.
  SyncStarted: ['SyncStarted', 'Sync Started', 'Expense sync started'],
  // "Sync Complete" is the webhook's name in Codat's Expenses OAS (its example body says "Sync Completed").
  SyncCompleted: ['SyncCompleted', 'Sync Completed', 'Sync Complete', 'Expenses sync completed'],
  SyncFailed: ['SyncFailed', 'Sync Failed', 'Expenses sync failed'],
  // The Portal names this "Client rate limit reached/exceeded": either half may be what a user typed.
  ClientRateLimitReached: [
    'ClientRateLimitReached',
    'Rate Limit Reached',
    'Client rate limit reached',
    'Client rate limit exceeded',
  ],
  ClientRateLimitReset: ['ClientRateLimitReset', 'Rate Limit Reset', 'Client rate limit reset'],
} as const satisfies Record<LegacyRule, readonly string[]>;

/**
 * Lower-case, drop every character that is not an ASCII letter or digit (spaces, `()`,
 * punctuation), and fold the British `synchronis` into `synchroniz` (Codat's docs changed the
 * body string in 2025-06, so both spellings are live).
 */
export function normaliseRuleType(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .replaceAll('synchronis', 'synchroniz');
}

/** Normalised spelling → rule. A Map so that a `RuleType` of "constructor" finds nothing inherited. */
const RULES_BY_NORMALISED_NAME: ReadonlyMap<string, LegacyRule> = buildLookup();

function buildLookup(): Map<string, LegacyRule> {
  const lookup = new Map<string, LegacyRule>();
  for (const [rule, names] of Object.entries(LEGACY_RULE_NAMES) as [LegacyRule, readonly string[]][]) {
    for (const name of names) {
      const normalised = normaliseRuleType(name);
      const clash = lookup.get(normalised);
      // A clash would silently route one rule's bodies to another: fail at import, not in production.
      if (clash !== undefined && clash !== rule) {
        throw new Error(`legacy rule names clash: "${name}" normalises like a ${clash} name`);
      }
      lookup.set(normalised, rule);
    }
  }
  return lookup;
}

/** The rule a raw `RuleType`/`Type` string names, or `undefined` when it is not one we know. */
export function lookupLegacyRule(raw: string): LegacyRule | undefined {
  return RULES_BY_NORMALISED_NAME.get(normaliseRuleType(raw));
}
