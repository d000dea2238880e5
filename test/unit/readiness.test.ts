import { describe, expect, it } from 'vitest';
import type { DomainEventType } from '../../src/domain/domain-event.js';
import { judgeReadiness, type TypeStats } from '../../src/domain/readiness.js';

const thresholds = { minCoverage: 0.995, minOccurrences: 100, observationHours: 24 };
const off = { enabled: false, rolloutPercent: 0 };
const on = { enabled: true, rolloutPercent: 100 };

function stats(type: DomainEventType, overrides: Partial<TypeStats> = {}): TypeStats {
  return {
    type, both: 1000, legacyOnly: 0, eventsOnly: 0, mismatches: {}, lagP50Seconds: 0.4, lagP99Seconds: 2,
    rescuedFromLegacy: 0, rescuedFromEvents: 0, deliveredFromLegacyPrimary: 0, legacyCopiesWhileEventsPrimary: 0, delivered: 1000,
    ...overrides,
  };
}

const blockers = (r: ReturnType<typeof judgeReadiness>) => r.reasons.filter((x) => x.level === 'blocker').map((x) => x.message);

describe('the readiness verdict', () => {
  it('when the streams match before the flip, then ready to flip with no blocker', () => {
    const r = judgeReadiness([stats('write.succeeded'), stats('dataset.synced')], off, thresholds);
    expect(r).toMatchObject({ verdict: 'ready-to-flip', safe: true, phase: 'before-flip' });
    expect(blockers(r)).toEqual([]);
  });

  it('when too few occurrences were seen, then not ready, however good they look', () => {
    const r = judgeReadiness([stats('write.succeeded', { both: 40, delivered: 40 })], off, thresholds);
    expect(r.verdict).toBe('not-ready');
    expect(blockers(r)).toEqual([expect.stringContaining('only 40 occurrence(s)')]);
  });

  it('when coverage is just under the threshold, then not ready, naming the type and the missing count', () => {
    const r = judgeReadiness([stats('dataset.synced', { both: 994, legacyOnly: 6 })], off, thresholds);
    expect(r.verdict).toBe('not-ready');
    expect(blockers(r)[0]).toMatch(/^dataset\.synced: coverage 99\.40% — 6 legacy occurrence/);
  });

  it('when occurrences arrive only as new events, then it is worth knowing but not a blocker', () => {
    const r = judgeReadiness([stats('dataset.synced', { eventsOnly: 5 })], off, thresholds);
    expect(r.verdict).toBe('ready-to-flip');
    expect(r.reasons).toEqual([{ level: 'info', message: expect.stringContaining('5 occurrence(s) arrived only as new events') }]);
  });

  it('when one-channel types have traffic, then they do not count as gaps before the flip', () => {
    const r = judgeReadiness([stats('write.succeeded'), stats('company.created', { both: 0, eventsOnly: 50 })], off, thresholds);
    expect(r.verdict).toBe('ready-to-flip');
  });

  it('when the rollout is partial, then the phase says so and the verdict is still about flipping', () => {
    const r = judgeReadiness([stats('write.succeeded')], { enabled: true, rolloutPercent: 25 }, thresholds);
    expect(r).toMatchObject({ phase: 'rolling-out', verdict: 'ready-to-flip' });
    expect(r.nextStep).toContain('raise the rollout');
  });

  it('when flipped but legacy copies were still primary or rescued in the period, then flipped, not ready to contract', () => {
    const r = judgeReadiness([stats('write.succeeded', { deliveredFromLegacyPrimary: 3, rescuedFromLegacy: 2 })], on, thresholds);
    expect(r.verdict).toBe('flipped');
    expect(blockers(r)).toHaveLength(2);
  });

  it('when flipped and the new channel carried everything, then ready to contract, noting legacy traffic that still arrives', () => {
    const r = judgeReadiness([stats('write.succeeded', { legacyCopiesWhileEventsPrimary: 1000 })], on, thresholds);
    expect(r).toMatchObject({ verdict: 'ready-to-contract', safe: true });
    expect(r.reasons).toEqual([{ level: 'info', message: expect.stringContaining('1000 legacy webhook(s) still arrived') }]);
  });
});
