/**
 * `ToggleReader` backed by the Unleash Node SDK (`unleash-client`).
 *
 * - Always bootstrapped from `flags/unleash-export.json` (converted to the SDK's shape), kept in memory
 *   only (`InMemStorageProvider`: no backup file in the OS temp folder).
 * - Without `url`: fully offline — no polling, no metrics, no network at all.
 * - With `url`: polls the server. Start-up never waits longer than `startTimeoutMs`: on a refused
 *   token (after a 401/403 the SDK stops polling for good) or an unreachable server it logs a
 *   warning and keeps serving the bootstrap flags (or the last flags the server sent).
 * - `status()` is driven by the SDK's events, read by unleash-sdk-watch.ts.
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
import { exportToBootstrap, type UnleashBootstrap } from './export-to-bootstrap.js';
import { parseUnleashExport } from './unleash-export-schema.js';
import { createUnleashSdkWatch, messageOf, repositoryOf } from './unleash-sdk-watch.js';

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
  const watch = createUnleashSdkWatch({ url, online, bootstrapFile, logger });

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
            watch.pollStarted();
            return apiToken !== undefined ? { Authorization: apiToken } : {};
          },
        }
      : {}),
  });
  watch.attach(unleash);

  unleash.start().catch((err: unknown) => {
    logger.error('Unleash SDK failed to start', { error: messageOf(err) });
  });

  // Never hang: wait for the bootstrap and (online) the server's first answer, at most startTimeoutMs.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), startTimeoutMs);
  });
  const started = online ? Promise.all([watch.whenReady, watch.firstOutcome]) : watch.whenReady;
  const outcome = await Promise.race([started.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);

  if (outcome === 'timeout') {
    if (!watch.ready) {
      logger.warn(`Unleash SDK not ready after ${startTimeoutMs} ms: the toggle reads off (legacy primary) until it is`, {
        bootstrapFile,
      });
    }
    if (online && !watch.heardFromServer) {
      watch.markUnreachable(`no answer from ${url} within ${startTimeoutMs} ms`);
    }
  }

  return {
    isNewEventsPrimary(companyId: string | null): boolean {
      // Before the SDK holds any flags it would answer its fallback and warn on every call.
      if (!watch.ready) return false;
      return unleash.isEnabled(NEW_EVENT_TYPES_TOGGLE, {
        properties: { companyId: companyId ?? CLIENT_LEVEL_COMPANY_ID },
      });
    },

    status(): ToggleSourceStatus {
      return watch.status();
    },

    definition(): ToggleDefinition {
      if (!watch.ready) return { enabled: false, rolloutPercent: 0, legacyConsumer: true };
      // A flag missing from the server or the file reads on: the contract happens only when asked for.
      const legacyConsumer = unleash.getFeatureToggleDefinition(LEGACY_CONSUMER_TOGGLE) === undefined || unleash.isEnabled(LEGACY_CONSUMER_TOGGLE, {}, true);
      return { ...toggleDefinitionOf(unleash.getFeatureToggleDefinition(NEW_EVENT_TYPES_TOGGLE)), legacyConsumer };
    },

    async close(): Promise<void> {
      if (watch.stopped) return;
      watch.stop();
      // Destroying while a poll is still retrying makes its late failure an unhandled 'error'
      // (see repositoryOf), and its retry timer would outlive destroy(): let it settle first.
      if (watch.pollInFlight && !watch.tokenRejected) {
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([
          watch.nextSettle(),
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
