/**
 * Keeps the comparison of the two streams current: closes correlation windows (counting each
 * occurrence once, by which channels carried it), recomputes the readiness verdict, and mirrors
 * the toggle's definition into gauges so a dashboard can show it over time.
 */
import { carriageOf } from '../domain/domain-event.js';
import { NEW_EVENT_TYPES_TOGGLE, legacyConsumerOn, type Clock, type Logger, type ToggleReader } from '../domain/ports.js';
import { VERDICTS, judgeReadiness, type Readiness, type ReadinessThresholds } from '../domain/readiness.js';
import type { Metrics } from '../observability/metrics.js';
import type { CutoverDetailsQuery } from './cutover-details-query.js';
import type { ReadinessStore } from './readiness-store.js';
import type { CutoverReport } from './cutover-page.js';

export interface CutoverMonitor {
  /** The verdict now (recomputed at most every `cacheMs`). */
  readiness(): Promise<Readiness>;
  /** The readiness report behind `GET /cutover`: the verdict with the toggle it was judged under. */
  report(): Promise<CutoverReport>;
  /** One pass: close windows, refresh the verdict and the toggle gauges. */
  tick(): Promise<void>;
}

export function createCutoverMonitor(deps: {
  store: ReadinessStore & CutoverDetailsQuery;
  toggle: ToggleReader;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
  windowMs: number;
  thresholds: ReadinessThresholds;
  cacheMs?: number;
}): CutoverMonitor {
  const { store, toggle, metrics, clock, logger, windowMs, thresholds } = deps;
  const cacheMs = deps.cacheMs ?? 5000;
  let cached: { at: number; readiness: Readiness } | null = null;
  let lastDefinition: string | null = null;

  async function readiness(): Promise<Readiness> {
    const now = clock.now();
    if (cached && now - cached.at < cacheMs) return cached.readiness;
    const since = now - thresholds.observationHours * 3600_000;
    const result = judgeReadiness(await store.cutoverStats(since), toggle.definition(), thresholds);
    cached = { at: now, readiness: result };
    metrics.ready.set(result.safe ? 1 : 0);
    for (const verdict of VERDICTS) metrics.verdict.set({ verdict }, verdict === result.verdict ? 1 : 0);
    return result;
  }

  function observeToggle(): void {
    const definition = toggle.definition();
    metrics.toggleEnabled.set(definition.enabled ? 1 : 0);
    metrics.toggleRolloutPercent.set(definition.rolloutPercent);
    metrics.legacyConsumerEnabled.set(legacyConsumerOn(definition) ? 1 : 0);
    const fingerprint = `${definition.enabled}|${definition.rolloutPercent}|${legacyConsumerOn(definition)}`;
    if (lastDefinition !== null && fingerprint !== lastDefinition) {
      metrics.toggleChanges.inc();
      const [enabled, rolloutPercent, legacyConsumer] = lastDefinition.split('|');
      logger.info('toggle changed', {
        toggle: NEW_EVENT_TYPES_TOGGLE, enabled: definition.enabled, rolloutPercent: definition.rolloutPercent, legacyConsumer: legacyConsumerOn(definition),
        previous: { enabled: enabled === 'true', rolloutPercent: Number(rolloutPercent), legacyConsumer: legacyConsumer === 'true' },
      });
    }
    lastDefinition = fingerprint;
  }

  async function tick(): Promise<void> {
    observeToggle();
    for (;;) {
      const closed = await store.closeWindows(clock.now(), windowMs, 1000);
      for (const occurrence of closed) {
        // Types one channel carries alone are not gaps: the report counts them apart.
        if (carriageOf(occurrence.type) === 'both') metrics.occurrences.inc({ type: occurrence.type, seen: occurrence.seen });
      }
      if (closed.length < 1000) break;
      // Let requests in between batches: SQLite work is synchronous and would otherwise hold the loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
    cached = null;
    await readiness();
  }

  return {
    readiness,
    async report() {
      const now = clock.now();
      return {
        generatedAt: new Date(now).toISOString(),
        observationHours: thresholds.observationHours,
        toggle: { ...toggle.definition(), flags: toggle.status() },
        readiness: await readiness(),
        details: await store.cutoverDetails(now - thresholds.observationHours * 3600_000, now),
        backlog: await store.counts(),
      };
    },
    tick,
  };
}
