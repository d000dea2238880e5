/**
 * Issue 7's benchmark: the full request path (verify, parse, store durably, answer 202; then
 * convert, correlate and deliver in the background) against a bare Express 5 app and raw node:http,
 * measured in the same run, in alternating rounds, with the same load. It prints figures and
 * ratios; it never asserts on time (the machine is shared and noisy: read medians and ratios).
 *
 *   npm run bench                               # embedded store, then PostgreSQL (if reachable) + two replicas
 *   npm run bench -- --store embedded           # or: --store postgres (alias --postgres)
 *   npm run bench -- --rounds 5 --duration 10 --connections 50 --rate 1000
 *   npm run bench -- --sustained 1000000        # N webhooks, RSS sampled every few seconds
 *   npm run bench -- --sustained 200000 --service-node-flags=--max-semi-space-size=4
 *   npm run bench -- --profile 30               # CPU profile of the service under 30 s of load, summarised
 *   npm run bench -- --json results.json        # also write every figure as JSON
 *
 * Each service round is followed by waiting until the service has converted, correlated and
 * delivered everything it accepted (its inbox and outbox backlogs are 0), so its background work
 * never steals CPU from the next baseline round; that wait is reported as "drain", and
 * "end-to-end" is accepted / (round + drain): the rate the whole pipeline sustains.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../test/integration/support/postgres.js';
import { f0, f1, f2, median } from './bench/figures.js';
import { runAutocannon, runPaced, type LoadResult } from './bench/load.js';
import {
  backlog,
  compileForBench,
  cpuSecondsOf,
  diagnostic,
  machineCpuSeconds,
  readProc,
  sampleRss,
  startBaseline,
  startService,
  waitDrained,
  type Child,
  type DiagnosticVariant,
} from './bench/processes.js';
import { summariseProfileFile } from './bench/profile-summary.js';
import { BENCH_SECRET, checkSignerAgainstLibrary, createWebhookStream, type WebhookStream } from './bench/webhooks.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'all' },
    postgres: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string', default: '1000' },
    'rate-seconds': { type: 'string', default: '15' },
    'drain-timeout': { type: 'string', default: '600' },
    'no-http': { type: 'boolean', default: false },
    'no-replicas': { type: 'boolean', default: false },
    'no-rate': { type: 'boolean', default: false },
    'no-ingest-only': { type: 'boolean', default: false },
    'no-request-path': { type: 'boolean', default: false },
    'replicas-only': { type: 'boolean', default: false },
    'ingest-only': { type: 'boolean', default: false },
    sustained: { type: 'string' },
    'sustained-rate': { type: 'string' },
    'sample-seconds': { type: 'string', default: '5' },
    // Extra node flags for the service in --sustained runs (memory experiments, e.g. "--max-semi-space-size=4").
    'service-node-flags': { type: 'string', default: '' },
    profile: { type: 'string' },
    json: { type: 'string' },
  },
  strict: true,
});

const ROUNDS = Number(args.rounds);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const RATE = Number(args.rate);
const RATE_SECONDS = Number(args['rate-seconds']);
const DRAIN_TIMEOUT_MS = Number(args['drain-timeout']) * 1000;
const REQUEST_PATH_SIDE = 'request-path-only';
const STORE = args.postgres ? 'postgres' : (args.store ?? 'all');
if (!['all', 'embedded', 'postgres'].includes(STORE)) throw new Error(`--store must be all, embedded or postgres, not ${STORE}`);

// ---------------------------------------------------------------------------------------------
// Clean-up: every child, temp folder and database this run made goes away, even on Ctrl-C.

const children = new Set<Child>();
const tempDirs = new Set<string>();
const databases = new Set<TestDatabase>();

async function cleanUp(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop(10_000).catch(() => undefined)));
  children.clear();
  for (const db of databases) await db.drop().catch((error: unknown) => log(`could not drop a database: ${String(error)}`));
  databases.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: cleaning up');
  void cleanUp().finally(() => process.exit(130));
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

async function track(child: Promise<Child>): Promise<Child> {
  const started = await child;
  children.add(started);
  return started;
}

async function stop(child: Child): Promise<void> {
  await child.stop();
  children.delete(child);
}

// ---------------------------------------------------------------------------------------------
// Figures

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  log(line(header));
  log(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) log(line(row));
}

interface Round {
  readonly load: LoadResult;
  /** CPU of the server process during the round, % of one core. */
  readonly serverCpu: number;
  /** CPU of its main (HTTP) thread alone, % of one core: near 100 % it is the limit. */
  readonly mainThreadCpu: number;
  /** CPU ms of the main thread(s) per answered request during the round (accepting). */
  readonly mainThreadCpuMsPerRequest: number;
  /** CPU of this (load-generating) process during the round, % of one core. */
  readonly loaderCpu: number;
  /** CPU of all PostgreSQL processes on the machine during the round, % of one core. */
  readonly postgresCpu: number;
  /** Seconds until the service's backlog was empty after the round (service only). */
  readonly drainSeconds: number | null;
  /** CPU of the servers (summed) and of PostgreSQL during that drain, % of one core. */
  readonly drainServerCpu: number;
  readonly drainPostgresCpu: number;
  readonly peakRssMb: number;
  /** CPU ms the server processes spent per answered request during the round (accepting). */
  readonly roundCpuMsPerRequest: number;
  /** The same with the drain after the round: what the whole pipeline costs per webhook. */
  readonly serverCpuMsPerRequest: number;
  /** CPU ms every PostgreSQL process on the machine spent per answered request, during the round / with the drain. */
  readonly postgresRoundCpuMsPerRequest: number;
  readonly postgresCpuMsPerRequest: number;
  /** CPU ms this process (the load generator) spent per answered request. */
  readonly loaderCpuMsPerRequest: number;
  /** The whole machine's busy CPU during the round, % of one core (every process, the kernel included). */
  readonly machineBusy: number;
}

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
  settings: { rounds: ROUNDS, duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, rate: RATE, rateSeconds: RATE_SECONDS },
};

