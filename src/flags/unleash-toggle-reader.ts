/**
 * `ToggleReader` backed by the Unleash Node SDK (`unleash-client`).
 *
 * - Always bootstrapped from `flags/unleash-export.json` (converted to the SDK's shape), kept in memory
 *   only (`InMemStorageProvider`: no backup file in the OS temp folder).
 * - Without `url`: fully offline — no polling, no metrics, no network at all.
 * - With `url`: polls the server. Start-up never waits longer than `startTimeoutMs`: on a refused
 *   token (after a 401/403 the SDK stops polling for good) or an unreachable server it logs a
 *   warning and keeps serving the bootstrap flags (or the last flags the server sent).
 * - `status()` is driven by the SDK's events. `'synchronized'`/`'changed'` also fire for bootstrap
 *   data, so they do not prove the server was reached; the honest signals used are a `'changed'` while
 *   the SDK's repository says its data came from the API, and `'unchanged'` (a 304 from the server,
 *   which needs an ETag that only a server answer gives).
 * - Usage metrics are not sent to the server (`disableMetrics`), so the Unleash UI shows no
 *   evaluation counts for this app.
 *
 * Nothing happens at import time; every reader owns its own `Unleash` instance (never the SDK's
 * process-wide `initialize()` singleton) and must be `close()`d (under `NODE_ENV=test` the SDK's
 * timers keep the process alive).
 */
import { readFile } from 'node:fs/promises';
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse } from 'unleash-client';
import { LEGACY_CONSUMER_TOGGLE, NEW_EVENT_TYPES_TOGGLE } from '../domain/ports.js';
import type { Logger, ToggleDefinition, ToggleReader, ToggleSourceStatus } from '../domain/ports.js';
import { exportToBootstrap, parseUnleashExport, type UnleashBootstrap } from './export-to-bootstrap.js';

/** The stickiness value given to client-level occurrences (no company): they move over as one block. */
export const CLIENT_LEVEL_COMPANY_ID = '(client)';

export interface UnleashToggleReaderOptions {
  /** Unleash API base, e.g. `http://unleash:4242/api/`. Absent: offline, bootstrap flags only. */
  url?: string;
  /** Backend (client) token, e.g. `default:development.<secret>`. */
  apiToken?: string;
  appName: string;
  instanceId?: string;
  /** Path of `flags/unleash-export.json` (Unleash export format). */
  bootstrapFile: string;
  /** Which environment of the export to bootstrap from (the token decides the server's). Default `development`. */
  environment?: string;
  /** Poll interval in ms when `url` is set. Default 1000. */
  refreshIntervalMs?: number;
  /** Longest start-up wait for the server's first answer, in ms. Default 5000. */
  startTimeoutMs?: number;
  logger: Logger;
}

export interface UnleashToggleReader extends ToggleReader {
  /** Stops polling and releases the SDK's timers. Idempotent. */
  close(): Promise<void>;
}

/**
 * The toggle as the readiness verdict sees it: how many companies are on the new channel.
 * A flexibleRollout gives its percentage; any other strategy (or none) means everyone.
 */
export function toggleDefinitionOf(feature: { enabled?: boolean; strategies?: readonly { name?: string; disabled?: boolean; parameters?: Record<string, unknown> }[] } | undefined): ToggleDefinition {
  if (!feature?.enabled) return { enabled: false, rolloutPercent: 0 };
  const active = (feature.strategies ?? []).filter((s) => !s.disabled);
  if (active.length === 0 || active.some((s) => s.name !== 'flexibleRollout')) return { enabled: true, rolloutPercent: 100 };
  const percents = active.map((s) => Number(s.parameters?.rollout ?? 100)).filter((n) => Number.isFinite(n));
  return { enabled: true, rolloutPercent: Math.max(0, Math.min(100, ...percents)) };
}

/** Upper bound for close() waiting for a poll that is still under way (see `close`). */
const CLOSE_SETTLE_MAX_MS = 5_000;

/** Reads and converts the export file to the SDK's bootstrap shape. */
export async function loadBootstrapFromExportFile(path: string, environment: string): Promise<UnleashBootstrap> {
  const text = await readFile(path, 'utf8');
  return exportToBootstrap(parseUnleashExport(JSON.parse(text)), environment);
}

