/**
 * `npm run demo`: a whole cutover in about half a minute, on the embedded defaults (SQLite in a temporary folder, the
 * JSON-lines downstream), built by the same composition root as `npm start` (src/services.ts).
 *
 * What is different from production, and why:
 * - short windows (6 s correlation window, 2 s grace) and a 1 h observation period;
 * - the service's clock is a shiftable one (src/domain/shiftable-clock.ts): between phases the demo moves it on by
 *   hours, so that the observation period rolls over as it would in a real cutover that takes days, and once a
 *   phase's traffic is settled and delivered it moves it past the correlation window instead of waiting it out;
 * - the flags come from a small flag server in this process that speaks Unleash's client API
 *   (scripts/demo/flag-server.ts), so that each flip reaches the service by polling, as a change in Unleash would.
 * The traffic is signed and sent over HTTP like Codat's, to the service's own endpoints.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretFor, sendWebhook } from '../src/cli/webhook-sender.js';
import { createServices } from '../src/services.js';
import { loadConfig } from '../src/config.js';
import type { Logger } from '../src/domain/ports.js';
import { createShiftableClock } from '../src/domain/shiftable-clock.js';
import { createHttpServer } from '../src/http/http-server.js';
import type { CutoverReport } from '../src/readiness/cutover-page.js';
import { startFlagServer } from './demo/flag-server.js';
import { occurrence, type Copy } from './demo/traffic.js';

const HOUR = 3600_000;
const started = Date.now();
const say = (text = '') => process.stdout.write(`${text}\n`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(2)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => say(`    (service warning: ${message})`),
  error: (message, fields) => say(`    (service error: ${message} ${JSON.stringify(fields ?? {})})`),
  child: () => logger,
};

const dir = mkdtempSync(join(tmpdir(), 'codat-cutover-demo-'));
const flags = await startFlagServer(join(import.meta.dirname, '..', 'flags', 'unleash-export.json'));
const clock = createShiftableClock();
const config = loadConfig({
  DATA_DIR: dir,
  UNLEASH_URL: flags.url,
  UNLEASH_API_TOKEN: 'demo:development.not-a-secret',
  UNLEASH_REFRESH_MS: '250',
  CORRELATION_WINDOW_SECONDS: '6',
  CUTOVER_GRACE_SECONDS: '2',
  READINESS_MIN_OCCURRENCES: '60',
  READINESS_OBSERVATION_HOURS: '1',
  LOG_LEVEL: 'warn',
});
const service = await createServices(config, { logger, clock });
const server = createHttpServer(service.app).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
service.start();

let sent = 0;
let duplicates = 0;
let occurrences = 0;

async function send(copies: readonly Copy[]): Promise<void> {
  const queue = [...copies];
  const worker = async () => {
    for (let copy = queue.shift(); copy; copy = queue.shift()) {
      const secret = secretFor(copy.channel, { env: {}, dataDir: dir });
      const result = await sendWebhook(url, copy.channel, copy.body, secret, copy.webhookId, new Date(clock.now()));
      if (result.status >= 300) throw new Error(`the service answered ${result.status}: ${result.answer}`);
      sent += 1;
      if (result.answer.includes('duplicate')) duplicates += 1;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function report(): Promise<CutoverReport> {
  const response = await fetch(`${url}/cutover`, { headers: { accept: 'application/json' } });
  return (await response.json()) as CutoverReport;
}

const sum = (r: Readonly<Record<string, number>> | undefined) => Object.values(r ?? {}).reduce((a, b) => a + b, 0);

/** Polls the report until `done` says so, or fails after `timeoutMs`. */
async function until(done: (r: CutoverReport) => boolean, what: string, timeoutMs = 30_000): Promise<CutoverReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(100);
    const r = await report();
    if (done(r)) return r;
    if (Date.now() > deadline) throw new Error(`the service did not ${what} within ${timeoutMs / 1000} s`);
  }
}

/**
 * Until every window has closed and nothing waits in the store, so the verdict has seen everything sent. Once what
 * was sent is settled and delivered, the clock skips the correlation window instead of waiting it out: the next
 * monitor pass closes the windows.
 */
async function settled(): Promise<CutoverReport> {
  await until((r) => sum(r.details?.held) + (r.backlog?.inboxPending ?? 0) + (r.backlog?.deliveriesPending ?? 0) === 0, 'settle and deliver what was sent');
  clock.advance(config.CORRELATION_WINDOW_SECONDS * 1000);
  await until((r) => sum(r.details?.pending) + sum(r.details?.held) === 0, 'close the windows');
  // A report reads the verdict before the details: one taken while the monitor pass closed the last windows can
  // show them closed beside the verdict from before. That pass recomputes the verdict right after closing them.
  await sleep(250);
  return report();
}

async function flip(state: Parameters<typeof flags.set>[0], what: string): Promise<void> {
  flags.set(state);
  await until(({ toggle }) => (state.newEventTypes === undefined || toggle.enabled === state.newEventTypes)
    && (state.rolloutPercent === undefined || !toggle.enabled || toggle.rolloutPercent === state.rolloutPercent)
    && (state.legacyConsumer === undefined || (toggle.legacyConsumer !== false) === state.legacyConsumer), `see the flip (${what})`, 10_000);
  say(`  [${elapsed()}] flag flipped: ${what} — the service read it from Unleash within a poll`);
}

function show(r: CutoverReport): void {
  const { readiness: v } = r;
  say(`  [${elapsed()}] verdict: ${v.verdict.toUpperCase()}  (coverage ${v.overall.coverage === null ? 'n/a' : `${(v.overall.coverage * 100).toFixed(2)}%`}, both/legacy only/new only ${v.overall.both}/${v.overall.legacyOnly}/${v.overall.eventsOnly}, mismatches ${v.overall.mismatches}, rescued ${v.overall.rescued})`);
  for (const reason of v.reasons.filter((x) => x.level === 'blocker').slice(0, 3)) say(`      blocker: ${reason.message}`);
  say(`      next: ${v.nextStep}`);
}

