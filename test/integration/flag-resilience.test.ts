/**
 * The flag server in the loop, at the SERVICE level: the real service as a child process, a real
 * Unleash server (started natively, flags imported from flags/unleash-export.json), PostgreSQL, a
 * recording downstream, signed webhooks. Covers what the end-to-end flip does not:
 *  1. a gradual rollout (flexibleRollout 25% on companyId) — about a quarter of companies, each consistently;
 *  2. how fast a flip made in the Admin API reaches the deliveries;
 *  3. Unleash going down mid-run and coming back on the same port and database;
 *  4. start-up with a wrong token, an unreachable URL and a server that never answers.
 *
 * Every occurrence is two-sided (a legacy and a new-format copy, sent back to back in random order),
 * so the delivered copy's `source.channel` says which channel was primary for its company when it
 * was processed. Timing figures are printed (console.log), only generous bounds are asserted.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEW_EVENT_TYPES_TOGGLE } from '../../src/domain/ports.js';
import { generateOccurrence, seededRandom, type GeneratedOccurrence } from '../../tools/occurrence-generator.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { startDownstreamRecorder, waitFor, type RecordedRequest } from './support/downstream-recorder.js';
import { createTestDatabase, type TestDatabase } from '../../tools/postgres.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { startUnleashServer, type UnleashTestServer } from './support/unleash-server.js';

const FLAG = NEW_EVENT_TYPES_TOGGLE;
/** Long enough that a shadow copy is never rescued before its primary twin, sent right after it, is processed. */
const GRACE_SECONDS = 15;
/** The bound asserted on start-up with a broken flag server (UNLEASH_START_TIMEOUT_MS is 5 s). */
const START_BOUND_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const random = seededRandom(2025);

// ---------------------------------------------------------------------------------------------
// Occurrences and what the downstream received for them
// ---------------------------------------------------------------------------------------------

interface Tracked {
  readonly companyId: string;
  readonly domainType: string;
  readonly copies: GeneratedOccurrence['copies'];
  /** AlertId / id of each copy: a delivery names the copy it came from in `source.id`. */
  readonly sourceIds: readonly string[];
}

const sourceIdOf = (body: string): string => {
  const parsed = JSON.parse(body) as { AlertId?: string; id?: string };
  const id = parsed.AlertId ?? parsed.id;
  if (id === undefined) throw new Error('copy without AlertId/id');
  return id;
};

/** A fresh occurrence that both channels carry (no lost copy, no redelivery), optionally for a given company. */
function twoSided(companyId?: string): Tracked {
  for (;;) {
    const o = generateOccurrence({ random, oneSidedShare: 0, redeliveryShare: 0 });
    if (o.copies.length !== 2) continue; // legacy-only / events-only kinds
    const copies = companyId === undefined ? o.copies : o.copies.map((c) => ({ ...c, body: c.body.replaceAll(o.companyId, companyId) }));
    return { companyId: companyId ?? o.companyId, domainType: o.domainType, copies, sourceIds: copies.map((c) => sourceIdOf(c.body)) };
  }
}

const channelOf = (r: RecordedRequest): string => (r.body.source as { channel: string }).channel;
const reasonOf = (r: RecordedRequest): string => (r.body.delivery as { reason: string }).reason;
const sourceOf = (r: RecordedRequest): string => String((r.body.source as { id: unknown }).id);

