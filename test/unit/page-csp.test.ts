/**
 * The pages a browser gets must render under a strict Content-Security-Policy: no script, nothing from another
 * origin, no style attributes, and <style> elements whose hashes src/readiness/page-styles.ts gives out.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { judgeReadiness, type TypeStats } from '../../src/domain/readiness.js';
import { renderCutoverPage, type CutoverReport } from '../../src/readiness/cutover-page.js';
import { renderLoginPage } from '../../src/readiness/login-page.js';
import { pageStyleSources } from '../../src/readiness/page-styles.js';

const stats = (type: TypeStats['type'], both: number, legacyOnly: number): TypeStats => ({
  type, both, legacyOnly, eventsOnly: 0, mismatches: {}, lagP50Seconds: 1, lagP99Seconds: 2,
  rescuedFromLegacy: 0, rescuedFromEvents: 0, deliveredFromLegacyPrimary: 0, legacyCopiesWhileEventsPrimary: 0, delivered: both + legacyOnly,
});

function report(verdictOf: 'hostile' | 'plain'): CutoverReport {
  const toggle = { enabled: true, rolloutPercent: 50 };
  const hostile = '</style><script>alert(1)</script>';
  return {
    generatedAt: '2026-01-01T00:00:00.000Z',
    observationHours: 24,
    toggle: { ...toggle, flags: { source: 'bootstrap', serverReachable: null, lastError: null } },
    readiness: judgeReadiness([stats('write.succeeded', 90, 10), stats('expenses.syncStarted', 0, 4)], toggle, { minCoverage: 0.995, minOccurrences: 10, observationHours: 24 }),
    details: {
      pending: { 'write.succeeded': 2 },
      held: {},
      hours: [0, 1, 2].map((i) => ({ hour: i * 3600_000, both: 30, legacyOnly: 3 - i, eventsOnly: 0, lagP50Seconds: 1, lagP99Seconds: 3 })),
      companies: { onLegacy: 3, onEvents: 2, onBoth: 1, withGaps: [{ companyId: verdictOf === 'hostile' ? hostile : 'c-1', gaps: 1, occurrences: 2 }] },
    },
    backlog: { inboxPending: 0, deliveriesPending: 0, deadLetters: 1, quarantined: 2, held: 0 },
  };
}

const stylesOf = (html: string) => [...html.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`);

describe('the pages under a Content-Security-Policy', () => {
  it.each([
    ['the cutover page', renderCutoverPage(report('hostile'))],
    ['the login form', renderLoginPage({ failed: true })],
  ])('when %s is rendered, then it has no script, no style attribute, no external resource and only hashed <style> elements', (_name, html) => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\s(src|href)="(https?:)?\/\//i);
    const styles = stylesOf(html);
    expect(styles).toHaveLength(1);
    for (const style of styles) expect(pageStyleSources()).toContain(style);
  });

  it('when a legacy-only type is listed, then its coverage reads n/a, not a warning-coloured 0 %', () => {
    const html = renderCutoverPage(report('plain'));
    expect(html).toMatch(/<tr data-type="expenses\.syncStarted">.*<td class="n na"[^>]*>n\/a<\/td>/);
  });
});
