/**
 * The readiness verdict: is it safe to flip the toggle, and after the flip, to contract (remove
 * the legacy consumer)? Pure: the numbers come from the ledger, the thresholds from configuration.
 */
import { carriageOf, type DomainEventType } from './domain-event.js';
import { legacyConsumerOn, type ToggleDefinition } from './ports.js';

export type Verdict = 'not-ready' | 'ready-to-flip' | 'flipped' | 'ready-to-contract' | 'contracted';
export const VERDICTS: readonly Verdict[] = ['not-ready', 'ready-to-flip', 'flipped', 'ready-to-contract', 'contracted'];

/** What the ledger saw of one domain type over the observation period, counted as windows close. */
export interface TypeStats {
  readonly type: DomainEventType;
  /** Occurrences whose correlation window closed, by which channels delivered a copy. */
  readonly both: number;
  readonly legacyOnly: number;
  readonly eventsOnly: number;
  /** Occurrences whose two conversions disagree, by field. */
  readonly mismatches: Readonly<Record<string, number>>;
  readonly lagP50Seconds: number | null;
  readonly lagP99Seconds: number | null;
  readonly rescuedFromLegacy: number;
  readonly rescuedFromEvents: number;
  /** Occurrences delivered from a legacy copy that was primary when it arrived. */
  readonly deliveredFromLegacyPrimary: number;
  /** Legacy copies that arrived while the new channel was primary ("legacy traffic after the flip"). */
  readonly legacyCopiesWhileEventsPrimary: number;
  /** Occurrences of this type delivered at all in the period. */
  readonly delivered: number;
}

export interface ReadinessThresholds {
  readonly minCoverage: number;
  readonly minOccurrences: number;
  readonly observationHours: number;
}

export interface Reason {
  readonly level: 'blocker' | 'info';
  readonly message: string;
}

export interface TypeVerdict extends TypeStats {
  readonly carriage: ReturnType<typeof carriageOf>;
  /** Legacy occurrences that also arrived as new events: both / (both + legacyOnly). Null with no traffic. */
  readonly coverage: number | null;
}

