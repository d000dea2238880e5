/**
 * The Unleash-backed ToggleReader against a REAL Unleash server (unleash-server, pinned, started
 * natively by ./support/unleash-server.ts on a fresh PostgreSQL database, flags imported from
 * flags/unleash-export.json).
 */
import { refusingPort } from '../../tools/free-port.js';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NEW_EVENT_TYPES_TOGGLE, type Logger } from '../../src/domain/ports.js';
import {
  createUnleashToggleReader,
  type UnleashToggleReader,
  type UnleashToggleReaderOptions,
} from '../../src/flags/unleash-toggle-reader.js';
import { FLAGS_EXPORT_FILE, startUnleashServer, type UnleashTestServer } from './support/unleash-server.js';

const FLAG = NEW_EVENT_TYPES_TOGGLE;

interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const push = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, ...(fields !== undefined ? { fields } : {}) });
  };
  const logger: Logger & { lines: LogLine[] } = { lines, debug: () => undefined, info: push('info'), warn: push('warn'), error: push('error'), child: () => logger };
  return logger;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `condition` every 20 ms; resolves with the elapsed ms, rejects after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (condition()) return Math.round(performance.now() - started);
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('UnleashToggleReader against a real Unleash server', () => {
  let server: UnleashTestServer;
  const readers: UnleashToggleReader[] = [];

  beforeAll(async () => {
    const started = Date.now();
    server = await startUnleashServer();
    console.log(`[unleash] server pid ${server.pid} healthy at ${server.url} after ${Date.now() - started} ms (db ${server.database})`);
  });

  afterEach(async () => {
    for (const r of readers.splice(0)) await r.close();
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function reader(
    overrides: Partial<UnleashToggleReaderOptions> = {},
  ): Promise<{ reader: UnleashToggleReader; logger: ReturnType<typeof recordingLogger> }> {
    const logger = recordingLogger();
    const r = await createUnleashToggleReader({
      url: server.url,
      apiToken: server.clientToken,
      appName: 'codat-cutover-it',
      bootstrapFile: FLAGS_EXPORT_FILE,
      environment: 'development',
      refreshIntervalMs: 1000,
      startTimeoutMs: 5000,
      logger,
      ...overrides,
    });
    readers.push(r);
    return { reader: r, logger };
  }

  it('(a) starts with the flag off, as imported from flags/unleash-export.json, served by the server', async () => {
    const { reader: r } = await reader();
    expect(r.status()).toEqual({ source: 'unleash', serverReachable: true, lastError: null });
    for (let i = 0; i < 50; i++) expect(r.isNewEventsPrimary(randomUUID())).toBe(false);
    expect(r.isNewEventsPrimary(null)).toBe(false);
  });

  it('(b) sees an Admin-API enable within a bounded time', async () => {
    await server.admin.disable(FLAG);
    await server.admin.setRollout(FLAG, 100);
    const { reader: r } = await reader();
    expect(r.isNewEventsPrimary('company-b')).toBe(false);

    const flippedAt = performance.now();
    await server.admin.enable(FLAG);
    await waitFor(() => r.isNewEventsPrimary('company-b'), 10_000, 'the reader to see the enable');
    const propagationMs = Math.round(performance.now() - flippedAt);
    console.log(`[propagation] Admin-API enable seen by the reader after ${propagationMs} ms (refreshInterval 1000 ms)`);
    expect(propagationMs).toBeLessThan(10_000);
    // Client-level occurrences use the fixed stickiness value and move with the 100% rollout.
    expect(r.isNewEventsPrimary(null)).toBe(true);
    expect(r.status()).toEqual({ source: 'unleash', serverReachable: true, lastError: null });

    await server.admin.disable(FLAG);
    await waitFor(() => !r.isNewEventsPrimary('company-b'), 10_000, 'the reader to see the disable');
  });

  it('(c) a 25% rollout on companyId turns roughly a quarter of companies on, each company consistently', async () => {
    await server.admin.setRollout(FLAG, 25);
    await server.admin.enable(FLAG);
    const { reader: one } = await reader();
    const { reader: two } = await reader();
    const companies = Array.from({ length: 2000 }, () => randomUUID());
    // A new client may first get the pre-change payload: the server memoizes client responses per
    // (query, revision) and bumps its revision about once a second. The reachable states are
    // off/100%, off/25% and on/25%, so "some company on" means the reader holds on/25%.
    for (const r of [one, two]) {
      await waitFor(() => companies.some((c) => r.isNewEventsPrimary(c)), 10_000, 'the reader to hold the 25% rollout');
    }
    expect(one.status().source).toBe('unleash');

    const first = companies.map((c) => one.isNewEventsPrimary(c));
    const share = first.filter(Boolean).length / companies.length;
    console.log(`[rollout] 25% flexibleRollout on companyId: ${(share * 100).toFixed(1)}% of ${companies.length} random company ids on`);
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);

    for (let round = 0; round < 3; round++) {
      expect(companies.map((c) => one.isNewEventsPrimary(c))).toEqual(first);
    }
    // Another replica gives every company the same answer (stickiness, not randomness).
    expect(companies.map((c) => two.isNewEventsPrimary(c))).toEqual(first);

    await server.admin.disable(FLAG);
    await server.admin.setRollout(FLAG, 100);
  });

  it('(d) a wrong token: start-up returns within startTimeoutMs, serves the bootstrap, status says the server is not usable', async () => {
    // Server side the flag is on for everyone: a reader that got the server's data would say true.
    await server.admin.setRollout(FLAG, 100);
    await server.admin.enable(FLAG);
    try {
      const startTimeoutMs = 5000;
      const started = performance.now();
      const { reader: r, logger } = await reader({ apiToken: 'default:development.not-the-secret', startTimeoutMs });
      const elapsed = Math.round(performance.now() - started);
      console.log(`[wrong-token] reader started in ${elapsed} ms`);
      expect(elapsed).toBeLessThan(startTimeoutMs + 500);

      expect(r.isNewEventsPrimary('company-d')).toBe(false); // the bootstrap: off
      expect(r.isNewEventsPrimary(null)).toBe(false);
      const status = r.status();
      expect(status.source).toBe('bootstrap');
      expect(status.serverReachable).toBe(false);
      expect(status.lastError).toMatch(/401/);
      expect(logger.lines.some((l) => l.level !== 'info' && /token/i.test(l.message))).toBe(true);

      // The SDK stops polling after a 401: it stays that way.
      await sleep(2500);
      expect(r.status().serverReachable).toBe(false);
      expect(r.isNewEventsPrimary('company-d')).toBe(false);
    } finally {
      await server.admin.disable(FLAG);
    }
  });

  it('(e) an unreachable server: start-up returns within startTimeoutMs and serves the bootstrap', async () => {
    const url = `http://127.0.0.1:${await refusingPort()}/api/`;
    const startTimeoutMs = 5000;
    const started = performance.now();
    const { reader: r, logger } = await reader({ url, startTimeoutMs });
    const elapsed = Math.round(performance.now() - started);
    console.log(`[unreachable] reader started in ${elapsed} ms`);
    expect(elapsed).toBeLessThan(startTimeoutMs + 500);

    expect(r.isNewEventsPrimary('company-e')).toBe(false);
    const status = r.status();
    expect(status.source).toBe('bootstrap');
    expect(status.serverReachable).toBe(false);
    expect(status.lastError).toMatch(/ECONNREFUSED|no answer/);
    expect(logger.lines.some((l) => l.level === 'warn' && /not usable/.test(l.message))).toBe(true);

    await r.close();

    // Start-up timing out while the first poll is still retrying (the SDK retries a refused
    // connection for ~3 s): close() right away must neither crash (late 'error' after destroy) nor hang.
    const early = performance.now();
    const { reader: r2 } = await reader({ url, startTimeoutMs: 500 });
    console.log(`[unreachable] reader with startTimeoutMs 500 started in ${Math.round(performance.now() - early)} ms`);
    expect(r2.status()).toMatchObject({ source: 'bootstrap', serverReachable: false });
    expect(r2.status().lastError).toMatch(/no answer .* within 500 ms/);
    const closing = performance.now();
    await r2.close();
    const closeMs = Math.round(performance.now() - closing);
    console.log(`[unreachable] close() during a retrying poll took ${closeMs} ms`);
    expect(closeMs).toBeLessThan(6000);
  });

  it('(f) the server stops mid-run: the reader keeps the last flags it got and reports the server unreachable', async () => {
    // Its own server: this test kills it.
    const own = await startUnleashServer();
    try {
      await own.admin.enable(FLAG);
      const { reader: r, logger } = await reader({ url: own.url, apiToken: own.clientToken });
      await waitFor(() => r.isNewEventsPrimary('company-f'), 10_000, 'the enabled flag');
      expect(r.status()).toEqual({ source: 'unleash', serverReachable: true, lastError: null });

      await own.stop();
      const detectedMs = await waitFor(() => r.status().serverReachable === false, 20_000, 'status to say unreachable');
      console.log(`[server-stopped] reader reported the server unreachable ${detectedMs} ms after SIGTERM`);

      expect(r.isNewEventsPrimary('company-f')).toBe(true); // last known flags: on
      expect(r.isNewEventsPrimary(null)).toBe(true);
      const status = r.status();
      expect(status.source).toBe('unleash');
      expect(status.lastError).toMatch(/ECONNREFUSED|ECONNRESET|socket|fetch/i);
      expect(logger.lines.some((l) => l.level === 'warn' && /keeping the last flags/.test(l.message))).toBe(true);

      const closing = performance.now();
      await r.close();
      console.log(`[server-stopped] close() took ${Math.round(performance.now() - closing)} ms`);
    } finally {
      await own.stop();
    }
  });

  it('offline (no url): bootstrap flags only, no server status', async () => {
    const { reader: r } = await reader({ url: undefined, apiToken: undefined });
    expect(r.status()).toEqual({ source: 'bootstrap', serverReachable: null, lastError: null });
    expect(r.isNewEventsPrimary('company-g')).toBe(false);
  });
});
