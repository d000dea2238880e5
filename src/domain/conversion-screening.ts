/**
 * The one check every conversion passes before the ledger stores any of it, so that the same webhook
 * settles (or is quarantined) the same way on SQLite and on PostgreSQL.
 *
 * The two databases disagree about odd text: PostgreSQL text cannot hold a NUL (the statement fails),
 * and the drivers write a lone UTF-16 surrogate differently (pg as U+FFFD, better-sqlite3 as the raw
 * surrogate's bytes, read back as three U+FFFD). A PostgreSQL btree entry is limited to about 2.7 KB,
 * which an over-long correlation key exceeds while SQLite takes it. A webhook that fails its settle
 * transaction every time would be retried at every lease; these are made harmless here instead:
 * identifiers that no Codat id resembles are quarantined, reasons are escaped, long keys are shortened.
 */
import { createHash } from 'node:crypto';
import type { Conversion, DomainEvent } from './domain-event.js';

// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u` flag). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_CHARACTERS = new RegExp(`${CONTROL_CHARACTER.source}|${LONE_SURROGATE.source}`, 'g');

/**
 * Correlation keys longer than this (UTF-8 bytes) are replaced by a prefix and a digest of the whole key.
 * Codat's keys are ids and names joined with `|` (well under 200 bytes); a PostgreSQL index entry holds
 * about 2,700.
 */
export const MAX_CORRELATION_KEY_BYTES = 512;
/** UTF-16 code units of an over-long key kept readable in front of its digest. */
const KEY_PREFIX_LENGTH = 128;

export type IdentifierProblem = 'control_character_in_identifier' | 'lone_surrogate_in_identifier';

/** Why `value` cannot be an identifier, or null when it can. */
export function identifierProblem(value: string): IdentifierProblem | null {
  if (CONTROL_CHARACTER.test(value)) return 'control_character_in_identifier';
  if (LONE_SURROGATE.test(value)) return 'lone_surrogate_in_identifier';
  return null;
}

/** `text` with control characters and lone surrogates written as `\uXXXX`: storable anywhere, and still readable. */
export function escapeUnsafeText(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The key itself while it is short enough to index, else its first characters and the SHA-256 of all of it:
 * both channels compute the same long key, so they still pair, and the index never sees more than ~450 bytes.
 * Only for well-formed text (the digest is over its UTF-8 bytes).
 */
export function boundedCorrelationKey(key: string): string {
  if (Buffer.byteLength(key, 'utf8') <= MAX_CORRELATION_KEY_BYTES) return key;
  // Never cut a surrogate pair in two: the prefix would hold a lone surrogate.
  const cut = /[\ud800-\udbff]/.test(key.charAt(KEY_PREFIX_LENGTH - 1)) ? KEY_PREFIX_LENGTH - 1 : KEY_PREFIX_LENGTH;
  return `${key.slice(0, cut)}|sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** The pairing key is what the ledger indexes; it holds a subset of the correlation key's parts (checked above). */
function screenEvent(event: DomainEvent): DomainEvent {
  const correlationKey = boundedCorrelationKey(event.correlationKey);
  const pairingKey = event.pairingKey === undefined ? undefined : boundedCorrelationKey(event.pairingKey);
  if (correlationKey === event.correlationKey && pairingKey === event.pairingKey) return event;
  return { ...event, correlationKey, ...(pairingKey === undefined ? {} : { pairingKey }) };
}

/**
 * Identifiers with a control character or a lone surrogate (e.g. `\u0000` or `\ud800` escaped in the JSON)
 * are quarantined as invalid: no Codat id (UUIDs, keys, statuses) has one, and neither database would store
 * them faithfully. Reasons, which echo what the sender sent, are escaped; long keys are bounded.
 */
export function screenConversion(conversion: Conversion): Conversion {
  if (conversion.kind !== 'converted') return { ...conversion, reason: escapeUnsafeText(conversion.reason) };
  for (const event of conversion.events) {
    for (const value of [event.correlationKey, event.companyId, event.connectionId]) {
      const problem = value == null ? null : identifierProblem(value);
      if (problem) return { kind: 'invalid', source: conversion.source, reason: problem };
    }
  }
  const events = conversion.events.map(screenEvent);
  return events.every((event, i) => event === conversion.events[i]) ? conversion : { ...conversion, events };
}
