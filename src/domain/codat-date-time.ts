/** ISO date-time with no offset or `Z`, e.g. `2024-11-05T00:00:00` or `…T00:00:00.123`. */
const OFFSETLESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * A Codat `DateTime` as an ISO-8601 UTC string, so that one instant spelled two ways (fraction
 * digits, offset, `Z`) makes one correlation key on both channels. Codat's date-times without an
 * offset are UTC; JavaScript would read them as local time and make the key depend on the server's
 * time zone, so they are pinned to UTC first. An unparseable string (Codat's own examples hold
 * `23:59:99`) is kept raw: still an identifier, just not normalised.
 */
export function normaliseCodatDateTime(raw: string): string {
  const trimmed = raw.trim();
  const parsed = new Date(OFFSETLESS_DATE_TIME.test(trimmed) ? `${trimmed}Z` : trimmed);
  return Number.isNaN(parsed.getTime()) ? raw : parsed.toISOString();
}
