/**
 * CPU per webhook, thread by thread, at a fixed offered rate: steady arrivals (one webhook every 1/rate s)
 * against autocannon's bursts (each connection sends its share of the second back to back), alternated.
 * It shows what the group commit and the batched background work save when webhooks arrive together,
 * and what they cannot save when every webhook arrives in a turn of its own (docs/performance.md,
 * "Light load").
 *
 *   npx tsx scripts/bench/threads-at-rate.ts [--rate 1000] [--seconds 15] [--pairs 3] [--ingest-only]
 *
 * Threads: the main thread answers HTTP; the background thread is taken to be the busiest other thread
 * (it owns SQLite; the rest — V8's GC and compiler helpers, libuv's pool — each use a fraction of it);
 * "helpers" is everything else. CPU is read from /proc/PID/task/TID/stat before and after each run and
 * after the drain that follows it, so deferred background work is counted.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAutocannon, runPaced, type LoadResult } from './load.js';
import { compileForBench, parseProcessStat, startService, waitDrained } from './processes.js';
import { BENCH_SECRET, createWebhookStream, type WebhookStream } from './webhooks.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    pairs: { type: 'string', default: '3' },
    'ingest-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const PAIRS = Number(args.pairs);
const DRAIN_TIMEOUT_MS = 120_000;

/** CPU seconds so far of each thread of `pid`, by thread id. */
function threadCpu(pid: number): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      seconds.set(tid, parseProcessStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')).ownSeconds);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return seconds;
}

interface Split {
  readonly main: number;
  readonly background: number;
  readonly helpers: number;
}

/** ms per webhook of the main thread, the busiest other thread and the rest, between two readings. */
function split(pid: number, before: Map<string, number>, after: Map<string, number>, webhooks: number): Split {
  const used = [...after].map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const);
  const main = used.find(([tid]) => tid === String(pid))?.[1] ?? NaN;
  const others = used.filter(([tid]) => tid !== String(pid)).map(([, s]) => s).sort((a, b) => b - a);
  const background = others[0] ?? 0;
  const helpers = others.slice(1).reduce((sum, s) => sum + s, 0);
  const ms = (s: number) => (1000 * s) / webhooks;
  return { main: ms(main), background: ms(background), helpers: ms(helpers) };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  compileForBench();
  const dataDir = mkdtempSync(join(tmpdir(), 'threads-at-rate-'));
  const service = await startService({
    dataDir,
    secret: BENCH_SECRET,
    ...(args['ingest-only'] ? { entry: 'scripts/bench/ingest-only-server.ts', name: 'ingest-only' } : {}),
  });
  const stream = createWebhookStream();
  const runs: Record<'steady' | 'bursts', { load: LoadResult; split: Split }[]> = { steady: [], bursts: [] };
  const drain = async () => {
    if (!args['ingest-only']) await waitDrained([service.url], DRAIN_TIMEOUT_MS);
  };
  const once = async (arrivals: 'steady' | 'bursts', warmup = false) => {
    const seconds = warmup ? 3 : SECONDS;
    const before = threadCpu(service.pid);
    const load =
      arrivals === 'steady'
        ? await runPaced({ url: service.url, stream, rate: RATE, seconds })
        : await runAutocannon({ url: service.url, stream, connections: 50, duration: seconds, overallRate: RATE });
    await drain();
    if (!warmup) runs[arrivals].push({ load, split: split(service.pid, before, threadCpu(service.pid), load.ok) });
  };
  try {
    await once('bursts', true);
    for (let pair = 0; pair < PAIRS; pair += 1) {
      // Alternate which goes first, so a drift of the machine does not favour one.
      for (const arrivals of pair % 2 === 0 ? (['steady', 'bursts'] as const) : (['bursts', 'steady'] as const)) await once(arrivals);
    }
  } finally {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
  process.stdout.write(`${args['ingest-only'] ? 'ingest-only' : 'service'} at ${RATE} webhooks/s offered, ${PAIRS} × ${SECONDS} s per arrival kind; CPU ms per webhook, drain included (median, then each run)\n`);
  process.stdout.write('| arrivals | answered/s | p50 ms | p99 ms | main thread | background thread | helpers | total |\n|:--|--:|--:|--:|--:|--:|--:|--:|\n');
  for (const arrivals of ['steady', 'bursts'] as const) {
    const rs = runs[arrivals];
    const col = (pick: (s: Split) => number) => `${f(median(rs.map((r) => pick(r.split))))} (${rs.map((r) => f(pick(r.split))).join(', ')})`;
    const total = (s: Split) => s.main + s.background + s.helpers;
    process.stdout.write(
      `| ${arrivals} | ${f(median(rs.map((r) => r.load.okPerSecond)), 0)} | ${f(median(rs.map((r) => r.load.p50Ms)), 1)} | ${f(median(rs.map((r) => r.load.p99Ms)), 1)} | ${col((s) => s.main)} | ${col((s) => s.background)} | ${col((s) => s.helpers)} | ${col(total)} |\n`,
    );
  }
}

await main();
