/**
 * `npm run bench`: what a deployment is sized by. For each side (the service on its embedded store and on
 * PostgreSQL, a durable relay on each store, a naive durable consumer, an unstored relay that delivers, bare
 * Express) the webhooks accepted per second and the time until the last occurrence reached a downstream stub, CPU
 * per webhook, peak RSS and, on PostgreSQL, commits and round trips (statements) per webhook; medians of repeated
 * runs, ratios against the baselines of the same run. It prints figures and never asserts on time: the machine may
 * be shared and noisy, read medians and ratios.
 *
 *   npm run bench -- --quick                   # one short run of every side
 *   npm run bench -- --runs 5 --occurrences 30000 --sides embedded,express
 *   npm run bench -- --sides postgres,replicas # one replica against two on one database
 *   npm run bench -- --help
 *
 * Roles: bench/arguments.ts (the command line), bench/sides.ts (what is compared and how it is started),
 * bench/measure.ts (one run of one side), bench/load.ts (the load), bench/report.ts (what is printed).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArguments, type SideName } from './bench/arguments.js';
import { measureRun, type RunFigures } from './bench/measure.js';
import { compileForBench, startDownstreamStub, type Child } from './bench/processes.js';
import { describeRun, describeStatementStats, log, summarise } from './bench/report.js';
import { discardAllSides, startSide } from './bench/sides.js';
import { checkSignerAgainstLibrary, createWebhookStream } from './bench/webhooks.js';

const settings = parseBenchArguments(process.argv.slice(2));
let stub: Child | null = null;

async function cleanUp(): Promise<void> {
  await discardAllSides();
  await stub?.stop(5_000);
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping every side and dropping its database');
  void cleanUp().finally(() => process.exit(130));
});

async function main(): Promise<void> {
  checkSignerAgainstLibrary();
  compileForBench();
  const started = performance.now();
  log(`# codat-cutover bench: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}`);
  stub = await startDownstreamStub();
  const cpuProfDir = settings.cpuProf ? mkdtempSync(join(tmpdir(), 'cutover-bench-profile-')) : undefined;
  const stream = createWebhookStream();
  const results = new Map<SideName, RunFigures[]>(settings.sides.map((side) => [side, []]));
  const said = new Set<string>();
  for (let run = 1; run <= settings.runs; run += 1) {
    log(`\nrun ${run} of ${settings.runs}`);
    // Alternate the order, so that a drift of the machine during a run does not favour one side.
    const order = run % 2 === 1 ? settings.sides : [...settings.sides].reverse();
    for (const name of order) {
      const side = await startSide(name, { downstreamUrl: `${stub.url}/deliveries`, cpuProfDir });
      try {
        const figures = await measureRun(side, stream, stub, settings);
        results.get(name)?.push(figures);
        log(describeRun(name, run, figures));
        for (const line of describeStatementStats(figures.statementStats, said)) log(line);
      } finally {
        await side.discard();
      }
    }
  }
  log('');
  for (const line of summarise(results, settings)) log(line);
  log(`\n${settings.sides.length} sides × ${settings.runs} run(s) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (cpuProfDir) log(`CPU profiles of the service sides (open them in Chrome DevTools): ${cpuProfDir}`);
  if (settings.json) {
    const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version };
    writeFileSync(settings.json, `${JSON.stringify({ machine, settings, results: Object.fromEntries(results) }, null, 2)}\n`);
    log(`figures written to ${settings.json}`);
  }
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanUp());
