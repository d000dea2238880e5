/**
 * Write (push operation) statuses as one spelling, so that a copy spelled the way one of Codat's pages
 * spells it pairs with the other channel's copy: `Successful` (the migration table, older renderings) is
 * `Success` (the enum), and `TimedOut`, `Timed Out` or `timedout` are one status.
 */
const CANONICAL_WRITE_STATUSES: ReadonlyMap<string, string> = new Map([
  ['success', 'Success'],
  ['successful', 'Success'],
  ['failed', 'Failed'],
  ['timedout', 'TimedOut'],
  ['pending', 'Pending'],
]);

/** The enum's spelling of a documented status; any other value as received (Codat may add statuses). */
export function canonicalWriteStatus(raw: string): string {
  return CANONICAL_WRITE_STATUSES.get(raw.toLowerCase().replace(/[^a-z]/g, '')) ?? raw;
}
