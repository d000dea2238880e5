/**
 * CPU per webhook, thread by thread, at a fixed offered rate: steady arrivals (one webhook every 1/rate s)
 * against autocannon's bursts (each connection sends its share of the second back to back), alternated.
 * It shows what the group commit and the batched background work save when webhooks arrive together,
 * and what they cannot save when every webhook arrives in a turn of its own (docs/performance.md,
 * "Light load").
 *
 *   npx tsx scripts/bench/threads-at-rate.ts [--rate 1000] [--seconds 15] [--pairs 3] [--ingest-only]
 *
 * Threads: the main thread answers HTTP; the background thread is the one that was busiest besides it
 * during the warm-up (it owns SQLite; V8's GC and compiler helpers and libuv's pool each use a fraction of
 * it); "helpers" is the rest of the process, threads that ended included. CPU is read from /proc before
 * each run and after the drain that follows it, so deferred background work is counted.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAutocannon, runPaced, type LoadResult } from './load.js';
import { f0, f1, f3, median } from './figures.js';
import { compileForBench, diagnostic, parseProcessStat, readProc, startService, waitDrained } from './processes.js';
import { BENCH_SECRET, createWebhookStream } from './webhooks.js';

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

interface Reading {
  readonly threads: Map<string, number>;
  /** The whole process, threads that have ended included. */
  readonly processSeconds: number;
}

function read(pid: number): Reading {
  return { threads: threadCpu(pid), processSeconds: readProc(pid)?.cpuSeconds ?? NaN };
}

interface Split {
  readonly main: number;
  readonly background: number;
  readonly helpers: number;
}

const used = (tid: string, before: Reading, after: Reading) => (after.threads.get(tid) ?? NaN) - (before.threads.get(tid) ?? 0);

/** The busiest thread besides the main one between two readings. */
function busiestOther(pid: number, before: Reading, after: Reading): string {
  const others = [...after.threads.keys()].filter((tid) => tid !== String(pid));
  return others.sort((a, b) => used(b, before, after) - used(a, before, after))[0] ?? '';
}

/** ms per webhook of the main thread, the background thread and the rest of the process, between two readings. */
function split(pid: number, backgroundTid: string, before: Reading, after: Reading, webhooks: number): Split {
  const ms = (seconds: number) => (1000 * seconds) / webhooks;
  const main = used(String(pid), before, after);
  const background = used(backgroundTid, before, after);
  return { main: ms(main), background: ms(background), helpers: ms(after.processSeconds - before.processSeconds - main - background) };
}

async function main(): Promise<void> {
  compileForBench();
  const dataDir = mkdtempSync(join(tmpdir(), 'threads-at-rate-'));
  const service = await startService({
    dataDir,
    secret: BENCH_SECRET,
    ...(args['ingest-only'] ? { ...diagnostic('ingest-only'), name: 'ingest-only' } : {}),
  });
  const stream = createWebhookStream();
  const runs: Record<'steady' | 'bursts', { load: LoadResult; split: Split }[]> = { steady: [], bursts: [] };
  const drain = async () => {
    if (args['ingest-only']) return;
    if ((await waitDrained([service.url], DRAIN_TIMEOUT_MS)) === null) process.stderr.write('warning: the backlog did not drain in time; the figures leave out what was left\n');
  };
  const run = async (arrivals: 'steady' | 'bursts', seconds: number) => {
    const before = read(service.pid);
    const load =
      arrivals === 'steady'
        ? await runPaced({ url: service.url, stream, rate: RATE, seconds })
        : await runAutocannon({ url: service.url, stream, connections: 50, duration: seconds, overallRate: RATE });
    await drain();
    return { load, before, after: read(service.pid) };
  };
  try {
    const warmup = await run('bursts', 3);
    const backgroundTid = busiestOther(service.pid, warmup.before, warmup.after);
    for (let pair = 0; pair < PAIRS; pair += 1) {
      // Alternate which goes first, so a drift of the machine does not favour one.
      for (const arrivals of pair % 2 === 0 ? (['steady', 'bursts'] as const) : (['bursts', 'steady'] as const)) {
        const { load, before, after } = await run(arrivals, SECONDS);
        runs[arrivals].push({ load, split: split(service.pid, backgroundTid, before, after, load.ok) });
      }
    }
  } finally {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  process.stdout.write(`${args['ingest-only'] ? 'ingest-only' : 'service'} at ${RATE} webhooks/s offered, ${PAIRS} × ${SECONDS} s per arrival kind; CPU ms per webhook, drain included (median, then each run)\n`);
  process.stdout.write('| arrivals | answered/s | p50 ms | p99 ms | main thread | background thread | helpers | total |\n|:--|--:|--:|--:|--:|--:|--:|--:|\n');
  for (const arrivals of ['steady', 'bursts'] as const) {
    const rs = runs[arrivals];
    const col = (pick: (s: Split) => number) => `${f3(median(rs.map((r) => pick(r.split))))} (${rs.map((r) => f3(pick(r.split))).join(', ')})`;
    const total = (s: Split) => s.main + s.background + s.helpers;
    process.stdout.write(
      `| ${arrivals} | ${f0(median(rs.map((r) => r.load.okPerSecond)))} | ${f1(median(rs.map((r) => r.load.p50Ms)))} | ${f1(median(rs.map((r) => r.load.p99Ms)))} | ${col((s) => s.main)} | ${col((s) => s.background)} | ${col((s) => s.helpers)} | ${col(total)} |\n`,
    );
  }
}

await main();
