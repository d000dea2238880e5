/**
 * The readiness report as a page a person reads at a glance during a cutover: the verdict and what to do next
 * first, the reasons behind it, what is not judged yet, the trends, per-company progress, what waits for an
 * operator, then the figures per domain type.
 *
 * Content-Security-Policy friendly: no script, no external resource, one static <style> element (its hash is
 * in src/readiness/page-styles.ts), and charts as inline SVG drawn with presentation attributes, never `style=`.
 */
import type { ToggleDefinition, ToggleSourceStatus } from '../domain/ports.js';
import type { Readiness, TypeVerdict } from '../domain/readiness.js';
import type { CompanyProgress, CutoverDetails, HourFigures } from './cutover-details-query.js';
import type { StoreCounts } from './readiness-store.js';
import { CUTOVER_PAGE_STYLE } from './page-styles.js';
import { lineChart, stackedBar, barChart } from './svg-charts.js';

export interface CutoverReport {
  readonly generatedAt: string;
  readonly observationHours: number;
  readonly toggle: ToggleDefinition & { readonly flags: ToggleSourceStatus };
  readonly readiness: Readiness;
  /** What the verdict does not count yet, the trends and per-company progress (src/store/operator-queries.ts). */
  readonly details?: CutoverDetails;
  /** Dead letters, quarantine and what waits in the store. */
  readonly backlog?: StoreCounts;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const pct = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(value >= 0.9995 ? 0 : 2)}%`);
const secs = (value: number | null) => (value === null ? '—' : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} s`);
const sumOf = (record: Readonly<Record<string, number>>) => Object.values(record).reduce((a, b) => a + b, 0);

const VERDICT_LABEL: Record<Readiness['verdict'], string> = {
  'not-ready': 'Not ready to flip',
  'ready-to-flip': 'Ready to flip',
  flipped: 'Flipped — keep the legacy consumer',
  'ready-to-contract': 'Ready to contract',
  contracted: 'Contracted — legacy consumer off',
};

function typeRow(t: TypeVerdict): string {
  const mismatches = sumOf(t.mismatches);
  // Coverage compares the two channels: a type only one of them carries has nothing to compare.
  const coverage =
    t.carriage === 'both'
      ? `<td class="n ${t.coverage !== null && t.coverage < 1 ? 'warn' : ''}">${pct(t.coverage)}</td>`
      : `<td class="n na" title="${t.carriage === 'legacy-only' ? 'Codat has no replacement for this type' : 'only the new event types carry this type'}">n/a</td>`;
  const cells = [
    `<td><code>${escapeHtml(t.type)}</code></td>`,
    `<td>${escapeHtml(t.carriage)}</td>`,
    `<td class="n">${t.both}</td>`,
    `<td class="n">${t.legacyOnly}</td>`,
    `<td class="n">${t.eventsOnly}</td>`,
    coverage,
    `<td class="n ${mismatches > 0 ? 'bad' : ''}">${mismatches}</td>`,
    `<td class="n">${secs(t.lagP50Seconds)} / ${secs(t.lagP99Seconds)}</td>`,
    `<td class="n">${t.rescuedFromLegacy + t.rescuedFromEvents}</td>`,
    `<td class="n">${t.legacyCopiesWhileEventsPrimary}</td>`,
  ];
  return `<tr data-type="${escapeHtml(t.type)}">${cells.join('')}</tr>`;
}

const hourLabel = (ms: number) => `${new Date(ms).toISOString().slice(11, 13)}:00`;