/** `count` occurrences; `lose` of them never arrive as new events, `late` have their legacy copy sent after the rest. */
async function traffic(count: number, options: { lose?: number; lateLegacy?: number; eventsFirst?: boolean; redeliver?: number; whileLate?: () => Promise<void> } = {}): Promise<void> {
  const now = clock.now();
  const items = Array.from({ length: count }, (_, i) => occurrence(occurrences + i, now));
  occurrences += count;
  const lose = options.lose ?? 0;
  const late = options.lateLegacy ?? 0;
  const first: Copy[] = [];
  const later: Copy[] = [];
  items.forEach((o, i) => {
    const copies = i < lose ? [o.legacy] : options.eventsFirst ? [o.events, o.legacy] : [o.legacy, o.events];
    if (i >= lose && i < lose + late) {
      first.push(o.events);
      later.push(o.legacy);
      return;
    }
    first.push(...copies);
  });
  // Codat redelivers some copies (same webhook-id): each is answered "duplicate" and changes nothing.
  const again = first.slice(0, options.redeliver ?? 0);
  await send(first);
  await send(again);
  if (later.length > 0) {
    await options.whileLate?.();
    // Later than the grace period: the new-event copy is delivered instead (rescued), the late one pairs with it.
    // Sent once the grace period is over and no copy is held any more (each held one rescued), not after a fixed
    // margin that a slow settle pass could outlast.
    await sleep(config.CUTOVER_GRACE_SECONDS * 1000);
    await until((r) => sum(r.details?.held) + (r.backlog?.inboxPending ?? 0) === 0, 'rescue the held copies');
    await send(later);
  }
}

try {
  say(`codat-cutover demo — service at ${url}, store and downstream in ${dir}`);
  say('Windows are short (6 s correlation window, 2 s grace, 1 h observation); the clock skips hours between phases,');
  say('and past each window once its traffic is settled.\n');

  say('1. Expand: both consumers run, codat-new-event-types is off (legacy primary, new events are the shadow).');
  say('   120 occurrences on both channels; Codat loses 3 new-event copies, 6 legacy copies come after the grace period,');
  say('   12 copies are redelivered.');
  await traffic(120, {
    lose: 3,
    lateLegacy: 6,
    redeliver: 12,
    async whileLate() {
      await sleep(300);
      const during = await report();
      say(`  [${elapsed()}] while the windows are open: ${sum(during.details?.pending)} occurrence(s) pending, ${sum(during.details?.held)} held for their legacy copy — not judged yet`);
    },
  });
  show(await settled());

  clock.advance(2 * HOUR);
  say('\n2. Validate, two hours later (the missing subscription was fixed): 150 occurrences, every one on both channels.');
  await traffic(150, { redeliver: 10 });
  show(await settled());

  say('\n3. Gradual flip: codat-new-event-types on for 30% of companies (flexibleRollout on companyId), then for all.');
  await flip({ newEventTypes: true, rolloutPercent: 30 }, 'codat-new-event-types on at 30%');
  await traffic(90, { lateLegacy: 4 });
  show(await settled());
  await flip({ rolloutPercent: 100 }, 'codat-new-event-types at 100%');
  await traffic(90, { eventsFirst: true, redeliver: 6 });
  show(await settled());

  clock.advance(2 * HOUR);
  say('\n4. Flipped, two hours later: the new events carry everything; legacy copies still arrive and are only recorded.');
  await traffic(100, { eventsFirst: true, redeliver: 8 });
  const ready = await settled();
  show(ready);
  if (ready.readiness.verdict !== 'ready-to-contract') throw new Error(`expected ready-to-contract, got ${ready.readiness.verdict}`);

  say('\n5. Contract: codat-legacy-consumer off. Legacy webhooks are still stored and acknowledged, no longer delivered.');
  await flip({ legacyConsumer: false }, 'codat-legacy-consumer off');
  await traffic(40, { eventsFirst: true });
  const contracted = await settled();
  show(contracted);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const contractedCopies = metrics.split('\n').filter((l) => l.startsWith('codat_cutover_legacy_contracted_total')).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  const consumerGauge = metrics.split('\n').find((l) => l.startsWith('codat_cutover_legacy_consumer_enabled'));

  const lines = readFileSync(join(dir, 'downstream.jsonl'), 'utf8').trim().split('\n');
  const ids = new Set(lines.map((line) => (JSON.parse(line) as { id: string }).id));
  say('\nReady to contract — and contracted. The evidence:');
  say(`  - ${occurrences} occurrences, ${sent} webhooks sent (${duplicates} redeliveries answered "duplicate"): the downstream got ${lines.length} events, ${ids.size} distinct — each occurrence exactly once, across the flip and the contract`);
  say(`  - before the contract: coverage ${((ready.readiness.overall.coverage ?? 0) * 100).toFixed(0)}%, ${ready.readiness.overall.mismatches} mismatches, no delivery from the legacy channel as primary, nothing rescued from it, no legacy-only type in use`);
  say(`  - after it: ${contractedCopies} legacy copies stored and acknowledged but not delivered (codat_cutover_legacy_contracted_total), ${consumerGauge ?? ''}`);
  say(`  - verdict now: ${contracted.readiness.verdict}; turning codat-legacy-consumer back on undoes it`);
  say(`\nDone in ${elapsed().trim()}. The service stops here; its store and downstream.jsonl stay in ${dir}.`);
} finally {
  server.close();
  await service.stop();
  await flags.close();
}
