/**
 * Lenient wire schema of a legacy Codat "rules" webhook body (REFERENCE §2.3).
 *
 * No Codat legacy schema marks anything `required`, real traffic holds variants the samples
 * do not show (`Type` for `RuleType`, null/absent `RuleId`, PascalCase or camelCase `Data`
 * keys), and a webhook we reject is a webhook we lose. So the only hard failure is a body
 * that is not a JSON object: every field is optional and a wrong-typed field is read as
 * absent instead of failing the whole body.
 */
import { z } from 'zod';

/**
 * `Data` with its keys lower-cased, so `DailyQuota` and `dailyQuota` read the same. A Map
 * (not a plain object) because the keys come from the sender: no prototype to pollute and no
 * inherited `constructor`/`toString` to read by mistake.
 */
export type LegacyData = ReadonlyMap<string, unknown>;

/** Keys that must never be copied from attacker-controlled JSON, even into a Map. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const EMPTY_DATA: LegacyData = new Map();

/** A string with visible content; blank strings carry no identifier or status, so they count as absent. */
export function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Normalises `Data`'s own keys to lower case. When a body carries the same key in two
 * casings, the first one (in key order) with a non-null value wins, so that a stray
 * `"DailyQuota": null` cannot hide a real `"dailyQuota": 12000`.
 */
export function normaliseLegacyData(value: unknown): LegacyData {
  if (!isPlainRecord(value)) return EMPTY_DATA;
  const data = new Map<string, unknown>();
  for (const key of Object.keys(value)) {
    const lowerKey = key.toLowerCase();
    if (FORBIDDEN_KEYS.has(lowerKey)) continue;
    const existing = data.get(lowerKey);
    if (existing !== undefined && existing !== null) continue;
    data.set(lowerKey, value[key]);
  }
  return data;
}

/** Optional text field: absent, null, blank or wrong-typed all read as `undefined`. */
const optionalText = z
  .unknown()
  .optional()
  .transform(asText)
  // What the OpenAPI document (src/app/openapi.ts) says it accepts: the transform itself has no JSON Schema.
  .meta({ type: 'string', description: 'Text. Absent, null, blank or of another type: read as absent, never refused.' });

/**
 * Top-level keys are PascalCase (REFERENCE §2.3) and read exactly. `z.object` strips the keys
 * it does not know rather than failing on them, and never copies them into its output.
 */
export const legacyWebhookBodySchema = z.object({
  AlertId: optionalText,
  RuleType: optionalText,
  /** The older OAS (Codat-Common.json, 2023-09) names `RuleType` this way. */
  Type: optionalText,
  /** Deprecated in 2024: expect null or absent. Parsed only so its shape is documented here. */
  RuleId: optionalText,
  ClientId: optionalText,
  CompanyId: optionalText,
  DataConnectionId: optionalText,
  Data: z
    .unknown()
    .optional()
    .transform(normaliseLegacyData)
    .meta({ type: 'object', description: 'Keys read in any casing (`DailyQuota` = `dailyQuota`). Not an object: read as empty.' }),
});

export type LegacyWebhookBody = z.output<typeof legacyWebhookBodySchema>;

/** Reads a `Data` field whatever its casing in the body; `name` may be written in any case. */
export function dataValue(data: LegacyData, name: string): unknown {
  return data.get(name.toLowerCase());
}

/** Reads a `Data` text field (see `asText`). */
export function dataText(data: LegacyData, name: string): string | undefined {
  return asText(dataValue(data, name));
}

/** `RuleType ?? Type`, as received. */
export function legacyRuleTypeOf(body: LegacyWebhookBody): string | undefined {
  return body.RuleType ?? body.Type;
}