describe('flag resilience at the service level (real Unleash, PostgreSQL, the service as a process)', () => {
  let unleash: UnleashTestServer;
  let database: TestDatabase;
  let recorder: Awaited<ReturnType<typeof startDownstreamRecorder>>;
  let service: ServiceProcess;
  /** Every occurrence sent to `service` (the start-up scenarios use their own services). */
  const sentToMain: Tracked[] = [];
  const extraServices: ServiceProcess[] = [];
  const extraDatabases: TestDatabase[] = [];
  const figures: string[] = [];
  const figure = (line: string): void => {
    figures.push(line);
    console.log(`[flag-resilience] ${line}`);
  };

  /** Deliveries by source id, rebuilt incrementally from the recorder. */
  const bySource = new Map<string, RecordedRequest[]>();
  let indexed = 0;
  const refresh = (): void => {
    for (; indexed < recorder.received.length; indexed += 1) {
      const r = recorder.received[indexed];
      if (!r) continue;
      const list = bySource.get(sourceOf(r)) ?? [];
      list.push(r);
      bySource.set(sourceOf(r), list);
    }
  };
  const deliveriesOf = (o: Tracked): RecordedRequest[] => {
    refresh();
    return o.sourceIds.flatMap((id) => bySource.get(id) ?? []);
  };

  async function post(target: ServiceProcess, copy: GeneratedOccurrence['copies'][number]): Promise<number> {
    const response = await fetch(`${target.url}/webhooks/codat/${copy.channel}`, {
      method: 'POST',
      headers: signedHeaders(copy.body, { id: copy.webhookId }),
      body: copy.body,
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Sends both copies, back to back, in random order. */
  async function send(target: ServiceProcess, o: Tracked): Promise<void> {
    const copies = random() < 0.5 ? o.copies : [...o.copies].reverse();
    for (const copy of copies) {
      const status = await post(target, copy);
      if (status !== 202) throw new Error(`POST ${copy.channel} answered ${status}`);
    }
    if (target === service) sentToMain.push(o);
  }

  async function sendAll(target: ServiceProcess, occurrences: readonly Tracked[], concurrency = 8): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let o = occurrences[next++]; o !== undefined; o = occurrences[next++]) await send(target, o);
    }));
  }

  async function allDelivered(occurrences: readonly Tracked[], timeoutMs: number, what: string): Promise<void> {
    await waitFor(() => occurrences.every((o) => deliveriesOf(o).length > 0), timeoutMs, what).catch((error: unknown) => {
      const missing = occurrences.filter((o) => deliveriesOf(o).length === 0).length;
      throw new Error(`${String(error)}: ${missing} of ${occurrences.length} not delivered`);
    });
  }

  /** Lost (no delivery), doubled (more than one) and per-channel counts of a set of occurrences. */
  function tally(occurrences: readonly Tracked[]) {
    const result = { lost: 0, doubled: 0, legacy: 0, events: 0, rescued: 0 };
    for (const o of occurrences) {
      const got = deliveriesOf(o);
      if (got.length === 0) result.lost += 1;
      if (got.length > 1) result.doubled += 1;
      for (const d of got) {
        if (channelOf(d) === 'events') result.events += 1;
        else result.legacy += 1;
        if (reasonOf(d) === 'rescued') result.rescued += 1;
      }
    }
    return result;
  }

  interface Readyz {
    status: string;
    store: string;
    flags: { source: string; serverReachable: boolean | null; lastError: string | null };
    warnings: string[];
  }
  async function readyz(target: ServiceProcess): Promise<Readyz> {
    const response = await fetch(`${target.url}/readyz`);
    return (await response.json()) as Readyz;
  }
  async function reachableGauge(target: ServiceProcess): Promise<number> {
    const text = await (await fetch(`${target.url}/metrics`)).text();
    const match = /^codat_cutover_flag_server_reachable (\S+)$/m.exec(text);
    if (!match?.[1]) throw new Error('codat_cutover_flag_server_reachable missing from /metrics');
    return Number(match[1]);
  }

  /** What the Unleash server itself would hand a client now (client API, backend token). */
  async function serverSideFlag(): Promise<{ enabled: boolean; rollout: string | undefined }> {
    const response = await fetch(`${unleash.url}client/features/${FLAG}`, { headers: { Authorization: unleash.clientToken } });
    const body = (await response.json()) as { enabled: boolean; strategies?: { parameters?: { rollout?: string } }[] };
    return { enabled: body.enabled, rollout: body.strategies?.[0]?.parameters?.rollout };
  }

  /**
   * Waits until the server hands out `state` and then for the service to have polled it (refresh
   * 1 s; the server bumps its revision about once a second): for steps whose intermediate states
   * cannot be told apart from deliveries.
   */
  async function settle(state: { enabled: boolean; rollout: string }): Promise<void> {
    await waitFor(async () => {
      const now = await serverSideFlag();
      return now.enabled === state.enabled && now.rollout === state.rollout;
    }, 10_000, `the server to hand out ${JSON.stringify(state)}`);
    await sleep(3000);
  }

  /**
   * Flip propagation as the downstream sees it: from the Admin API call to the first delivery, from
   * the new primary channel, of an occurrence sent after the call (one fresh occurrence every 100 ms).
   */
  async function measureFlip(to: 'events' | 'legacy', flip: () => Promise<void>, timeoutMs = 15_000): Promise<number> {
    const probes: Tracked[] = [];
    const startedAt = performance.now();
    await flip();
    let lastSend = 0;
    for (;;) {
      const now = performance.now();
      if (now - startedAt > timeoutMs) throw new Error(`no delivery from the ${to} channel within ${timeoutMs} ms of the flip`);
      if (now - lastSend >= 100) {
        lastSend = now;
        const probe = twoSided();
        probes.push(probe);
        await send(service, probe);
      }
      const seen = probes.some((p) => deliveriesOf(p).some((d) => channelOf(d) === to && reasonOf(d) === 'primary'));
      if (seen) return Math.round(performance.now() - startedAt);
      await sleep(20);
    }
  }

  async function startWithFreshDatabase(env: Record<string, string>): Promise<{ service: ServiceProcess; startMs: number }> {
    const db = await createTestDatabase('cutover_flags');
    extraDatabases.push(db);
    const started = performance.now();
    const s = await startServiceProcess({ ...serviceEnv(), DATABASE_URL: db.url, ...env }, { timeoutMs: 60_000 });
    extraServices.push(s);
    return { service: s, startMs: Math.round(performance.now() - started) };
  }

  const serviceEnv = (): Record<string, string> => ({
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: unleash.clientToken,
    // UNLEASH_REFRESH_MS and UNLEASH_START_TIMEOUT_MS: the defaults (1000 ms, 5000 ms), as in production.
    DOWNSTREAM_URL: recorder.url,
    CODAT_EVENTS_SECRET: TEST_SECRET,
    CODAT_LEGACY_SECRET: TEST_SECRET,
    CUTOVER_GRACE_SECONDS: String(GRACE_SECONDS),
    CORRELATION_WINDOW_SECONDS: '600',
  });

  beforeAll(async () => {
    const started = performance.now();
    [unleash, database, recorder] = await Promise.all([startUnleashServer(), createTestDatabase('cutover_flags'), startDownstreamRecorder()]);
    figure(`unleash-server healthy (fresh database, flags imported) after ${Math.round(performance.now() - started)} ms`);
    const serviceStarted = performance.now();
    service = await startServiceProcess({ ...serviceEnv(), DATABASE_URL: database.url, UNLEASH_APP_NAME: 'cutover-flag-resilience' });
    figure(`start-up with a healthy Unleash: ${Math.round(performance.now() - serviceStarted)} ms (spawn to /healthz, tsx included)`);
  });

  afterAll(async () => {
    if (figures.length > 0) console.log(`[flag-resilience] summary:\n  ${figures.join('\n  ')}`);
    await Promise.all([service, ...extraServices].map((s) => s?.kill('SIGTERM')));
    await Promise.all([unleash?.stop(), recorder?.close()]);
    await Promise.all([database, ...extraDatabases].map((d) => d?.drop()));
  });

  it('when a flexibleRollout of 25% on companyId is enabled, then about a quarter of companies are on the new channel, each consistently', async () => {
    const before = await readyz(service);
    expect(before.flags).toMatchObject({ source: 'unleash', serverReachable: true, lastError: null });

    // Rollout first, then enable: the service holds off/100%, off/25% or on/25% — never on/100% —
    // so a delivery from the new channel means it holds on/25%.
    await unleash.admin.setRollout(FLAG, 25);
    await unleash.admin.enable(FLAG);
    try {
      // The server hands it out, and the service (polling every second) has it: no probe straddles the flip.
      await settle({ enabled: true, rollout: '25' });
      await rolloutOfAQuarter();
    } finally {
      // Restored even when an assertion fails: the later tests expect the flag at 100%.
      await unleash.admin.disable(FLAG);
      await unleash.admin.setRollout(FLAG, 100);
      await settle({ enabled: false, rollout: '100' });
    }
  });

  async function rolloutOfAQuarter(): Promise<void> {
    // Room for a second round of probes: a round with a probe straddling a flip lasts the grace period and more.
    const deadline = Date.now() + 2 * (GRACE_SECONDS * 1000 + 10_000);
    for (let seenOn = false; !seenOn;) {
      if (Date.now() > deadline) throw new Error('the service never delivered from the new channel under the 25% rollout');
      const probes = Array.from({ length: 20 }, () => twoSided());
      await sendAll(service, probes);
      // A probe whose two copies straddle the flip (off when the first was processed, on/25% for its
      // company when the second was) holds both copies as shadow until the grace runs out and one is
      // rescued (docs/toggle-phases.md): wait beyond the grace, not less.
      await allDelivered(probes, GRACE_SECONDS * 1000 + 10_000, 'rollout probes');
      seenOn = probes.some((p) => deliveriesOf(p).some((d) => channelOf(d) === 'events'));
    }

    const companies = Array.from({ length: 400 }, () => twoSided());
    const firstStarted = performance.now();
    await sendAll(service, companies);
    await allDelivered(companies, 30_000, 'the first occurrence of every company');
    const firstMs = Math.round(performance.now() - firstStarted);
    const firstChannel = new Map(companies.map((o) => [o.companyId, deliveriesOf(o).map(channelOf)]));
    const first = tally(companies);
    expect({ lost: first.lost, doubled: first.doubled, rescued: first.rescued }).toEqual({ lost: 0, doubled: 0, rescued: 0 });
    const share = first.events / companies.length;

    await sleep(1000);
    const again = companies.map((o) => twoSided(o.companyId)); // a new occurrence (new keys) for the same company
    await sendAll(service, again);
    await allDelivered(again, 30_000, 'the second occurrence of every company');
    const second = tally(again);
    expect({ lost: second.lost, doubled: second.doubled, rescued: second.rescued }).toEqual({ lost: 0, doubled: 0, rescued: 0 });
    const switched = again.filter((o) => {
      const [firstOne] = firstChannel.get(o.companyId) ?? [];
      return deliveriesOf(o).some((d) => channelOf(d) !== firstOne);
    });

    figure(`rollout 25% on companyId: ${first.events}/${companies.length} companies on the new channel = ${(share * 100).toFixed(1)}% ` +
      `(second occurrence: ${second.events}/${again.length}; companies that changed channel: ${switched.length}); ` +
      `${companies.length * 2} webhooks sent and delivered in ${firstMs} ms`);
    expect(share).toBeGreaterThanOrEqual(0.15);
    expect(share).toBeLessThanOrEqual(0.35);
    expect(switched.map((o) => o.companyId)).toEqual([]);
  }

  it('when the toggle is flipped in the Admin API, then the deliveries follow within a few seconds', async () => {
    const samples: { to: string; ms: number }[] = [];
    // Ends on "on": the next test starts from a state the service is known to hold.
    for (const to of ['events', 'legacy', 'events', 'legacy', 'events'] as const) {
      const ms = await measureFlip(to, () => (to === 'events' ? unleash.admin.enable(FLAG) : unleash.admin.disable(FLAG)));
      samples.push({ to, ms });
    }
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    figure(`flip propagation (Admin API call → first delivery from the new primary channel, refresh 1000 ms): ` +
      `${samples.map((s) => `${s.to === 'events' ? 'on' : 'off'} ${s.ms} ms`).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]} ms`);
    for (const s of samples) expect(s.ms).toBeLessThan(15_000);
  });

  it('when Unleash goes down mid-run and comes back, then the service keeps the last flags, says so, loses and doubles nothing, and follows a later flip', async () => {
    expect((await serverSideFlag()).enabled).toBe(true);
    const phases: Record<'before' | 'down' | 'recovered', Tracked[]> = { before: [], down: [], recovered: [] };
    let phase: keyof typeof phases = 'before';
    let sending = true;
    // Settles with the error instead of rejecting: nothing unhandled while the outage is staged.
    const traffic = (async () => {
      while (sending) {
        const o = twoSided();
        phases[phase].push(o);
        await send(service, o);
        await sleep(50);
      }
    })().then(() => null, (error: unknown) => (error instanceof Error ? error : new Error(String(error))));

    try {
      await sleep(1000);
      const stoppedAt = performance.now();
      await unleash.stopProcess('SIGTERM');
      phase = 'down';
      console.log(`[flag-resilience] /readyz right after SIGTERM: ${JSON.stringify((await readyz(service)).flags)}`);
      expect(unleash.running).toBe(false);
      await waitFor(async () => (await readyz(service)).flags.serverReachable === false, 20_000, '/readyz to report the flag server unreachable');
      const detectMs = Math.round(performance.now() - stoppedAt);

      const down = await readyz(service);
      console.log(`[flag-resilience] /readyz during the outage: ${JSON.stringify(down)}`);
      expect(down.status).toBe('ready'); // the store is fine: the service keeps taking webhooks
      expect(down.flags.source).toBe('unleash'); // the last flags the server sent, not the bootstrap
      expect(down.flags.serverReachable).toBe(false);
      expect(down.flags.lastError).toMatch(/ECONNREFUSED|ECONNRESET|socket|fetch/i);
      expect(down.warnings.join('\n')).toMatch(/Unleash is unreachable: using the last flags it sent/);
      expect(await reachableGauge(service)).toBe(0);
      expect(service.output()).toMatch(/Unleash server not usable: keeping the last flags it sent/);

      await sleep(3000); // webhooks keep flowing with the server down

      const restartAt = performance.now();
      // No IMPORT_FILE on this start: it would write the file's state (off, 100%) over the database,
      // i.e. re-provision instead of recover (see unleash-server.ts).
      await unleash.startProcess();
      const healthyMs = Math.round(performance.now() - restartAt);
      await waitFor(async () => (await readyz(service)).flags.serverReachable === true, 20_000, '/readyz to report the flag server reachable again');
      const recoverMs = Math.round(performance.now() - restartAt);
      phase = 'recovered';
      const up = await readyz(service);
      expect(up.flags).toMatchObject({ source: 'unleash', serverReachable: true, lastError: null });
      expect(up.warnings.join('\n')).not.toMatch(/unreachable/i);
      expect(await reachableGauge(service)).toBe(1);
      await sleep(1000);

      figure(`outage: SIGTERM → /readyz says unreachable after ${detectMs} ms; down ${Math.round(restartAt - stoppedAt)} ms; ` +
        `restart (same port and database, no re-import) healthy after ${healthyMs} ms, service reachable again ${recoverMs} ms after the restart began`);
    } finally {
      sending = false;
      await traffic;
    }
    // Thrown after the block, not in `finally`, where it would replace the error the block failed with.
    const failed = await traffic;
    if (failed !== null) throw failed;

    const all = [...phases.before, ...phases.down, ...phases.recovered];
    await allDelivered(all, 20_000, 'every occurrence sent around the outage');
    await sleep(1500); // room for a double to show up
    const counts = Object.fromEntries(Object.entries(phases).map(([name, list]) => [name, tally(list)]));
    figure(`outage traffic: ${Object.entries(phases).map(([name, list]) => `${name} ${list.length}`).join(', ')} occurrences; ` +
      `channels ${JSON.stringify(Object.fromEntries(Object.entries(counts).map(([n, t]) => [n, { events: t.events, legacy: t.legacy }])))}`);
    expect(phases.down.length).toBeGreaterThanOrEqual(20);
    const total = tally(all);
    expect({ lost: total.lost, doubled: total.doubled, rescued: total.rescued, legacy: total.legacy }).toEqual({ lost: 0, doubled: 0, rescued: 0, legacy: 0 });
    const keys = all.flatMap((o) => deliveriesOf(o).map((d) => d.idempotencyKey));
    expect(new Set(keys).size).toBe(all.length);

    // A flip made after the recovery is followed.
    const afterMs = await measureFlip('legacy', () => unleash.admin.disable(FLAG));
    figure(`flip after recovery (off): first legacy delivery ${afterMs} ms after the Admin API call`);
    expect(afterMs).toBeLessThan(15_000);
  });

  describe('start-up with a broken flag server: bounded, says so, serves flags/ (toggle off → legacy)', () => {
    /** With the flag ON in the server, a service that reached it would deliver from the new channel. */
    beforeAll(async () => {
      await unleash.admin.enable(FLAG);
      await waitFor(async () => (await serverSideFlag()).enabled, 10_000, 'the flag to be on in the server');
    });

    async function expectBootstrapLegacy(target: ServiceProcess): Promise<void> {
      const occurrences = Array.from({ length: 10 }, () => twoSided());
      await sendAll(target, occurrences, 4);
      await allDelivered(occurrences, 10_000, 'occurrences sent to the service started on the bootstrap flags');
      const t = tally(occurrences);
      expect(t).toEqual({ lost: 0, doubled: 0, legacy: occurrences.length, events: 0, rescued: 0 });
      expect(occurrences.flatMap(deliveriesOf).map(reasonOf)).toEqual(occurrences.map(() => 'primary'));
    }

    it('with a wrong token', async () => {
      const { service: s, startMs } = await startWithFreshDatabase({ UNLEASH_API_TOKEN: 'default:development.not-the-secret', UNLEASH_APP_NAME: 'cutover-wrong-token' });
      figure(`start-up with a wrong token: ${startMs} ms`);
      expect(startMs).toBeLessThan(START_BOUND_MS);
      expect(s.output()).toMatch(/Unleash refused the API token/);
      expect(s.output()).toMatch(/responded 401/);

      const r = await readyz(s);
      console.log(`[flag-resilience] /readyz with a wrong token: ${JSON.stringify(r)}`);
      expect(r.status).toBe('ready');
      expect(r.flags.source).toBe('bootstrap');
      expect(r.flags.serverReachable).toBe(false);
      expect(r.flags.lastError).toMatch(/401/);
      expect(r.warnings.join('\n')).toMatch(/Unleash refused the API token.*flags come from flags\//);
      expect(await reachableGauge(s)).toBe(0);
      await expectBootstrapLegacy(s);
    });

    it('with an unreachable UNLEASH_URL (connection refused), and Unleash coming up later', async () => {
      // The real server's URL with its process stopped: refused connections, as when the service wins
      // the start-up race against Unleash. Then Unleash comes up and the service must take its flags.
      await unleash.stopProcess();
      let s: ServiceProcess;
      try {
        const started = await startWithFreshDatabase({ UNLEASH_APP_NAME: 'cutover-unreachable' });
        s = started.service;
        figure(`start-up with an unreachable UNLEASH_URL (connection refused): ${started.startMs} ms`);
        expect(started.startMs).toBeLessThan(START_BOUND_MS);
        expect(s.output()).toMatch(/Unleash server not usable: serving the flags of flags\/unleash-export\.json/);

        const r = await readyz(s);
        console.log(`[flag-resilience] /readyz with Unleash unreachable at start-up: ${JSON.stringify(r)}`);
        expect(r.status).toBe('ready');
        expect(r.flags.source).toBe('bootstrap');
        expect(r.flags.serverReachable).toBe(false);
        expect(r.flags.lastError).toMatch(/ECONNREFUSED|no answer/);
        expect(r.warnings.join('\n')).toMatch(/Unleash is unreachable: using the bootstrap flags from flags\//);
        expect(await reachableGauge(s)).toBe(0);
        await expectBootstrapLegacy(s);
      } finally {
        await unleash.startProcess();
      }

      const upAt = performance.now();
      await waitFor(async () => (await readyz(s)).flags.serverReachable === true, 20_000, 'the service to reach Unleash once it is up');
      figure(`Unleash up after the service started on the bootstrap: server flags in use ${Math.round(performance.now() - upAt)} ms after /health`);
      expect((await readyz(s)).flags).toMatchObject({ source: 'unleash', serverReachable: true, lastError: null });
      expect(await reachableGauge(s)).toBe(1);
      const after = Array.from({ length: 10 }, () => twoSided());
      await sendAll(s, after, 4);
      await allDelivered(after, 10_000, 'occurrences sent once the server flags are in use');
      expect(tally(after)).toEqual({ lost: 0, doubled: 0, legacy: 0, events: after.length, rescued: 0 });
    });

    it('with an UNLEASH_URL that accepts connections and never answers', async () => {
      const sockets = new Set<Socket>();
      const blackhole = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
      const address = blackhole.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/api/`;
      try {
        const { service: s, startMs } = await startWithFreshDatabase({ UNLEASH_URL: url, UNLEASH_APP_NAME: 'cutover-blackhole' });
        figure(`start-up with an Unleash that never answers: ${startMs} ms (UNLEASH_START_TIMEOUT_MS 5000)`);
        expect(startMs).toBeLessThan(START_BOUND_MS);
        expect(s.output()).toMatch(/Unleash server not usable: serving the flags of flags\/unleash-export\.json/);

        const r = await readyz(s);
        expect(r.flags).toMatchObject({ source: 'bootstrap', serverReachable: false });
        expect(r.flags.lastError).toMatch(/no answer from .* within 5000 ms/);
        expect(await reachableGauge(s)).toBe(0);
        await expectBootstrapLegacy(s);

        // Stopping while the SDK's poll still hangs must not hang either.
        const stopping = performance.now();
        await s.kill('SIGTERM');
        const stopMs = Math.round(performance.now() - stopping);
        figure(`shutdown while a poll to the silent server is pending: ${stopMs} ms`);
        expect(stopMs).toBeLessThan(START_BOUND_MS);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => blackhole.close(() => resolve()));
      }
    });
  });

  it('every occurrence sent to the main service was delivered exactly once (rescues after a flip included)', async () => {
    await allDelivered(sentToMain, (GRACE_SECONDS + 15) * 1000, 'every occurrence sent to the main service');
    const t = tally(sentToMain);
    figure(`main service: ${sentToMain.length} occurrences, ${t.events} delivered from events, ${t.legacy} from legacy, ${t.rescued} rescued, lost ${t.lost}, doubled ${t.doubled}`);
    expect({ lost: t.lost, doubled: t.doubled }).toEqual({ lost: 0, doubled: 0 });
  });
});

