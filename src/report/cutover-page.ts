/**
 * The readiness report as a page a person reads at a glance during a cutover: the verdict and what
 * to do next first, the reasons behind it, then the figures per domain type.
 */
import type { ToggleDefinition, ToggleSourceStatus } from '../domain/ports.js';
import type { Readiness, TypeVerdict } from '../domain/readiness.js';
import type { StoreCounts } from '../store/cutover-store.js';
import type { CutoverDetails } from '../store/operator-queries.js';

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

const VERDICT_STYLE: Record<Readiness['verdict'], { label: string; colour: string }> = {
  'not-ready': { label: 'Not ready to flip', colour: '#b42318' },
  'ready-to-flip': { label: 'Ready to flip', colour: '#027a48' },
  flipped: { label: 'Flipped — keep the legacy consumer', colour: '#b54708' },
  'ready-to-contract': { label: 'Ready to contract', colour: '#027a48' },
  contracted: { label: 'Contracted — legacy consumer off', colour: '#1d4ed8' },
};

function typeRow(t: TypeVerdict): string {
  const mismatches = sumOf(t.mismatches);
  const cells = [
    `<td><code>${escapeHtml(t.type)}</code></td>`,
    `<td>${escapeHtml(t.carriage)}</td>`,
    `<td class="n">${t.both}</td>`,
    `<td class="n">${t.legacyOnly}</td>`,
    `<td class="n">${t.eventsOnly}</td>`,
    `<td class="n ${t.coverage !== null && t.coverage < 1 ? 'warn' : ''}">${pct(t.coverage)}</td>`,
    `<td class="n ${mismatches > 0 ? 'bad' : ''}">${mismatches}</td>`,
    `<td class="n">${secs(t.lagP50Seconds)} / ${secs(t.lagP99Seconds)}</td>`,
    `<td class="n">${t.rescuedFromLegacy + t.rescuedFromEvents}</td>`,
    `<td class="n">${t.legacyCopiesWhileEventsPrimary}</td>`,
  ];
  return `<tr data-type="${escapeHtml(t.type)}">${cells.join('')}</tr>`;
}

export function renderCutoverPage(report: CutoverReport): string {
  const { readiness, toggle } = report;
  const style = VERDICT_STYLE[readiness.verdict];
  const blockers = readiness.reasons.filter((r) => r.level === 'blocker');
  const notes = readiness.reasons.filter((r) => r.level === 'info');
  const list = (items: typeof blockers) => items.map((r) => `<li>${escapeHtml(r.message)}</li>`).join('');
  const toggleText = toggle.enabled ? `on for ${toggle.rolloutPercent}% of companies` : 'off (legacy channel primary)';
  const flagsText = toggle.flags.source === 'unleash'
    ? toggle.flags.serverReachable === false ? 'Unleash unreachable — last known flags' : 'from Unleash'
    : 'from flags/ (offline bootstrap)';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
<title>Codat cutover: ${escapeHtml(style.label)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem;color:#101828;max-width:72rem}
.verdict{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;background:${style.colour}}
.verdict h1{margin:0;font-size:1.6rem}.verdict p{margin:.4rem 0 0;font-size:1.05rem}
.facts{display:flex;gap:1rem;margin:1.25rem 0;flex-wrap:wrap}.fact{border:1px solid #d0d5dd;border-radius:.5rem;padding:.6rem .9rem;min-width:9rem}
.fact b{display:block;font-size:1.35rem}.fact span{color:#475467;font-size:.85rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}ul{margin:.25rem 0;padding-left:1.25rem}li{margin:.2rem 0}
.blockers li{color:#b42318}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #eaecf0;padding:.35rem .5rem;text-align:left}th{background:#f9fafb}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.warn{color:#b54708}td.bad{color:#b42318;font-weight:600}
footer{margin-top:1.5rem;color:#667085;font-size:.8rem}
</style></head>
<body>
<section class="verdict" id="verdict" data-verdict="${readiness.verdict}">
<h1>${escapeHtml(style.label)}</h1>
<p id="next-step">${escapeHtml(readiness.nextStep)}</p>
</section>
<div class="facts">
<div class="fact"><b id="coverage">${pct(readiness.overall.coverage)}</b><span>coverage: legacy occurrences also seen as new events</span></div>
<div class="fact"><b id="mismatches">${readiness.overall.mismatches}</b><span>occurrences whose two conversions disagree</span></div>
<div class="fact"><b id="rescued">${readiness.overall.rescued}</b><span>rescued after the grace period</span></div>
<div class="fact"><b>${readiness.overall.both} / ${readiness.overall.legacyOnly} / ${readiness.overall.eventsOnly}</b><span>seen on both / legacy only / new only</span></div>
<div class="fact"><b id="toggle">${escapeHtml(toggleText)}</b><span>codat-new-event-types, ${escapeHtml(flagsText)}</span></div>
</div>
${blockers.length > 0 ? `<h2>What stands in the way</h2><ul class="blockers" id="blockers">${list(blockers)}</ul>` : ''}
${notes.length > 0 ? `<h2>Worth knowing</h2><ul id="notes">${list(notes)}</ul>` : ''}
<h2>By domain type (last ${report.observationHours} h)</h2>
<table id="types"><thead><tr><th>Type</th><th>Carried by</th><th>Both</th><th>Legacy only</th><th>New only</th><th>Coverage</th><th>Mismatches</th><th>Lag p50 / p99</th><th>Rescued</th><th>Legacy after flip</th></tr></thead>
<tbody>${readiness.types.map(typeRow).join('') || '<tr><td colspan="10">No occurrences yet.</td></tr>'}</tbody></table>
<footer>Generated ${escapeHtml(report.generatedAt)} · JSON: <code>curl -H 'Accept: application/json' …/cutover</code> · refreshes every 15 s</footer>
</body></html>`;
}