function trends(hours: readonly HourFigures[], observationHours: number): string {
  const labels = hours.map((h) => hourLabel(h.hour));
  const coverage = hours.map((h) => (h.both + h.legacyOnly === 0 ? null : (h.both / (h.both + h.legacyOnly)) * 100));
  const lowest = Math.min(90, ...coverage.filter((v): v is number => v !== null));
  return `<h2>Trends (per hour, last ${observationHours} h, UTC)</h2>
<div class="charts">
<figure id="chart-coverage"><figcaption>Coverage of legacy occurrences by the new stream</figcaption>
${lineChart({ labels, series: [{ name: 'coverage', colour: '#027a48', values: coverage }], min: Math.floor(lowest / 10) * 10, max: 100, unit: '%', threshold: 99.5 })}</figure>
<figure id="chart-lag"><figcaption>Lag of the second copy: p50 and p99</figcaption>
${lineChart({ labels, series: [{ name: 'p50', colour: '#175cd3', values: hours.map((h) => h.lagP50Seconds) }, { name: 'p99', colour: '#b54708', values: hours.map((h) => h.lagP99Seconds) }], min: 0, unit: ' s' })}</figure>
<figure id="chart-occurrences"><figcaption>Occurrences judged: on both / legacy only / new only</figcaption>
${barChart({ labels, series: [{ name: 'both', colour: '#027a48', values: hours.map((h) => h.both) }, { name: 'legacy only', colour: '#b42318', values: hours.map((h) => h.legacyOnly) }, { name: 'new only', colour: '#98a2b3', values: hours.map((h) => h.eventsOnly) }] })}</figure>
</div>`;
}

