/**
 * `codat-cutover` run as a user runs it (`node bin/codat-cutover.js …`, a child process) against the real
 * service process on the embedded store, with a real downstream that fails on demand.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDownstreamRecorder, waitFor } from './support/downstream-recorder.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'operator-token-for-the-cli-test';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const idsOf = (text: string) => [...text.matchAll(/^(\S+) {2}\S+ {2}company/gm)].map((m) => m[1]);

describe('the codat-cutover CLI against a running service', () => {
  let dir: string;
  let service: ServiceProcess;
  let downstream: Awaited<ReturnType<typeof startDownstreamRecorder>>;

  const cli = (args: readonly string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin', 'codat-cutover.js'), ...args],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', CODAT_CUTOVER_URL: service.url, ADMIN_TOKEN: TOKEN, DATA_DIR: dir, ...env }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cutover-cli-'));
    downstream = await startDownstreamRecorder();
    downstream.failing.value = true;
    service = await startServiceProcess({
      DATA_DIR: dir,
      ADMIN_TOKEN: TOKEN,
      DOWNSTREAM_URL: downstream.url,
      // One attempt: a failed delivery is a dead letter at once.
      DELIVERY_MAX_ATTEMPTS: '1',
      // Wide enough that a slow machine still pairs the two copies of each sample the CLI sends: a round sends
      // every new-format sample before every legacy one, so the syncs of a loaded machine stretch the time between
      // a copy and its twin (a CI run once never judged all 26 pairs with 10 s).
      CUTOVER_GRACE_SECONDS: '5',
      CORRELATION_WINDOW_SECONDS: '20',
      READINESS_MIN_OCCURRENCES: '5',
    });
  });

  afterAll(async () => {
    await service?.kill();
    await downstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when asked for help, then every command answers with its usage and exit 0', async () => {
    for (const command of [[], ['status'], ['send'], ['dead-letters'], ['quarantine'], ['flags']]) {
      const run = await cli([...command, '--help']);
      expect(run.code, `${command.join(' ')} --help`).toBe(0);
      expect(run.stdout).toMatch(/^Usage: codat-cutover/);
    }
  });

  it('when an option or a value is misspelt, then nothing is sent and the exit code is 2', async () => {
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"AlertId":"a"}');
    const misspelt = await cli(['send', '--file', file, '--channel', 'legcy']);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toMatch(/--channel must be legacy or events, not "legcy"/);
    expect((await cli(['status', '--phase', 'flipp'])).code).toBe(2);
    expect((await cli(['dead-letters', '--colour'])).stderr).toMatch(/Unknown option '--colour'/);
  });

  it('when the samples are sent twice, then both rounds are accepted as new occurrences (fresh ids), and status gates on the verdict', async () => {
    const sendStarted = Date.now();
    const first = await cli(['send', '--all']);
    expect(first.code).toBe(0);
    // The CLI moves the samples' times in whole seconds to now, and a rate-limit notice's key is its quota's expiry:
    // a second round started within the same second would repeat round 1's rate-limit occurrences (rightly
    // duplicates of them) instead of making new ones.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await cli(['send', '--all']);
    const sendSeconds = (Date.now() - sendStarted) / 1000;
    expect(second.code).toBe(0);
    const lines = second.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(30);
    expect(lines.every((line) => line.startsWith('202 ') && line.includes('"accepted"'))).toBe(true);
    // The same sample with the ids it ships with: the second copy is a duplicate.
    await cli(['send', 'legacy-SyncStarted', '--keep-ids', '--id', 'msg_fixed']);
    expect((await cli(['send', 'legacy-SyncStarted', '--keep-ids', '--id', 'msg_fixed'])).stdout).toMatch(/"duplicate"/);

    let judged = '';
    await waitFor(async () => {
      judged = (await cli(['status'])).stdout;
      return /seen on both \/ legacy only \/ new only: 26 \//.test(judged);
    }, 90_000, 'both rounds judged').catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}; both rounds took ${sendSeconds} s to send; the last status said:\n${judged}`);
    });
    const status = await cli(['status', '--phase', 'flip']);
    expect(status.stdout).toMatch(/^Verdict: ready-to-flip/m);
    expect(status.stdout).toMatch(/Coverage 100%/);
    expect(status.code).toBe(0);
    const contract = await cli(['status', '--phase', 'contract']);
    expect(contract.code).toBe(1);
    expect(contract.stdout).toMatch(/NOT safe for contracting/);
    const json = JSON.parse((await cli(['status', '--json'])).stdout) as { readiness: { verdict: string } };
    expect(json.readiness.verdict).toBe('ready-to-flip');
  });

  it('when deliveries failed, then dead-letters lists them by page with the reason, shows one with its payload and replays one, then all the others', async () => {
    await waitFor(async () => idsOf((await cli(['dead-letters', '--limit', '500'])).stdout).length >= 10, 30_000, 'dead letters');
    const page = await cli(['dead-letters', '--limit', '2']);
    expect(page.code).toBe(0);
    expect(page.stdout).toMatch(/last error: .*503/);
    const more = /--after (\S+)/.exec(page.stdout)?.[1];
    expect(more).toBeDefined();
    const next = await cli(['dead-letters', '--limit', '2', '--after', more ?? '']);
    expect(idsOf(next.stdout)).toHaveLength(2);
    expect(idsOf(next.stdout)).not.toContain(idsOf(page.stdout)[0]);

    const id = idsOf(page.stdout)[0] ?? '';
    const shown = await cli(['dead-letters', 'show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`"id": "${id}"`);
    expect(shown.stdout).toMatch(/^payload$/m);

    downstream.failing.value = false;
    const one = await cli(['dead-letters', 'replay', id]);
    expect(one.stdout).toMatch(/Replayed 1 of 1 selected/);
    await waitFor(() => downstream.received.some((r) => r.idempotencyKey === id), 20_000, 'the replayed delivery');
    expect((await cli(['dead-letters', 'show', id])).code).toBe(1);

    const total = idsOf((await cli(['dead-letters', '--every', '--limit', '10'])).stdout).length;
    const rest = await cli(['dead-letters', 'replay', '--all']);
    expect(rest.code).toBe(0);
    expect(rest.stdout).toContain(`Replayed ${total} of ${total} selected`);
    await waitFor(async () => (await cli(['dead-letters'])).stdout.includes('No dead letters'), 20_000, 'an empty dead-letter list');
  });

  it('when webhooks could not be converted, then quarantine lists them with the reason, shows the body, and replays a filtered selection', async () => {
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ AlertId: 'a1', RuleType: 'Brand New Rule', CompanyId: 'c1', Data: { x: 1 } }));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"id": "no closing brace"');
    expect((await cli(['send', '--file', unknown, '--channel', 'legacy'])).code).toBe(0);
    expect((await cli(['send', '--file', broken, '--channel', 'events', '--keep-ids'])).code).toBe(3);

    await waitFor(async () => (await cli(['quarantine'])).stdout.includes('unknown_rule_type'), 20_000, 'the unknown rule in quarantine');
    const list = await cli(['quarantine']);
    expect(list.stdout).toMatch(/reason: malformed_json/);
    const filtered = await cli(['quarantine', '--reason', 'unknown_rule_type']);
    const [inboxId] = [...filtered.stdout.matchAll(/^(\d+) {2}legacy/gm)].map((m) => m[1]);
    expect(filtered.stdout).not.toMatch(/malformed_json/);
    const shown = await cli(['quarantine', 'show', inboxId ?? '']);
    expect(shown.stdout).toContain('"RuleType": "Brand New Rule"');

    const replay = await cli(['quarantine', 'replay', '--reason', 'unknown_rule_type']);
    expect(replay.stdout).toMatch(/Replayed 1 of 1 selected/);
    // Still unknown after the replay: it comes back, and the malformed one was never touched.
    await waitFor(async () => (await cli(['quarantine', '--state', 'unrecognised'])).stdout.includes('unknown_rule_type'), 20_000, 'the replayed webhook settled again');
    expect((await cli(['quarantine', '--state', 'nonsense'])).stderr).toMatch(/state must be one of/);
  });

  it('when asked for the flags, then it shows both toggles as the service sees them', async () => {
    const flags = await cli(['flags']);
    expect(flags.code).toBe(0);
    expect(flags.stdout).toMatch(/^codat-new-event-types {2}off/m);
    expect(flags.stdout).toMatch(/^codat-legacy-consumer {2}on/m);
    expect(flags.stdout).toMatch(/flags\/unleash-export.json \(bootstrap\)/);
  });

  it('when the token is wrong, then the CLI says how to fix it and exits 3', async () => {
    const run = await cli(['dead-letters'], { ADMIN_TOKEN: 'wrong' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/invalid_admin_token.*--token/);
  });
});
