/**
 * The real service process against a store that fails under it: a PostgreSQL of the test's own
 * (test/integration/support/private-postgres.ts) whose backends are terminated, which is restarted
 * during traffic, which is down at start-up and which is frozen (SIGSTOP); and the embedded SQLite on
 * a small tmpfs that fills up. Under each: no process exits, every request is answered within
 * Codat's 15 s (2xx or 503, which Codat retries), /readyz tells the truth, and every webhook that was
 * acknowledged is delivered once the store is back.
 *
 * The full disk is a real one (a tmpfs mounted for the test, which needs root: CI runs as root) rather
 * than SQLite's max_page_count: that pragma is per connection, so the service would need a setting that
 * exists only for the test, and it caps the database file but not the WAL, which is where a full disk
 * first bites.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOccurrence, seededRandom, type GeneratedOccurrence, type WireCopy } from '../../tools/occurrence-generator.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { startDownstreamRecorder, waitFor } from './support/downstream-recorder.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

/** Codat's limit: an answer later than this is no answer. */
const CODAT_TIMEOUT_MS = 15_000;

type Recorder = Awaited<ReturnType<typeof startDownstreamRecorder>>;

interface Answer {
  readonly status: number | 'no-answer';
  readonly code: string | null;
  readonly elapsedMs: number;
}