/**
 * The SDK keeps two things it does not expose that this reader needs; both are read defensively.
 * `connected`: true once the repository has stored data from the API (not bootstrap/backup).
 * `on`: `Repository.stop()` (called by `destroy()`) removes the repository's listeners while a poll
 * that is still retrying keeps forwarding its failure to it — an `'error'` with no listener, which
 * crashes the process. A no-op listener attached after `destroy()` absorbs it.
 */
interface RepositoryInternals {
  readonly connected?: unknown;
  on?: (event: string, listener: (...args: unknown[]) => void) => unknown;
}

function repositoryOf(unleash: Unleash): RepositoryInternals | undefined {
  const repository: unknown = Reflect.get(unleash, 'repository');
  return typeof repository === 'object' && repository !== null ? repository : undefined;
}

function messageOf(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Is this SDK warning about fetching the flags (as opposed to e.g. the bootstrap)? */
function isFetchWarning(message: string): boolean {
  return message.includes('/client/features') || message.includes('keep alive');
}

export async function createUnleashToggleReader(options: UnleashToggleReaderOptions): Promise<UnleashToggleReader> {
  const {
    url,
    apiToken,
    appName,
    instanceId,
    bootstrapFile,
    environment = 'development',
    refreshIntervalMs = 1000,
    startTimeoutMs = 5000,
    logger,
  } = options;

  // Fail fast on a broken flags file: it is part of the service.
  const bootstrap = await loadBootstrapFromExportFile(bootstrapFile, environment);
  const online = url !== undefined && url !== '';

  let ready = false;
  let closed = false;
  let source: ToggleSourceStatus['source'] = 'bootstrap';
  let serverReachable: boolean | null = null;
  let lastError: string | null = null;
  let tokenRejected = false;

  // One poll at a time: started when the SDK asks for its request headers, settled by its outcome event.
  let inFlight = false;
  let settleWaiters: Array<() => void> = [];
  const settle = (): void => {
    inFlight = false;
    const waiters = settleWaiters;
    settleWaiters = [];
    for (const w of waiters) w();
  };
  const nextSettle = (): Promise<void> => new Promise<void>((resolve) => settleWaiters.push(resolve));

  // Start-up outcome: the server answered, or refused, or failed once.
  let firstOutcome: (() => void) | undefined;
  const firstOutcomePromise = new Promise<void>((resolve) => {
    firstOutcome = resolve;
  });
  let readyResolve: (() => void) | undefined;
  const readyPromise = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });

  const markReachable = (): void => {
    if (serverReachable === false) {
      // Said as loudly as the outage was, so that an operator watching warnings sees the recovery.
      logger.warn('Unleash server reachable again: flags come from the server', { url });
    } else if (serverReachable === null) {
      logger.info('Unleash server reached: flags now come from the server', { url });
    }
    source = 'unleash';
    serverReachable = true;
    lastError = null;
    firstOutcome?.();
  };

  const markUnreachable = (message: string): void => {
    const wasUsable = serverReachable !== false;
    serverReachable = false;
    lastError = message;
    if (wasUsable) {
      logger.warn(
        source === 'unleash'
          ? 'Unleash server not usable: keeping the last flags it sent'
          : `Unleash server not usable: serving the flags of ${bootstrapFile}`,
        { url, error: message },
      );
    }
    firstOutcome?.();
  };

  const unleash = new Unleash({
    // The SDK insists on a URL even when it never fetches; offline it is never contacted
    // (refreshInterval 0 skips every fetch, metrics are disabled).
    url: online ? url : 'http://127.0.0.1:9/offline-never-contacted/',
    appName,
    ...(instanceId !== undefined ? { instanceId } : {}),
    environment,
    refreshInterval: online ? refreshIntervalMs : 0,
    disableMetrics: true,
    disableAutoStart: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: {
      bootstrapProvider: {
        // The converter's output is the client-API JSON the SDK reads from a bootstrap file; its
        // constraint operators are plain strings where the SDK's typings use an enum. (The rule misreads an async
        // arrow's return as accepting anything; tsc rejects the line without the assertion.)
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        readBootstrap: async () => bootstrap as unknown as ClientFeaturesResponse,
      },
    },
    ...(online
      ? {
          customHeadersFunction: async (): Promise<Record<string, string>> => {
            // Only the feature poller calls this (metrics are disabled): a poll is starting.
            inFlight = true;
            return apiToken !== undefined ? { Authorization: apiToken } : {};
          },
        }
      : {}),
  });

  unleash.on('ready', () => {
    ready = true;
    readyResolve?.();
  });

  unleash.on('changed', () => {
    const connected = repositoryOf(unleash)?.connected;
    if (connected === true) {
      // Stored from an API answer (bootstrap data after that is ignored by the SDK).
      markReachable();
      if (inFlight) settle();
    }
  });

  unleash.on('unchanged', () => {
    // A 304 from the server: it confirmed the ETag of data it sent earlier.
    markReachable();
    settle();
  });

  // Always listen: an 'error' event without a listener would crash the process.
  unleash.on('error', (err: unknown) => {
    const message = messageOf(err);
    const pollFailed = inFlight && message.startsWith('Unleash Repository error');
    if (pollFailed) settle(); // also after close(): it is waiting for this poll
    if (closed) return;
    if (!pollFailed) {
      logger.error('Unleash SDK error', { error: message });
      return;
    }
    if (/responded (401|403)\b/.test(message)) {
      tokenRejected = true;
      logger.error(
        'Unleash refused the API token: the SDK stops polling for good; serving the last known flags until restart',
        { url, error: message },
      );
      serverReachable = false;
      lastError = message;
      firstOutcome?.();
      return;
    }
    markUnreachable(message);
  });

  unleash.on('warn', (msg: unknown) => {
    const message = messageOf(msg);
    const pollFailed = inFlight && isFetchWarning(message);
    if (pollFailed) settle();
    if (closed) return;
    if (pollFailed) markUnreachable(message);
    else logger.warn('Unleash SDK warning', { warning: message });
  });

  unleash.start().catch((err: unknown) => {
    logger.error('Unleash SDK failed to start', { error: messageOf(err) });
  });

  // Never hang: wait for the bootstrap and (online) the server's first answer, at most startTimeoutMs.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), startTimeoutMs);
  });
  const started = online ? Promise.all([readyPromise, firstOutcomePromise]) : readyPromise;
  const outcome = await Promise.race([started.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);

  if (outcome === 'timeout') {
    if (!ready) {
      logger.warn(`Unleash SDK not ready after ${startTimeoutMs} ms: the toggle reads off (legacy primary) until it is`, {
        bootstrapFile,
      });
    }
    if (online && serverReachable === null) {
      markUnreachable(`no answer from ${url} within ${startTimeoutMs} ms`);
    }
  }

  return {
    isNewEventsPrimary(companyId: string | null): boolean {
      // Before the SDK holds any flags it would answer its fallback and warn on every call.
      if (!ready) return false;
      return unleash.isEnabled(NEW_EVENT_TYPES_TOGGLE, {
        properties: { companyId: companyId ?? CLIENT_LEVEL_COMPANY_ID },
      });
    },

    status(): ToggleSourceStatus {
      return { source, serverReachable: online ? serverReachable : null, lastError };
    },

    definition(): ToggleDefinition {
      if (!ready) return { enabled: false, rolloutPercent: 0, legacyConsumer: true };
      // A flag missing from the server or the file reads on: the contract happens only when asked for.
      const legacyConsumer = unleash.getFeatureToggleDefinition(LEGACY_CONSUMER_TOGGLE) === undefined || unleash.isEnabled(LEGACY_CONSUMER_TOGGLE, {}, true);
      return { ...toggleDefinitionOf(unleash.getFeatureToggleDefinition(NEW_EVENT_TYPES_TOGGLE)), legacyConsumer };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // Destroying while a poll is still retrying makes its late failure an unhandled 'error'
      // (see RepositoryInternals), and its retry timer would outlive destroy(): let it settle first.
      if (inFlight && !tokenRejected) {
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([
          nextSettle(),
          new Promise<void>((resolve) => {
            bound = setTimeout(resolve, CLOSE_SETTLE_MAX_MS);
          }),
        ]);
        clearTimeout(bound);
      }
      // Let the poll's `finally` schedule its next timer, so that destroy() clears it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      unleash.destroy();
      repositoryOf(unleash)?.on?.('error', () => {});
    },
  };
}