function companies(progress: CompanyProgress, contracted: boolean): string {
  const total = progress.onLegacy + progress.onEvents + progress.onBoth;
  const rows = progress.withGaps
    .map((c) => `<tr><td><code>${escapeHtml(c.companyId)}</code></td><td class="n">${c.gaps}</td><td class="n">${c.occurrences}</td></tr>`)
    .join('');
  return `<h2>Companies</h2>
<section id="companies">
<p>${total} compan${total === 1 ? 'y' : 'ies'} had occurrences both channels carry: <b id="companies-legacy">${progress.onLegacy}</b> delivered from the legacy channel,
<b id="companies-events">${progress.onEvents}</b> from the new one, <b id="companies-both">${progress.onBoth}</b> from both (moved during the period).</p>
${stackedBar([{ name: 'legacy', colour: '#98a2b3', value: progress.onLegacy }, { name: 'both', colour: '#f79009', value: progress.onBoth }, { name: 'new', colour: '#027a48', value: progress.onEvents }])}
${progress.withGaps.length > 0
    ? `<h3>${contracted ? 'Seen on one channel only (expected since the contract: legacy copies of replaced types are no longer recorded)' : 'Still showing gaps (an occurrence seen on one channel only)'}</h3><table id="company-gaps"><thead><tr><th>Company</th><th>Gaps</th><th>Occurrences</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p id="company-gaps-none">No company shows a gap.</p>'}
</section>`;
}

function pendingWork(details: CutoverDetails | undefined, backlog: StoreCounts | undefined): string {
  const pending = details ? sumOf(details.pending) : 0;
  const held = details ? sumOf(details.held) : 0;
  const types = [...new Set([...Object.keys(details?.pending ?? {}), ...Object.keys(details?.held ?? {})])].sort();
  const rows = types.map((t) => `<tr><td><code>${escapeHtml(t)}</code></td><td class="n">${details?.pending[t] ?? 0}</td><td class="n">${details?.held[t] ?? 0}</td></tr>`).join('');
  const fact = (id: string, value: number, label: string, bad = false) =>
    `<div class="fact"><b id="${id}" class="${bad && value > 0 ? 'bad' : ''}">${value}</b><span>${label}</span></div>`;
  return `<h2>Not judged yet, and waiting for an operator</h2>
<div class="facts" id="pending-work">
${fact('pending', pending, 'occurrences whose correlation window is still open (counted when it closes)')}
${fact('held', held, 'shadow copies held for their primary copy (rescued after the grace period)')}
${backlog ? fact('dead-letters', backlog.deadLetters, 'dead letters: replay with codat-cutover dead-letters replay', true) : ''}
${backlog ? fact('quarantine', backlog.quarantined, 'quarantined webhooks: codat-cutover quarantine', true) : ''}
${backlog ? fact('backlog', backlog.inboxPending + backlog.deliveriesPending, 'stored webhooks and deliveries not processed yet') : ''}
</div>
${rows ? `<table id="pending-types"><thead><tr><th>Type</th><th>Window open</th><th>Held</th></tr></thead><tbody>${rows}</tbody></table>` : ''}`;
}

export function renderCutoverPage(report: CutoverReport): string {
  const { readiness, toggle, details, backlog } = report;
  const label = VERDICT_LABEL[readiness.verdict];
  const blockers = readiness.reasons.filter((r) => r.level === 'blocker');
  const notes = readiness.reasons.filter((r) => r.level === 'info');
  const list = (items: typeof blockers) => items.map((r) => `<li>${escapeHtml(r.message)}</li>`).join('');
  const toggleText = toggle.enabled ? `on for ${toggle.rolloutPercent}% of companies` : 'off (legacy channel primary)';
  const flagsText = toggle.flags.source === 'unleash'
    ? toggle.flags.serverReachable === false ? 'Unleash unreachable — last known flags' : 'from Unleash'
    : 'from flags/ (offline bootstrap)';
  const pending = details ? sumOf(details.pending) : 0;
  const noRows = pending > 0
    ? `No correlation window has closed yet: ${pending} occurrence(s) are pending (see above).`
    : 'No occurrences yet.';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
<title>Codat cutover: ${escapeHtml(label)}</title>
<style>${CUTOVER_PAGE_STYLE}</style></head>
<body>
<section class="verdict v-${readiness.verdict}" id="verdict" data-verdict="${readiness.verdict}">
<h1>${escapeHtml(label)}</h1>
<p id="next-step">${escapeHtml(readiness.nextStep)}</p>
</section>
<div class="facts">
<div class="fact"><b id="coverage">${pct(readiness.overall.coverage)}</b><span>coverage: legacy occurrences also seen as new events</span></div>
<div class="fact"><b id="mismatches">${readiness.overall.mismatches}</b><span>occurrences whose two conversions disagree</span></div>
<div class="fact"><b id="rescued">${readiness.overall.rescued}</b><span>rescued after the grace period</span></div>
<div class="fact"><b>${readiness.overall.both} / ${readiness.overall.legacyOnly} / ${readiness.overall.eventsOnly}</b><span>seen on both / legacy only / new only</span></div>
<div class="fact"><b id="toggle">${escapeHtml(toggleText)}</b><span>codat-new-event-types, ${escapeHtml(flagsText)}</span></div>
<div class="fact"><b id="legacy-consumer">${toggle.legacyConsumer === false ? 'off (contracted)' : 'on'}</b><span>codat-legacy-consumer</span></div>
</div>
${blockers.length > 0 ? `<h2>What stands in the way</h2><ul class="blockers" id="blockers">${list(blockers)}</ul>` : ''}
${notes.length > 0 ? `<h2>Worth knowing</h2><ul id="notes">${list(notes)}</ul>` : ''}
${pendingWork(details, backlog)}
${details ? trends(details.hours, report.observationHours) : ''}
${details ? companies(details.companies, toggle.legacyConsumer === false) : ''}
<h2>By domain type (last ${report.observationHours} h)</h2>
<table id="types"><thead><tr><th>Type</th><th>Carried by</th><th>Both</th><th>Legacy only</th><th>New only</th><th>Coverage</th><th>Mismatches</th><th>Lag p50 / p99</th><th>Rescued</th><th>Legacy after flip</th></tr></thead>
<tbody>${readiness.types.map(typeRow).join('') || `<tr><td colspan="10">${escapeHtml(noRows)}</td></tr>`}</tbody></table>
<footer>Generated ${escapeHtml(report.generatedAt)} · JSON: <code>curl -H 'Accept: application/json' …/cutover</code> or <code>codat-cutover status</code> · refreshes every 15 s</footer>
</body></html>`;
}