async function send(service: ServiceProcess, copy: WireCopy): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${service.url}/webhooks/codat/${copy.channel}`, {
      method: 'POST',
      headers: signedHeaders(copy.body, { id: copy.webhookId }),
      body: copy.body,
      signal: AbortSignal.timeout(CODAT_TIMEOUT_MS + 5000),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code ?? null, elapsedMs: Date.now() - started };
  } catch {
    return { status: 'no-answer', code: null, elapsedMs: Date.now() - started };
  }
}

interface Readyz {
  readonly status: number;
  readonly body: { status: string; store: string; storeError: string | null };
  readonly elapsedMs: number;
}

async function readyz(service: ServiceProcess): Promise<Readyz> {
  const started = Date.now();
  const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(CODAT_TIMEOUT_MS + 5000) });
  return { status: response.status, body: (await response.json()) as Readyz['body'], elapsedMs: Date.now() - started };
}

function occurrences(seed: number, count: number): GeneratedOccurrence[] {
  const random = seededRandom(seed);
  const found: GeneratedOccurrence[] = [];
  while (found.length < count) {
    const occurrence = generateOccurrence({ random, oneSidedShare: 0.1, redeliveryShare: 0 });
    // New-only types stay shadow while the legacy channel is primary: nothing to deliver.
    if (occurrence.kind !== 'events-only') found.push(occurrence);
  }
  return found;
}

const keyOf = (o: GeneratedOccurrence) => `${o.companyId}|${o.domainType}`;

/** Every occurrence delivered, each under one Idempotency-Key. */
async function expectAllDelivered(recorder: Recorder, expected: readonly GeneratedOccurrence[], what: string): Promise<void> {
  const delivered = () => new Set(recorder.received.map((r) => `${String(r.body.companyId)}|${String(r.body.type)}`));
  await waitFor(() => expected.every((o) => delivered().has(keyOf(o))), 90_000, what);
  const keys = new Map<string, Set<string>>();
  for (const r of recorder.received) {
    const occurrence = `${String(r.body.companyId)}|${String(r.body.type)}`;
    keys.set(occurrence, (keys.get(occurrence) ?? new Set()).add(r.idempotencyKey));
  }
  expect([...keys.values()].filter((k) => k.size !== 1)).toEqual([]);
}

/**
 * Sends every copy as Codat would: a 503 is retried after a pause, until a 2xx. Returns every answer seen.
 * `onAnswer` is told of each 2xx (to time the faults by the traffic).
 */
async function codatTraffic(service: ServiceProcess, copies: readonly WireCopy[], concurrency: number, onAccepted: (n: number) => void = () => undefined) {
  const answers: Answer[] = [];
  let accepted = 0;
  let next = 0;
  const worker = async () => {
    for (let copy = copies[next++]; copy; copy = copies[next++]) {
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const answer = await send(service, copy);
        answers.push(answer);
        if (answer.status === 200 || answer.status === 202) {
          onAccepted(++accepted);
          break;
        }
        if (answer.status !== 503) break; // recorded; the assertions say what it was
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

function summary(answers: readonly Answer[]) {
  const byStatus: Record<string, number> = {};
  for (const a of answers) byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] = (byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1;
  return { byStatus, slowestMs: Math.max(0, ...answers.map((a) => a.elapsedMs)) };
}

/** Only 2xx and 503 (both retried or final by Codat's rules), each within Codat's limit. */
function expectOnlyPromptAnswers(answers: readonly Answer[]): void {
  expect(answers.filter((a) => a.status !== 200 && a.status !== 202 && a.status !== 503)).toEqual([]);
  expect(answers.filter((a) => a.elapsedMs >= CODAT_TIMEOUT_MS)).toEqual([]);
}

describe('the service on a PostgreSQL that fails under it (a private cluster)', () => {
  let postgres: PrivatePostgres;
  let recorder: Recorder;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-store-faults-'));
    postgres = await startPrivatePostgres();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE cutover');
    await admin.end();
    recorder = await startDownstreamRecorder();
    const url = new URL(postgres.url);
    url.pathname = '/cutover';
    env = {
      DATA_DIR: dataDir,
      DATABASE_URL: url.toString(),
      DOWNSTREAM_URL: recorder.url,
      CODAT_EVENTS_SECRET: TEST_SECRET,
      CODAT_LEGACY_SECRET: TEST_SECRET,
      CUTOVER_GRACE_SECONDS: '2',
      CORRELATION_WINDOW_SECONDS: '600',
    };
  });
  afterAll(async () => {
    await recorder?.close();
    await postgres?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('when its backends are terminated and it is restarted during traffic, then no process exits, every webhook is answered 2xx or 503 within 15 s, and every one is delivered', async () => {
    const service = await startServiceProcess(env);
    try {
      const sent = occurrences(15_1, 400);
      // One fault after another: a round of terminations still running when the restart stops the cluster
      // would meet a refused connection of the test's own, not the service's.
      let faults = Promise.resolve();
      const afterTheOthers = (fault: () => Promise<void>) => {
        faults = faults.then(fault);
      };
      let terminated = 0;
      const onAccepted = (n: number) => {
        if (n === 100 || n === 200) {
          afterTheOthers(async () => {
            for (let i = 0; i < 3; i += 1) {
              terminated += await postgres.terminateBackends('cutover');
              await new Promise((r) => setTimeout(r, 150));
            }
          });
        }
        if (n === 350) {
          afterTheOthers(async () => {
            await postgres.stop();
            await new Promise((r) => setTimeout(r, 3000));
            await postgres.start();
          });
        }
      };
      const answers = await codatTraffic(service, sent.flatMap((o) => o.copies), 8, onAccepted);
      await faults;
      const { byStatus, slowestMs } = summary(answers);
      console.log(`[store-faults] terminate+restart: backends terminated=${terminated} answers=${JSON.stringify(byStatus)} slowest=${slowestMs} ms`);

      expect(service.alive()).toBe(true);
      expect(terminated).toBeGreaterThan(0);
      expect(answers.some((a) => a.status === 503)).toBe(true); // the restart did bite
      expectOnlyPromptAnswers(answers);
      await expectAllDelivered(recorder, sent, 'every occurrence to be delivered after the faults');
      expect(service.alive()).toBe(true);
      expect((await readyz(service)).status).toBe(200);
    } finally {
      await service.kill();
    }
  });

  it('when it is down at start-up, then the service listens, /readyz says it is starting and why, webhooks are 503, and once it is up everything is stored', async () => {
    await postgres.stop();
    let service: ServiceProcess | undefined;
    try {
      service = await startServiceProcess(env, { waitForStore: false });
      await waitFor(async () => (await readyz(service!)).body.storeError !== null, 10_000, 'the first attempt to reach the database');
      const waiting = await readyz(service);
      console.log(`[store-faults] /readyz with the database down at start-up: ${JSON.stringify(waiting.body)}`);
      expect(waiting.status).toBe(503);
      expect(waiting.body).toMatchObject({ status: 'not-ready', store: 'starting' });
      expect(waiting.body.storeError).toMatch(/ECONNREFUSED/);
      const [occurrence] = occurrences(15_2, 1);
      const copy = occurrence!.copies[0]!;
      expect(await send(service, copy)).toMatchObject({ status: 503, code: 'store_unavailable' });
      await waitFor(() => /waiting for PostgreSQL at [^ ]+:\d+ \(DATABASE_URL\)/.test(service!.output()), 10_000, 'the log to say start-up waits for the store');

      await postgres.start();
      await waitFor(async () => (await readyz(service!)).status === 200, 30_000, '/readyz to say ready once the database is up');
      expect((await send(service, copy)).status).toBe(202);
      await expectAllDelivered(recorder, [occurrence!], 'the webhook to be delivered');
      expect(service.alive()).toBe(true);
    } finally {
      await service?.kill();
      await postgres.start().catch(() => undefined);
    }
  });

  it('when it is frozen (SIGSTOP), then webhooks and /readyz are answered 503 within 15 s, and after SIGCONT the service recovers', async () => {
    const service = await startServiceProcess(env);
    try {
      await waitFor(async () => (await readyz(service)).status === 200, 30_000, '/readyz to say ready after start-up');
      const sent = occurrences(15_3, 12);
      const copies = sent.map((o) => o.copies[0]!);
      const wave = async (some: readonly WireCopy[]) => {
        const [answers, ready] = await Promise.all([Promise.all(some.map((copy) => send(service, copy))), readyz(service)]);
        return { answers, ready };
      };
      postgres.freeze();
      // Two waves: the first meets the pool's open connections, the second (after those were given up) new ones.
      let waves: { answers: Answer[]; ready: Readyz }[];
      try {
        waves = [await wave(copies.slice(0, 8)), await wave(copies.slice(8))];
      } finally {
        postgres.thaw();
      }
      for (const [i, frozen] of waves.entries()) {
        console.log(`[store-faults] frozen, wave ${i + 1}: webhooks ${JSON.stringify(summary(frozen.answers))}; /readyz ${frozen.ready.status} in ${frozen.ready.elapsedMs} ms ${JSON.stringify(frozen.ready.body)}`);
        expect(frozen.answers.map((a) => a.status)).toEqual(frozen.answers.map(() => 503));
        expectOnlyPromptAnswers(frozen.answers);
        expect(frozen.ready.status).toBe(503);
        expect(frozen.ready.body.store).toBe('unavailable');
        expect(frozen.ready.elapsedMs).toBeLessThan(CODAT_TIMEOUT_MS);
      }

      await waitFor(async () => (await readyz(service)).status === 200, 30_000, '/readyz to say ready after SIGCONT');
      const retried = await codatTraffic(service, copies, 4);
      expectOnlyPromptAnswers(retried);
      await expectAllDelivered(recorder, sent, 'the webhooks refused while frozen to be delivered once retried');
      expect(service.alive()).toBe(true);
    } finally {
      await service.kill();
    }
  });
});

const root = process.getuid?.() === 0;

// Mounting needs root; CI runs as root, so there it must run.
describe.runIf(root || process.env.CI === 'true')('the service on the embedded SQLite when the disk fills up (a small tmpfs)', () => {
  let mount: string;
  let recorder: Recorder;

  beforeAll(async () => {
    mount = mkdtempSync(join(tmpdir(), 'cutover-full-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount]);
    recorder = await startDownstreamRecorder();
  });
  afterAll(async () => {
    await recorder?.close();
    if (mount) {
      execFileSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });

  it('when the disk is full, then /readyz says not ready, webhooks are answered 2xx or 503 within 15 s, and once space is freed every one is delivered', async () => {
    const service = await startServiceProcess({
      DATA_DIR: mount,
      DOWNSTREAM_URL: recorder.url,
      CODAT_EVENTS_SECRET: TEST_SECRET,
      CODAT_LEGACY_SECRET: TEST_SECRET,
      CUTOVER_GRACE_SECONDS: '2',
      CORRELATION_WINDOW_SECONDS: '600',
    });
    const filler = join(mount, 'filler');
    try {
      const before = occurrences(15_4, 20);
      expectOnlyPromptAnswers(await codatTraffic(service, before.flatMap((o) => o.copies), 4));
      expect((await readyz(service)).status).toBe(200);

      // Everything the tmpfs has left, down to the last page.
      const fd = openSync(filler, 'w');
      for (const size of [1 << 20, 4096, 1]) {
        const chunk = Buffer.alloc(size);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        }
      }
      closeSync(fd);

      const full = await readyz(service);
      console.log(`[store-faults] /readyz on a full disk: ${full.status} ${JSON.stringify(full.body)}`);
      expect(full.status).toBe(503);
      expect(full.body).toMatchObject({ status: 'not-ready', store: 'unavailable' });
      expect(full.body.storeError).toMatch(/bytes free/);

      const during = occurrences(15_5, 30);
      const copies = during.flatMap((o) => o.copies);
      const answers = await Promise.all(copies.map((copy) => send(service, copy)));
      console.log(`[store-faults] webhooks on a full disk: ${JSON.stringify(summary(answers))}`);
      expectOnlyPromptAnswers(answers);
      expect(answers.filter((a) => a.status === 503).every((a) => a.code === 'store_unavailable')).toBe(true);

      rmSync(filler);
      await waitFor(async () => (await readyz(service)).status === 200, 30_000, '/readyz to say ready once space is freed');
      // Codat retries what was refused (and hears `duplicate` for what was stored after all).
      const refused = copies.filter((_, i) => answers[i]?.status !== 200 && answers[i]?.status !== 202);
      expectOnlyPromptAnswers(await codatTraffic(service, refused, 4));
      await expectAllDelivered(recorder, [...before, ...during], 'every webhook to be delivered once space is freed');
      expect(service.alive()).toBe(true);
    } finally {
      await service.kill();
      rmSync(filler, { force: true });
    }
  });
});
