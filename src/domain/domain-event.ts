/**
 * The one internal vocabulary both Codat webhook formats are converted into.
 *
 * This module knows neither wire format: the legacy rules mapper (src/formats/legacy) and the
 * new-event-type mapper (src/formats/events) each translate into these types. The invariant the
 * whole service rests on: one real-world occurrence yields the same domain events (same
 * `type`, same `correlationKey`) whichever channel delivered it. docs/domain-mapping.md
 * holds the full table.
 */

/** The two inbound formats. A "channel" is the wire format, not the URL it arrived on. */
export type Channel = 'legacy' | 'events';

export const CHANNELS: readonly Channel[] = ['legacy', 'events'];

/** Which channels Codat uses to carry a domain event type. */
export type Carriage = 'both' | 'legacy-only' | 'events-only';

/**
 * How the correlation key identifies an occurrence.
 * - `strong`: Codat gives a real identifier (push operation key, expense sync id, rate-limit
 *   expiry), so every copy with the key is the same occurrence, whenever it arrives.
 * - `windowed`: the key names an entity and a transition (company + connection + status,
 *   company + connection + data type) that can legitimately repeat, so copies are paired
 *   across channels only within a time window around their arrival.
 */
export type KeyStrength = 'strong' | 'windowed';

export const DOMAIN_EVENT_TYPES = {
  // Carried by both channels.
  'connection.created': 'both',
  'connection.connected': 'both',
  'connection.disconnected': 'both',
  'connection.reconnected': 'both',
  'connection.deleted': 'both',
  'dataset.synced': 'both',
  'dataset.changed': 'both',
  'dataset.syncFailed': 'both',
  'company.firstSynced': 'both',
  'write.succeeded': 'both',
  'write.failed': 'both',
  'write.timedOut': 'both',
  'write.statusChanged': 'both',
  'expenses.syncFinished': 'both',
  'client.rateLimitReached': 'both',
  'client.rateLimitReset': 'both',
  // Only the legacy format carries these: they must keep flowing after the flip.
  'company.accountCategoriesUpdated': 'legacy-only',
  'expenses.syncStarted': 'legacy-only',
  'write.pending': 'legacy-only',
  'connection.statusChanged': 'legacy-only',
  // Only the new event types carry these.
  'connection.failed': 'events-only',
  'company.created': 'events-only',
  'company.deleted': 'events-only',
  'company.productAdded': 'events-only',
  'company.productRemoved': 'events-only',
  'bankFeeds.sourceAccountConnected': 'events-only',
  'bankFeeds.sourceAccountDisconnected': 'events-only',
  'report.generated': 'events-only',
  'report.generationFailed': 'events-only',
  'dataset.readEnded': 'events-only',
} as const satisfies Record<string, Carriage>;

export type DomainEventType = keyof typeof DOMAIN_EVENT_TYPES;

export function carriageOf(type: DomainEventType): Carriage {
  return DOMAIN_EVENT_TYPES[type];
}

export function isDomainEventType(value: string): value is DomainEventType {
  return Object.hasOwn(DOMAIN_EVENT_TYPES, value);
}

/** Values a domain event carries that both channels can be compared on. */
export type FieldValue = string | number | boolean | null;

export interface DomainEvent {
  readonly type: DomainEventType;
  /** Every key part, a missing one written `-`: a strong key's identity, and how a windowed key reads. */
  readonly correlationKey: string;
  readonly keyStrength: KeyStrength;
  /**
   * A windowed key without the parts Codat may leave out on one channel (legacy bodies without
   * `DataConnectionId`, a null `dataType`): copies are paired on it. Absent: the correlation key itself.
   */
  readonly pairingKey?: string;
  /**
   * The parts left out of `pairingKey`, in a fixed order per type; null where this copy does not carry
   * the part. Two copies pair only where every part both carry is equal (docs/correlation.md).
   */
  readonly keyQualifiers?: readonly (string | null)[];
  /** When Codat says it happened (new format `generatedDate`, kept raw); legacy bodies carry no time. */
  readonly occurredAt: string | null;
  readonly companyId: string | null;
  readonly connectionId: string | null;
  /** Business facts of the occurrence (status, data type, …): what the downstream needs and what the two conversions are compared on. */
  readonly data: Readonly<Record<string, FieldValue>>;
}

/** Where one webhook came from: kept with every domain event it yields. */
export interface WebhookSource {
  readonly channel: Channel;
  /** `AlertId` or `id` of the webhook body, when present. */
  readonly id: string | null;
  /** `RuleType` (or `Type`) or `eventType` exactly as received. */
  readonly type: string | null;
}

/** What a mapper makes of one parsed webhook body. */
export type Conversion =
  | {
      readonly kind: 'converted';
      readonly source: WebhookSource;
      readonly events: readonly DomainEvent[];
      /** Legacy events left out because the legacy consumer is contracted (src/ledger/legacy-contract.ts): recorded on the inbox row. */
      readonly contracted?: readonly DomainEventType[];
    }
  /** A body of a type this service does not know (yet): accepted, kept and counted, never delivered. */
  | { readonly kind: 'unrecognised'; readonly source: WebhookSource; readonly reason: string }
  /** A body of a known type that lacks what its conversion needs: kept in quarantine with the reason. */
  | { readonly kind: 'invalid'; readonly source: WebhookSource; readonly reason: string };