export interface Readiness {
  readonly verdict: Verdict;
  readonly safe: boolean;
  readonly phase: 'before-flip' | 'rolling-out' | 'flipped';
  readonly reasons: readonly Reason[];
  readonly nextStep: string;
  readonly overall: { readonly both: number; readonly legacyOnly: number; readonly eventsOnly: number; readonly coverage: number | null; readonly mismatches: number; readonly rescued: number };
  readonly types: readonly TypeVerdict[];
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio >= 0.9995 || ratio === 0 ? 0 : 2)}%`;
const coverageOf = (both: number, legacyOnly: number) => (both + legacyOnly === 0 ? null : both / (both + legacyOnly));
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export function judgeReadiness(stats: readonly TypeStats[], toggle: ToggleDefinition, thresholds: ReadinessThresholds): Readiness {
  const types: TypeVerdict[] = stats.map((s) => ({ ...s, carriage: carriageOf(s.type), coverage: coverageOf(s.both, s.legacyOnly) }));
  const paired = types.filter((t) => t.carriage === 'both');
  const mismatchCount = (t: TypeStats) => sum(Object.values(t.mismatches));
  const overall = {
    both: sum(paired.map((t) => t.both)),
    legacyOnly: sum(paired.map((t) => t.legacyOnly)),
    eventsOnly: sum(paired.map((t) => t.eventsOnly)),
    coverage: coverageOf(sum(paired.map((t) => t.both)), sum(paired.map((t) => t.legacyOnly))),
    mismatches: sum(paired.map(mismatchCount)),
    rescued: sum(types.map((t) => t.rescuedFromEvents + t.rescuedFromLegacy)),
  };
  const phase = !toggle.enabled || toggle.rolloutPercent <= 0 ? 'before-flip' : toggle.rolloutPercent < 100 ? 'rolling-out' : 'flipped';
  const reasons: Reason[] = [];
  const blocker = (message: string) => reasons.push({ level: 'blocker', message });
  const info = (message: string) => reasons.push({ level: 'info', message });
  const window = `in the last ${thresholds.observationHours} h`;

  // Whatever the phase: the new stream must carry what the legacy one does, with the same content.
  for (const t of paired) {
    if (t.coverage !== null && t.coverage < thresholds.minCoverage) {
      blocker(`${t.type}: coverage ${percent(t.coverage)} — ${t.legacyOnly} legacy occurrence(s) never arrived as new events ${window} (threshold ${percent(thresholds.minCoverage)})`);
    }
    for (const [field, count] of Object.entries(t.mismatches)) {
      blocker(`${t.type}: ${count} occurrence(s) whose two conversions disagree on ${field}`);
    }
    if (t.eventsOnly > 0) info(`${t.type}: ${t.eventsOnly} occurrence(s) arrived only as new events (a legacy rule not subscribed, or a late legacy copy)`);
  }

  if (!legacyConsumerOn(toggle) && phase !== 'flipped') {
    blocker(`codat-legacy-consumer is off before codat-new-event-types is at 100%: the contract is refused for the companies still on the legacy channel (their legacy webhooks are delivered as before); turn codat-legacy-consumer back on, or finish the flip`);
  }

  if (phase !== 'flipped') {
    const observed = overall.both + overall.legacyOnly;
    if (observed < thresholds.minOccurrences) {
      blocker(`only ${observed} occurrence(s) of types both channels carry were observed ${window}; at least ${thresholds.minOccurrences} are needed to judge`);
    }
    const safe = !reasons.some((r) => r.level === 'blocker');
    if (phase === 'rolling-out') info(`rollout at ${toggle.rolloutPercent}% of companies`);
    return {
      verdict: safe ? 'ready-to-flip' : 'not-ready',
      safe,
      phase,
      reasons,
      nextStep: safe
        ? phase === 'rolling-out'
          ? `The new stream matches the legacy one: raise the rollout of codat-new-event-types towards 100%.`
          : `The new stream matches the legacy one: enable codat-new-event-types (or start a gradual rollout on companyId).`
        : `Keep the legacy channel primary and fix the blockers below; the verdict is recomputed continuously.`,
      overall,
      types,
    };
  }

  const legacyPrimary = sum(types.map((t) => t.deliveredFromLegacyPrimary));
  if (legacyPrimary > 0) blocker(`${legacyPrimary} occurrence(s) ${window} were still delivered from the legacy channel as primary: the flip is recent or not complete on every replica`);
  for (const t of types) {
    if (t.rescuedFromLegacy > 0) blocker(`${t.type}: ${t.rescuedFromLegacy} occurrence(s) ${window} reached the downstream only because the legacy copy was rescued`);
    if (t.carriage === 'legacy-only' && t.delivered > 0) {
      blocker(`${t.type}: ${t.delivered} delivered ${window} through the legacy consumer, and Codat has no replacement for it: keep the legacy consumer while you need it`);
    }
  }
  const legacyAfterFlip = sum(types.map((t) => t.legacyCopiesWhileEventsPrimary));
  if (legacyAfterFlip > 0) info(`${legacyAfterFlip} legacy webhook(s) still arrived ${window} while the new channel was primary`);
  if (!legacyConsumerOn(toggle)) return contracted(reasons, phase, overall, types, window);
  const safe = !reasons.some((r) => r.level === 'blocker');
  return {
    verdict: safe ? 'ready-to-contract' : 'flipped',
    safe,
    phase,
    reasons,
    nextStep: safe
      ? 'The new channel carries everything: remove the legacy rules in Codat, then the legacy consumer (src/formats/legacy and its line in src/formats/index.ts).'
      : 'Keep the legacy consumer running until the blockers below are gone.',
    overall,
    types,
  };
}

/**
 * After the contract (codat-legacy-consumer off): legacy copies of replaced types are stored and acknowledged but
 * not delivered. What still needs the legacy channel was never contracted (src/ledger/legacy-contract.ts), so the blockers
 * of the flipped phase become what the operator should know, and the contract stays reversible.
 */
function contracted(reasons: readonly Reason[], phase: Readiness['phase'], overall: Readiness['overall'], types: TypeVerdict[], window: string): Readiness {
  const notes: Reason[] = reasons.map((r) => ({ level: 'info', message: r.message }));
  for (const t of types) {
    if (t.carriage === 'legacy-only' && t.delivered > 0) {
      notes.push({ level: 'info', message: `${t.type}: still delivered from the legacy channel ${window} (no replacement exists, so it is never contracted)` });
    }
  }
  notes.unshift({ level: 'info', message: 'codat-legacy-consumer is off: legacy copies of types the new channel carries are stored and acknowledged, not delivered (codat_cutover_legacy_contracted_total)' });
  return {
    verdict: 'contracted',
    safe: true,
    phase,
    reasons: notes,
    nextStep: 'Contracted. Turn codat-legacy-consumer back on to undo; remove the legacy rules in Codat once no legacy-only type is needed.',
    overall,
    types,
  };
}
