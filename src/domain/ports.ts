/**
 * The seams between the domain core and the outside world. Adapters implement these;
 * component tests pass in-memory fakes.
 */
import type { Channel } from './domain-event.js';

/** The name of the one toggle this service reads. */
export const NEW_EVENT_TYPES_TOGGLE = 'codat-new-event-types';

/**
 * The contract phase as a flip: off = the legacy consumer is contracted (docs/toggle-phases.md). A flags file or
 * server without it reads on, so that forgetting the flag never stops anything.
 */
export const LEGACY_CONSUMER_TOGGLE = 'codat-legacy-consumer';

/** Where the toggle's state comes from and how fresh it is (for /readyz and metrics). */
export interface ToggleSourceStatus {
  /** `bootstrap`: flags from `flags/` only (offline, or Unleash not reached yet). `unleash`: the server's data. */
  readonly source: 'bootstrap' | 'unleash';
  /** False when the configured Unleash server cannot be reached or refuses the token: the last known flags are used. */
  readonly serverReachable: boolean | null;
  readonly lastError: string | null;
}

/** What the toggle says overall (for the readiness verdict and the dashboards), not for one company. */
export interface ToggleDefinition {
  readonly enabled: boolean;
  /** 0–100: the share of companies on the new channel. */
  readonly rolloutPercent: number;
  /** `codat-legacy-consumer`: false once the operator contracted. Absent: on. */
  readonly legacyConsumer?: boolean;
}

/** Is the legacy consumer still on (not contracted)? */
export const legacyConsumerOn = (definition: ToggleDefinition): boolean => definition.legacyConsumer !== false;

export interface ToggleReader {
  /**
   * Is the new-event channel primary for this company? Evaluated per occurrence. Client-level
   * occurrences (no company) pass `null`; implementations give them one fixed stickiness value so
   * they move over as one block.
   */
  isNewEventsPrimary(companyId: string | null): boolean;
  status(): ToggleSourceStatus;
  definition(): ToggleDefinition;
}

export function primaryChannel(toggle: ToggleReader, companyId: string | null): Channel {
  return toggle.isNewEventsPrimary(companyId) ? 'events' : 'legacy';
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line carries `bindings` too (a request id, an occurrence id). */
  child(bindings: Record<string, unknown>): Logger;
}
