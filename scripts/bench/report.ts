/**
 * What a bench run prints: a line per run as it ends, then one table of medians over the runs, with
 * ratios against the baselines measured in the same run (each run's ratio, then their median, so a
 * machine that drifts between runs does not favour one side).
 */
import type { BenchSettings, SideName } from './arguments.js';
import type { RunFigures } from './measure.js';
import type { StatementStats } from './statement-stats.js';
import { SIDES } from './sides.js';

export const median = (xs: readonly number[]): number => {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const fixed = (digits: number) => (x: number) => (Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—');
const f0 = fixed(0);
const f1 = fixed(1);
const f2 = fixed(2);

export function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)];
}

export function describeRun(side: SideName, run: number, figures: RunFigures): string {
  const { load } = figures;
  const failed = load.non2xx + load.errors > 0 ? `  NOT ACCEPTED: ${load.non2xx} non-2xx, ${load.errors} errors` : '';
  const endToEnd = SIDES[side].delivers ? `  end to end ${f0(figures.endToEndPerSecond)}/s (${f1(figures.endToEndSeconds)} s)` : '';
  return `  run ${run} ${SIDES[side].label.padEnd(32)} accepted ${f0(figures.acceptedPerSecond).padStart(6)}/s${endToEnd}  p99 ${f1(load.p99Ms)} ms  CPU ${f2(figures.cpuMsPerWebhook)} ms/webhook  written ${f1(figures.kbWrittenPerWebhook)} KB/webhook  peak RSS ${f0(figures.peakRssMb)} MB${failed}`;
}

/** The side's most expensive statements after its run line, or, once per bench, why there are none. */
export function describeStatementStats(stats: StatementStats | null, said: Set<string>): string[] {
  if (!stats) return [];
  if (!stats.active) {
    if (said.has(stats.why)) return [];
    said.add(stats.why);
    return [`  ${stats.why}`];
  }
  return [
    '    top statements by total time (pg_stat_statements):',
    ...stats.top.map((s) => `    ${f1(s.totalMs).padStart(10)} ms ${f0(s.calls).padStart(9)} calls  ${s.query}`),
  ];
}

export type Results = ReadonlyMap<SideName, readonly RunFigures[]>;

/** Each run's `pick(side) ÷ pick(baseline)` in that run, then the median: NaN if either is missing. */
function ratio(results: Results, side: SideName, baseline: SideName, pick: (f: RunFigures) => number, baselinePick: (f: RunFigures) => number): number {
  const mine = results.get(side) ?? [];
  const theirs = results.get(baseline) ?? [];
  return median(mine.map((f, i) => pick(f) / (theirs[i] ? baselinePick(theirs[i]) : NaN)));
}

export function summarise(results: Results, settings: BenchSettings): string[] {
  const accepted = (f: RunFigures) => f.acceptedPerSecond;
  // A side that delivers is judged by its end-to-end rate; a baseline only accepts, so by its accept rate.
  const rateOf = (side: SideName) => (SIDES[side].delivers ? (f: RunFigures) => f.endToEndPerSecond : accepted);
  const rows = [...results.entries()].map(([side, runs]) => {
    const m = (pick: (f: RunFigures) => number) => median(runs.map(pick));
    return [
      SIDES[side].label,
      f0(m(accepted)),
      SIDES[side].delivers ? f0(m((f) => f.endToEndPerSecond)) : '—',
      side === 'express' ? '1.00' : f2(ratio(results, side, 'express', rateOf(side), accepted)),
      side === 'naive' ? '1.00' : f2(ratio(results, side, 'naive', rateOf(side), accepted)),
      f1(m((f) => f.load.p50Ms)),
      f1(m((f) => f.load.p99Ms)),
      f2(m((f) => f.cpuMsPerWebhook)),
      SIDES[side].usesPostgres ? f2(m((f) => f.postgresCpuMsPerWebhook)) : '—',
      SIDES[side].usesPostgres ? f2(m((f) => f.commitsPerWebhook)) : '—',
      SIDES[side].usesPostgres ? f2(m((f) => f.roundTripsPerWebhook)) : '—',
      f1(m((f) => f.kbWrittenPerWebhook)),
      f0(Math.max(...runs.map((f) => f.peakRssMb))),
      f0(m((f) => f.machineBusyPercent)),
    ];
  });
  const load = settings.rate === undefined ? `${settings.connections} connections, as fast as accepted` : `${settings.rate} webhooks/s offered`;
  return [
    `medians of ${settings.runs} run(s); ${settings.occurrences.toLocaleString('en')} occurrences per run (a legacy copy and its new-format twin: ${(2 * settings.occurrences).toLocaleString('en')} webhooks), ${load}, after ${settings.warmup} occurrences of warm-up`,
    '',
    ...table(
      ['side', 'accepted/s', 'end to end/s', '÷ bare Express', '÷ naive durable', 'p50 ms', 'p99 ms', 'CPU ms/webhook', 'PostgreSQL CPU ms/webhook', 'commits/webhook', 'round trips/webhook', 'KB written/webhook', 'peak RSS MB', 'machine busy %'],
      rows,
    ),
    '',
    'end to end: accepted webhooks ÷ seconds from the first sent until the downstream stub held every occurrence.',
    'ratios: a delivering side by its end-to-end rate, a baseline by its accept rate, against the baseline\'s accept rate in the same run (median of the runs).',
    'CPU: the side\'s processes until its last delivery; PostgreSQL\'s is every postgres process on the machine over the same time.',
    'machine busy: every process on the machine (the load generator and other tenants included), % of all cores.',
    'commits: pg_stat_database.xact_commit of the side\'s own database over its whole life (start-up and warm-up included).',
    'KB written: embedded, what the side\'s processes wrote to storage (write_bytes: WAL, checkpoints); PostgreSQL, the WAL the server generated (pg_stat_wal); until the last delivery.',
    'round trips: statements the side sent to PostgreSQL (BEGIN, COMMIT and ROLLBACK included) over the same life, counted by its processes (codat_cutover_store_statements_total).',
  ];
}