/** One measured load against one or more processes (replicas share the connections). */
async function measure(targets: readonly Child[], stream: WebhookStream, load: { duration?: number; amount?: number; overallRate?: number; connections?: number }, drain: boolean): Promise<Round> {
  const cpu0 = targets.map((t) => readProc(t.pid)?.cpuSeconds ?? NaN);
  const main0 = targets.map((t) => readProc(t.pid)?.mainThreadCpuSeconds ?? NaN);
  const postgres0 = cpuSecondsOf('postgres');
  const loader0 = process.cpuUsage();
  const machine0 = machineCpuSeconds();
  const started = performance.now();
  const rss = sampleRss(targets.map((t) => t.pid));
  const connections = load.connections ?? CONNECTIONS;
  const perTarget = Math.max(1, Math.floor(connections / targets.length));
  const results = await Promise.all(
    targets.map((target) =>
      runAutocannon({
        url: target.url,
        stream,
        connections: perTarget,
        ...(load.amount !== undefined ? { amount: Math.floor(load.amount / targets.length) } : { duration: load.duration ?? DURATION }),
        ...(load.overallRate !== undefined ? { overallRate: load.overallRate / targets.length } : {}),
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const loader = process.cpuUsage(loader0);
  const machine1 = machineCpuSeconds();
  const cpu1 = targets.map((t) => readProc(t.pid)?.cpuSeconds ?? NaN);
  const main1 = targets.map((t) => readProc(t.pid)?.mainThreadCpuSeconds ?? NaN);
  const postgres1 = cpuSecondsOf('postgres');
  const postgresCpu = (100 * (postgres1 - postgres0)) / seconds;
  const peaks = rss.stop();
  const drainStarted = performance.now();
  const drainSeconds = drain ? await waitDrained(targets.map((t) => t.url), DRAIN_TIMEOUT_MS) : null;
  const drainWall = (performance.now() - drainStarted) / 1000;
  const cpu2 = targets.map((t) => readProc(t.pid)?.cpuSeconds ?? NaN);
  const drainServerCpu = drain ? (100 * cpu2.reduce((s, c, i) => s + c - (cpu1[i] ?? NaN), 0)) / drainWall : NaN;
  const postgres2 = cpuSecondsOf('postgres');
  const drainPostgresCpu = drain ? (100 * (postgres2 - postgres1)) / drainWall : NaN;
  const merged: LoadResult = {
    okPerSecond: results.reduce((sum, r) => sum + r.okPerSecond, 0),
    // Replicas: the worse of the two, so a slow replica is not hidden.
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    seconds: Math.max(...results.map((r) => r.seconds)),
    statusCodes: results.reduce<Record<string, number>>((all, r) => {
      for (const [code, n] of Object.entries(r.statusCodes)) all[code] = (all[code] ?? 0) + n;
      return all;
    }, {}),
  };
  const sinceStart = (cpu: readonly number[]) => cpu.reduce((s, c, i) => s + c - (cpu0[i] ?? NaN), 0);
  const roundCpuSeconds = sinceStart(cpu1);
  return {
    load: merged,
    roundCpuMsPerRequest: (1000 * roundCpuSeconds) / merged.ok,
    serverCpuMsPerRequest: (1000 * sinceStart(cpu2)) / merged.ok,
    postgresRoundCpuMsPerRequest: (1000 * (postgres1 - postgres0)) / merged.ok,
    postgresCpuMsPerRequest: (1000 * (postgres2 - postgres0)) / merged.ok,
    loaderCpuMsPerRequest: (1000 * (loader.user + loader.system)) / 1e6 / merged.ok,
    machineBusy: (100 * (machine1.busy - machine0.busy)) / seconds,
    serverCpu: (100 * roundCpuSeconds) / seconds,
    // Replicas: the busiest main thread.
    mainThreadCpu: (100 * Math.max(...main1.map((c, i) => c - (main0[i] ?? NaN)))) / seconds,
    mainThreadCpuMsPerRequest: (1000 * main1.reduce((s, c, i) => s + c - (main0[i] ?? NaN), 0)) / merged.ok,
    loaderCpu: (100 * (loader.user + loader.system)) / 1e6 / seconds,
    postgresCpu,
    drainSeconds,
    drainServerCpu,
    drainPostgresCpu,
    peakRssMb: Math.max(...peaks.values()),
  };
}

function describeRound(side: string, round: Round): string {
  const { load } = round;
  const codes = Object.entries(load.statusCodes).map(([c, n]) => `${c}:${n}`).join(' ');
  const drainCpu = Number.isFinite(round.drainServerCpu)
    ? ` (service CPU ${f0(round.drainServerCpu)} %${round.drainPostgresCpu >= 5 ? `, postgres ${f0(round.drainPostgresCpu)} %` : ''})`
    : '';
  const drain = round.drainSeconds === null ? '' : ` drain ${f1(round.drainSeconds)} s${drainCpu}`;
  const postgres = round.postgresCpu >= 5 ? `  postgres CPU ${f0(round.postgresCpu)} %` : '';
  return `  ${side.padEnd(18)} ${f0(load.okPerSecond).padStart(6)} req/s  p50 ${f1(load.p50Ms)} ms  p99 ${f1(load.p99Ms)} ms  server CPU ${f0(round.serverCpu)} % (main thread ${f0(round.mainThreadCpu)} %)${postgres}  loader CPU ${f0(round.loaderCpu)} %${drain}  [${codes}${load.errors ? ` errors:${load.errors}` : ''}]`;
}

const endToEnd = (r: Round) => (r.drainSeconds === null ? NaN : r.load.ok / (r.load.seconds + r.drainSeconds));

// ---------------------------------------------------------------------------------------------
// Phases

/** The service against the baselines, alternating rounds, then a fixed offered rate. */
async function comparePhase(label: string, service: Child, extras: readonly Child[], baselines: readonly Child[], stream: WebhookStream): Promise<Record<string, unknown>> {
  const sides = [service, ...extras, ...baselines];
  log(`\n## ${label}: ${ROUNDS} rounds × ${DURATION} s per side, ${CONNECTIONS} connections, after ${WARMUP} s of warm-up each`);
  for (const side of sides) await measure([side], stream, { duration: WARMUP }, side === service);

  const rounds = new Map<Child, Round[]>(sides.map((side) => [side, []]));
  for (let r = 0; r < ROUNDS; r += 1) {
    log(`round ${r + 1}/${ROUNDS}`);
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const round = await measure([side], stream, { duration: DURATION }, side === service);
      rounds.get(side)?.push(round);
      log(describeRound(side.name, round));
    }
  }

  const peak = new Map(sides.map((side) => [side, readProc(side.pid)?.peakRssMb ?? NaN]));
  const expressSide = baselines.find((b) => b.name === 'baseline-express');
  const medianOf = (side: Child, pick: (r: Round) => number) => median((rounds.get(side) ?? []).map(pick));
  const baselineRate = expressSide ? medianOf(expressSide, (r) => r.load.okPerSecond) : NaN;
  log(`\n${label}: medians over ${ROUNDS} rounds (ratio: median against Express's median; per-round ratio: median of each round's ratio to Express in that round)`);
  const summary: Record<string, unknown> = {};
  table(
    ['side', 'req/s', 'ratio', 'per-round ratio', 'p50 ms', 'p99 ms', 'peak RSS MB', 'server CPU %', 'main thread CPU %', 'drain s', 'end-to-end /s'],
    sides.map((side) => {
      const rate = medianOf(side, (r) => r.load.okPerSecond);
      // Each round's rate against Express's in the same round: robust to the machine drifting between rounds.
      const expressRounds = expressSide ? (rounds.get(expressSide) ?? []) : [];
      const perRound = median((rounds.get(side) ?? []).map((r, i) => r.load.okPerSecond / (expressRounds[i]?.load.okPerSecond ?? NaN)));
      const figures = {
        reqPerSecond: rate,
        ratioToExpress: rate / baselineRate,
        perRoundRatioToExpress: perRound,
        p50Ms: medianOf(side, (r) => r.load.p50Ms),
        p99Ms: medianOf(side, (r) => r.load.p99Ms),
        peakRssMb: peak.get(side) ?? NaN,
        serverCpu: medianOf(side, (r) => r.serverCpu),
        mainThreadCpu: medianOf(side, (r) => r.mainThreadCpu),
        drainSeconds: side === service ? medianOf(side, (r) => r.drainSeconds ?? NaN) : NaN,
        endToEndPerSecond: side === service ? medianOf(side, endToEnd) : NaN,
        rounds: (rounds.get(side) ?? []).map((r) => ({ ...r.load, serverCpu: r.serverCpu, loaderCpu: r.loaderCpu, postgresCpu: r.postgresCpu, drainSeconds: r.drainSeconds })),
      };
      summary[side.name] = figures;
      return [side.name, f0(rate), f2(figures.ratioToExpress), f2(perRound), f1(figures.p50Ms), f1(figures.p99Ms), f0(figures.peakRssMb), f0(figures.serverCpu), f0(figures.mainThreadCpu), side === service ? f1(figures.drainSeconds) : '', side === service ? f0(figures.endToEndPerSecond) : ''];
    }),
  );

  if (expressSide) summary.cpuBudget = cpuBudget(label, sides, rounds, baselineRate);

  if (!args['no-rate']) {
    log(`\n${label}: ${RATE} webhooks/s offered for ${RATE_SECONDS} s`);
    const rateRows: string[][] = [];
    const rated: Record<string, unknown> = {};
    // CPU per webhook, not only %: at a fixed rate it shows what batching saves (docs/performance.md, "Light load").
    const cpuPerWebhook = (r: Round) => [f2(r.serverCpuMsPerRequest), f2(r.mainThreadCpuMsPerRequest)];
    const figures = (r: Round) => ({ ...r.load, drainSeconds: r.drainSeconds, serverCpu: r.serverCpu, cpuMsPerWebhook: r.serverCpuMsPerRequest, mainThreadCpuMsPerWebhook: r.mainThreadCpuMsPerRequest });
    for (const side of [service, ...(expressSide ? [expressSide] : [])]) {
      const bursty = await measure([side], stream, { duration: RATE_SECONDS, overallRate: RATE }, side === service);
      rated[side.name] = { autocannonOverallRate: figures(bursty) };
      const drained = (r: Round) => (r.drainSeconds === null ? '' : f1(r.drainSeconds));
      rateRows.push([side.name, 'autocannon overallRate', f0(bursty.load.okPerSecond), f1(bursty.load.p50Ms), f1(bursty.load.p99Ms), f1(bursty.load.maxMs), f0(bursty.serverCpu), ...cpuPerWebhook(bursty), drained(bursty)]);
      const steady = await measurePaced(side, stream, side === service);
      (rated[side.name] as Record<string, unknown>).paced = figures(steady);
      rateRows.push([side.name, 'steady (open loop)', f0(steady.load.okPerSecond), f1(steady.load.p50Ms), f1(steady.load.p99Ms), f1(steady.load.maxMs), f0(steady.serverCpu), ...cpuPerWebhook(steady), drained(steady)]);
    }
    table(['side', 'arrivals', 'answered/s', 'p50 ms', 'p99 ms', 'max ms', 'server CPU %', 'CPU ms/webhook, drain included', 'main thread ms/webhook, accepting', 'drain s after'], rateRows);
    summary.fixedRate = rated;
  }
  return summary;
}

/**
 * Whether the cores were the limit, from the same rounds. Each side's CPU per request, and the load generator's,
 * which shares the cores, give the rate at which every core would be busy: while accepting (the round's CPU), and
 * sustained (with the drain, so the background work the service deferred is counted too). A side can pass its
 * sustained ceiling only for a while, by leaving work behind in a backlog; it passes either ceiling for good only
 * by costing less per request. PostgreSQL's CPU counts only for the sides it backs.
 */
function cpuBudget(label: string, sides: readonly Child[], rounds: ReadonlyMap<Child, Round[]>, expressRate: number): Record<string, unknown> {
  const cores = cpus().length;
  const budget: Record<string, unknown> = {};
  log(`\n${label}: CPU per request (medians) and the rates at which ${cores} cores would be busy`);
  const rows = sides.map((side) => {
    const of = (pick: (r: Round) => number) => median((rounds.get(side) ?? []).map(pick));
    const database = (pick: (r: Round) => number) => (side.usesPostgres ? of(pick) : 0);
    const accepting = of((r) => r.roundCpuMsPerRequest) + database((r) => r.postgresRoundCpuMsPerRequest);
    const sustained = of((r) => r.serverCpuMsPerRequest) + database((r) => r.postgresCpuMsPerRequest);
    const loader = of((r) => r.loaderCpuMsPerRequest);
    const ceiling = (msPerRequest: number) => (cores * 1000) / (msPerRequest + loader);
    budget[side.name] = {
      acceptingCpuMsPerRequest: accepting,
      sustainedCpuMsPerRequest: sustained,
      postgresIncluded: Boolean(side.usesPostgres),
      loaderCpuMsPerRequest: loader,
      machineBusyPercent: of((r) => r.machineBusy),
      acceptingCeilingRatioToExpress: ceiling(accepting) / expressRate,
      sustainedCeilingRatioToExpress: ceiling(sustained) / expressRate,
    };
    return [side.name + (side.usesPostgres ? ' (+ PostgreSQL)' : ''), f2(accepting), f2(sustained), f2(loader), f0(of((r) => r.machineBusy)), f2(ceiling(accepting) / expressRate), f2(ceiling(sustained) / expressRate)];
  });
  table(['side', 'CPU ms/req accepting', 'CPU ms/req with its drain', 'load generator ms/req', `machine busy % (of ${cores * 100})`, 'ceiling accepting ÷ Express', 'ceiling sustained ÷ Express'], rows);
  const service = sides[0];
  const serviceLoader = service ? median((rounds.get(service) ?? []).map((r) => r.loaderCpuMsPerRequest)) : NaN;
  // 0.8 × Express's rate, with the load generator's share of the cores taken first.
  const allowed = (cores * 1000) / (0.8 * expressRate) - serviceLoader;
  log(`To sustain 0.8× Express (${f0(0.8 * expressRate)}/s) on ${cores} cores, ${service?.name ?? 'the service'}${service?.usesPostgres ? ' and PostgreSQL' : ''} may spend at most ${f2(allowed)} ms of CPU per webhook, its processing included (${serviceLoader.toFixed(2)} ms go to the load generator).`);
  budget.allowedServiceCpuMsAt08 = allowed;
  const requestPath = sides.find((side) => side.name === REQUEST_PATH_SIDE);
  if (service && requestPath) {
    // Whatever the store, a webhook costs at least what the request path costs without one: what the
    // allowance leaves after it is all that storing and processing (the hand-off, conversion and ledger
    // included) may cost. The request-path side is never drained, so its two CPU figures are the same.
    const cpuOf = (side: Child) => budget[side.name] as { sustainedCpuMsPerRequest: number };
    const pathAlone = cpuOf(requestPath).sustainedCpuMsPerRequest;
    const storingAndProcessing = cpuOf(service).sustainedCpuMsPerRequest - pathAlone;
    budget.storingAndProcessingAllowedCpuMsPerRequest = allowed - pathAlone;
    budget.storingAndProcessingCpuMsPerRequest = storingAndProcessing;
    log(
      `The request path alone (${REQUEST_PATH_SIDE}: signature checked, parsed, nothing stored) used ${f2(pathAlone)} ms per webhook: ` +
        `that leaves ${f2(allowed - pathAlone)} ms for storing and processing, which took ${f2(storingAndProcessing)} ms in ${service.name}.`,
    );
  }
  return budget;
}

async function measurePaced(side: Child, stream: WebhookStream, drain: boolean): Promise<Round> {
  const before = readProc(side.pid);
  const cpu0 = before?.cpuSeconds ?? NaN;
  const main0 = before?.mainThreadCpuSeconds ?? NaN;
  const loader0 = process.cpuUsage();
  const started = performance.now();
  const load = await runPaced({ url: side.url, stream, rate: RATE, seconds: RATE_SECONDS });
  const seconds = (performance.now() - started) / 1000;
  const loader = process.cpuUsage(loader0);
  const after = readProc(side.pid);
  const cpu1 = after?.cpuSeconds ?? NaN;
  const main1 = after?.mainThreadCpuSeconds ?? NaN;
  const drainSeconds = drain ? await waitDrained([side.url], DRAIN_TIMEOUT_MS) : null;
  const afterDrain = readProc(side.pid);
  const cpu2 = afterDrain?.cpuSeconds ?? NaN;
  return {
    load,
    serverCpu: (100 * (cpu1 - cpu0)) / seconds,
    mainThreadCpu: (100 * (main1 - main0)) / seconds,
    mainThreadCpuMsPerRequest: (1000 * (main1 - main0)) / load.ok,
    loaderCpu: (100 * (loader.user + loader.system)) / 1e6 / seconds,
    postgresCpu: NaN,
    drainSeconds,
    drainServerCpu: NaN,
    drainPostgresCpu: NaN,
    peakRssMb: afterDrain?.rssMb ?? NaN,
    roundCpuMsPerRequest: (1000 * (cpu1 - cpu0)) / load.ok,
    serverCpuMsPerRequest: (1000 * (cpu2 - cpu0)) / load.ok,
    postgresRoundCpuMsPerRequest: NaN,
    postgresCpuMsPerRequest: NaN,
    loaderCpuMsPerRequest: (1000 * (loader.user + loader.system)) / 1e6 / load.ok,
    machineBusy: NaN,
  };
}

/** Throughput with one replica against two on the same database, same total connections. */
async function replicaPhase(first: Child, second: Child, stream: WebhookStream): Promise<Record<string, unknown>> {
  log(`\n## PostgreSQL replicas: 1 replica (${CONNECTIONS} connections) against 2 replicas (${CONNECTIONS / 2} + ${CONNECTIONS / 2}, two autocannon instances), ${ROUNDS} rounds × ${DURATION} s`);
  await measure([first, second], stream, { duration: WARMUP }, true);
  const one: Round[] = [];
  const two: Round[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    log(`round ${r + 1}/${ROUNDS}`);
    const order = r % 2 === 0 ? (['one', 'two'] as const) : (['two', 'one'] as const);
    for (const which of order) {
      const round = await measure(which === 'one' ? [first] : [first, second], stream, { duration: DURATION }, true);
      (which === 'one' ? one : two).push(round);
      log(describeRound(which === 'one' ? '1 replica' : '2 replicas', round));
    }
  }
  const rows = [
    ['1 replica', one],
    ['2 replicas', two],
  ] as const;
  const oneRate = median(one.map((r) => r.load.okPerSecond));
  const oneEnd = median(one.map(endToEnd));
  log('\nPostgreSQL replicas: medians');
  table(
    ['replicas', 'req/s', 'scaling', 'p50 ms', 'p99 ms', 'service CPU % (sum)', 'postgres CPU %', 'drain s', 'drain CPU % service/postgres', 'end-to-end /s', 'end-to-end scaling'],
    rows.map(([name, rs]) => {
      const rate = median(rs.map((r) => r.load.okPerSecond));
      const end = median(rs.map(endToEnd));
      return [name, f0(rate), f2(rate / oneRate), f1(median(rs.map((r) => r.load.p50Ms))), f1(median(rs.map((r) => r.load.p99Ms))), f0(median(rs.map((r) => r.serverCpu))), f0(median(rs.map((r) => r.postgresCpu))), f1(median(rs.map((r) => r.drainSeconds ?? NaN))), `${f0(median(rs.map((r) => r.drainServerCpu)))} / ${f0(median(rs.map((r) => r.drainPostgresCpu)))}`, f0(end), f2(end / oneEnd)];
    }),
  );
  return {
    one: { reqPerSecond: oneRate, endToEndPerSecond: oneEnd, rounds: one.map((r) => ({ ...r.load, drainSeconds: r.drainSeconds, serverCpu: r.serverCpu, postgresCpu: r.postgresCpu, drainServerCpu: r.drainServerCpu, drainPostgresCpu: r.drainPostgresCpu })) },
    two: {
      reqPerSecond: median(two.map((r) => r.load.okPerSecond)),
      endToEndPerSecond: median(two.map(endToEnd)),
      rounds: two.map((r) => ({ ...r.load, drainSeconds: r.drainSeconds, serverCpu: r.serverCpu, postgresCpu: r.postgresCpu, drainServerCpu: r.drainServerCpu, drainPostgresCpu: r.drainPostgresCpu })),
    },
  };
}

async function postgresDatabase(): Promise<TestDatabase | null> {
  try {
    const db = await createTestDatabase('cutover_bench');
    databases.add(db);
    return db;
  } catch (error) {
    log(`\nPostgreSQL phase skipped: ${String(error)}`);
    return null;
  }
}

/** A diagnostic variant of the service on a data folder of its own (and a database of its own, if given). */
function startDiagnostic(name: string, variant: DiagnosticVariant, db?: TestDatabase): Promise<Child> {
  const dataDir = tempDir(`cutover-bench-${name}-`);
  return track(startService({ dataDir, ...(db ? { databaseUrl: db.url } : {}), secret: BENCH_SECRET, name, ...diagnostic(variant) }));
}

async function comparisons(): Promise<void> {
  const stream = createWebhookStream();
  const baselines = args['replicas-only'] ? [] : [await track(startBaseline('express')), ...(args['no-http'] ? [] : [await track(startBaseline('http'))])];

  if (STORE !== 'postgres' && !args['replicas-only']) {
    const service = await track(startService({ dataDir: tempDir('cutover-bench-'), secret: BENCH_SECRET, name: 'service-sqlite' }));
    const extras: Child[] = [];
    if (!args['no-ingest-only']) extras.push(await startDiagnostic('ingest-only-sqlite', 'ingest-only'));
    // Nothing is stored, so the request path is the same whatever the store: the embedded phase runs it for both.
    if (!args['no-request-path']) extras.push(await startDiagnostic(REQUEST_PATH_SIDE, 'request-path'));
    report.embedded = await comparePhase('Embedded store (SQLite)', service, extras, baselines, stream);
    for (const child of [service, ...extras]) await stop(child);
  }
  if (STORE !== 'embedded') {
    const db = await postgresDatabase();
    if (db) {
      const first = await track(startService({ dataDir: tempDir('cutover-bench-pg-'), databaseUrl: db.url, secret: BENCH_SECRET, name: 'service-postgres' }));
      const ingestDb = args['no-ingest-only'] || args['replicas-only'] ? null : await postgresDatabase();
      const extras = ingestDb ? [await startDiagnostic('ingest-only-postgres', 'ingest-only', ingestDb)] : [];
      if (!args['replicas-only']) report.postgres = await comparePhase('PostgreSQL store', first, extras, baselines, stream);
      for (const child of extras) await stop(child);
      if (ingestDb) {
        await ingestDb.drop();
        databases.delete(ingestDb);
      }
      if (!args['no-replicas']) {
        for (const baseline of baselines) await stop(baseline);
        const second = await track(startService({ dataDir: tempDir('cutover-bench-pg2-'), databaseUrl: db.url, secret: BENCH_SECRET, name: 'service-postgres-2' }));
        report.replicas = await replicaPhase(first, second, stream);
        await stop(second);
      }
      await stop(first);
    }
  }
}

/** N webhooks through one service, RSS sampled every few seconds while it takes them and drains. */
async function sustained(total: number): Promise<void> {
  const db = STORE === 'postgres' ? await postgresDatabase() : null;
  if (STORE === 'postgres' && !db) return;
  // --ingest-only: the diagnostic variant with no background work (nothing drains: the drain is skipped).
  const ingestOnly = args['ingest-only'];
  const service = await track(
    startService({
      dataDir: tempDir('cutover-bench-soak-'),
      ...(db ? { databaseUrl: db.url } : {}),
      secret: BENCH_SECRET,
      ...(ingestOnly ? diagnostic('ingest-only') : {}),
      nodeFlags: (args['service-node-flags'] ?? '').split(' ').filter(Boolean),
    }),
  );
  const stream = createWebhookStream();
  const rate = args['sustained-rate'] ? Number(args['sustained-rate']) : undefined;
  const everyMs = Number(args['sample-seconds']) * 1000;
  log(`## Sustained${ingestOnly ? ' (ingest-only variant)' : ''}: ${total} webhooks, ${CONNECTIONS} connections${rate ? `, ${rate}/s offered` : ', as fast as accepted'}, ${db ? 'PostgreSQL' : 'embedded store'}; RSS every ${everyMs / 1000} s${args['service-node-flags'] ? `; service node flags: ${args['service-node-flags']}` : ''}`);
  const samples: { seconds: number; accepted: number; rssMb: number; peakRssMb: number; heapUsedMb: number; inbox: number; deliveries: number; phase: string }[] = [];
  const started = performance.now();
  let accepted = 0;
  let phase = 'load';
  log('| s | phase | accepted | RSS MB | peak MB | V8 heap used MB | inbox backlog | outbox backlog |');
  log('|--:|:--|--:|--:|--:|--:|--:|--:|');
  const sample = async () => {
    const proc = readProc(service.pid);
    const b = await backlog(service.url).catch(() => ({ inbox: NaN, deliveries: NaN, held: NaN, heapUsedMb: NaN }));
    const row = { seconds: (performance.now() - started) / 1000, accepted, rssMb: proc?.rssMb ?? NaN, peakRssMb: proc?.peakRssMb ?? NaN, heapUsedMb: b.heapUsedMb, inbox: b.inbox, deliveries: b.deliveries, phase };
    samples.push(row);
    log(`| ${f0(row.seconds)} | ${phase} | ${row.accepted} | ${f0(row.rssMb)} | ${f0(row.peakRssMb)} | ${f0(row.heapUsedMb)} | ${f0(row.inbox)} | ${f0(row.deliveries)} |`);
  };
  const timer = setInterval(() => void sample(), everyMs);
  const load = await runAutocannon({ url: service.url, stream, connections: CONNECTIONS, amount: total, ...(rate ? { overallRate: rate } : {}), onProgress: (ok) => (accepted = ok) });
  accepted = load.ok;
  const loadSeconds = (performance.now() - started) / 1000;
  phase = 'drain';
  await sample();
  const drainSeconds = ingestOnly ? 0 : await waitDrained([service.url], Math.max(DRAIN_TIMEOUT_MS, 3_600_000));
  phase = 'idle';
  await sample();
  clearInterval(timer);

  const during = samples.filter((s) => s.phase === 'load');
  const half = during.filter((s) => s.accepted >= total / 2);
  const firstHalf = during.filter((s) => s.accepted > total / 10 && s.accepted < total / 2);
  const last = samples[samples.length - 1];
  log(`\nsustained: ${load.ok} accepted in ${f1(loadSeconds)} s (${f0(load.ok / loadSeconds)}/s, p50 ${f1(load.p50Ms)} ms, p99 ${f1(load.p99Ms)} ms, non-2xx ${load.non2xx}, errors ${load.errors}); drained ${drainSeconds === null ? 'NOT within the timeout' : `${f1(drainSeconds)} s later`}`);
  log(`RSS: max ${f0(Math.max(...firstHalf.map((s) => s.rssMb)))} MB between 10 % and 50 % of the webhooks, max ${f0(Math.max(...half.map((s) => s.rssMb)))} MB over the second half, ${f0(last?.rssMb ?? NaN)} MB after the drain; peak (VmHWM) ${f0(last?.peakRssMb ?? NaN)} MB (issue target: < 250 MB after a million)`);
  report.sustained = { total, rate, load, loadSeconds, drainSeconds, samples };
  await stop(service);
}

interface ProbeReport {
  seconds: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  sqlite: { sql: string; count: number; ms: number }[];
  postgres: { sql: string; count: number; ms: number }[];
}

/** Asks the probe (scripts/bench/probe.ts) in the child for what it saw since it was last asked. */
async function probe(child: Child, file: string): Promise<ProbeReport | null> {
  rmSync(file, { force: true });
  process.kill(child.pid, 'SIGUSR2');
  for (let i = 0; i < 100; i += 1) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeReport;
    } catch {
      // not written yet
    }
  }
  return null;
}

function describeProbe(label: string, report: ProbeReport | null, webhooks: number): void {
  if (!report) {
    log(`${label}: no probe report`);
    return;
  }
  const wall = report.seconds * 1000;
  const { p50, p99, max } = report.eventLoopDelayMs;
  log(`\n${label}: ${f1(report.seconds)} s, ${webhooks} webhooks; event-loop delay p50 ${f1(p50)} ms, p99 ${f1(p99)} ms, max ${f1(max)} ms`);
  for (const [store, rows] of [['SQLite (synchronous: main-thread time)', report.sqlite], ['PostgreSQL (round trips, overlapping)', report.postgres]] as const) {
    if (rows.length === 0) continue;
    const total = rows.reduce((s, r) => s + r.ms, 0);
    const count = rows.reduce((s, r) => s + r.count, 0);
    log(`${store}: ${count} statements (${f2(count / webhooks)} per webhook), ${f0(total)} ms = ${f0((100 * total) / wall)} % of the wall time`);
    table(
      ['statement', 'count', 'per webhook', 'ms', '% of wall', 'ms each'],
      rows.slice(0, 16).map((r) => [r.sql, String(r.count), f2(r.count / webhooks), f0(r.ms), f1((100 * r.ms) / wall), f2(r.ms / r.count)]),
    );
  }
}

/** The service under load with V8's sampling profiler and the SQL probe, then where its time went. */
async function profile(seconds: number): Promise<void> {
  const db = STORE === 'postgres' ? await postgresDatabase() : null;
  const profileDir = mkdtempSync(join(tmpdir(), 'cutover-profile-'));
  const probeFile = join(profileDir, 'probe.json');
  const service = await track(
    startService({
      dataDir: tempDir('cutover-bench-prof-'),
      ...(db ? { databaseUrl: db.url } : {}),
      secret: BENCH_SECRET,
      nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
      preload: ['./scripts/bench/probe.ts'],
      env: { BENCH_PROBE_FILE: probeFile },
    }),
  );
  const stream = createWebhookStream();
  log(`## Profile: ${seconds} s of load (${CONNECTIONS} connections${args['sustained-rate'] ? `, ${args['sustained-rate']}/s offered` : ''}) on the ${db ? 'PostgreSQL' : 'embedded'} store, then the drain`);
  await measure([service], stream, { duration: WARMUP }, true);
  await probe(service, probeFile);
  const round = await measure([service], stream, { duration: seconds, ...(args['sustained-rate'] ? { overallRate: Number(args['sustained-rate']) } : {}) }, false);
  const duringLoad = await probe(service, probeFile);
  const drainSeconds = await waitDrained([service.url], DRAIN_TIMEOUT_MS);
  const duringDrain = await probe(service, probeFile);
  log(describeRound('service', { ...round, drainSeconds }));
  describeProbe('during the load', duringLoad, round.load.ok);
  describeProbe('during the drain that followed', duringDrain, round.load.ok);
  await stop(service);
  // One profile per thread, named CPU.<date>.<time>.<pid>.<thread id>.<seq>: thread 0 answers HTTP,
  // thread 1 is the background thread of the embedded store.
  const files = readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile')).sort();
  if (files.length === 0) throw new Error(`no .cpuprofile in ${profileDir}`);
  for (const file of files) {
    const thread = file.split('.').at(-3) === '0' ? 'the HTTP (main) thread' : `thread ${file.split('.').at(-3)} (background)`;
    log(`\n### ${thread}\nprofile kept in ${join(profileDir, file)} (open it in Chrome DevTools or summarise it with scripts/bench/profile-summary.ts)\n`);
    log(summariseProfileFile(join(profileDir, file), 30));
  }
}

async function main(): Promise<void> {
  checkSignerAgainstLibrary();
  compileForBench();
  log(`# codat-cutover bench — ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`);
  if (args.profile) await profile(Number(args.profile));
  else if (args.sustained) await sustained(Number(args.sustained));
  else await comparisons();
  if (args.json) {
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`\nfigures written to ${args.json}`);
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
