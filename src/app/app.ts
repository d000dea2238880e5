/**
 * Builds the Express app from its dependencies. Never listens: src/main.ts does.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { WebhookAuthenticator } from '../webhooks/webhook-authenticator.js';
import { safeEqual } from '../webhooks/webhook-authenticator.js';
import type { Clock, Logger, ToggleReader, ToggleSourceStatus } from '../domain/ports.js';
import type { InboxWriter } from '../webhooks/inbox-writer.js';
import { channelDetector, type WebhookFormat } from '../formats/webhook-format.js';
import { countUnreadableBodies, createWebhookReceiver } from '../webhooks/webhook-receiver.js';
import type { Metrics } from '../observability/metrics.js';
import type { CutoverStore } from '../cutover-store.js';
import type { StoreStartupStatus } from '../store/store-startup.js';
import { withTimeout } from '../store/store-unavailable.js';
import { renderCutoverPage, type CutoverReport } from '../readiness/cutover-page.js';
import { pageSecurityPolicy } from '../readiness/page-styles.js';
import { HttpError, createErrorHandler } from '../http/http-error.js';
import { requestDeadline } from '../http/request-deadline.js';
import { createCutoverLoginRoutes, requireCutoverReader } from './cutover-session.js';
import { createOperatorRoutes } from './operator-routes.js';
import { serveOpenApi } from './openapi.js';
import { accessLog } from '../http/access-log.js';
import type { Logger as PinoLogger } from 'pino';

export interface AppDeps {
  readonly formats: readonly { readonly format: WebhookFormat; readonly authenticate: WebhookAuthenticator }[];
  readonly inbox: InboxWriter;
  readonly store: CutoverStore;
  readonly toggle: ToggleReader;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Where the access log goes (src/http/access-log.ts); absent: none is written, request ids are still given. */
  readonly accessLog?: PinoLogger | undefined;
  readonly clock: Clock;
  readonly bodyLimitBytes: number;
  readonly adminToken: string | undefined;
  /** When set, `GET /metrics` requires `Authorization: Bearer <token>` (docs/security.md). */
  readonly metricsToken?: string | undefined;
  /** Said at start-up and in /readyz: e.g. an endpoint that accepts unsigned traffic. */
  readonly warnings: readonly string[];
  readonly onStored: () => void;
  /** The readiness report behind `GET /cutover`. */
  readonly cutoverReport: () => Promise<CutoverReport>;
  /** The text of `GET /metrics` (the service's registry, merged with the background thread's). Default: `metrics.registry`. */
  readonly exportMetrics?: () => Promise<string>;
  /** Every request is answered within this (503 when it cannot be); below Codat's 15 s. Default 10 s. */
  readonly requestDeadlineMs?: number;
  /** How long /readyz waits for the store's write check. Default 2 s. */
  readonly readyzTimeoutMs?: number;
  /** Where start-up is with the store (src/store/store-startup.ts). Default: ready. */
  readonly storeStartup?: () => StoreStartupStatus;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // No answer here is fetched conditionally, and a weak ETag hashes every body, webhook answers included.
  app.set('etag', false);
  // Every answer is JSON, text or the /cutover page, each with its type: no browser may guess another.
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff');
    next();
  });
  app.set('query parser', false);
  app.use(accessLog(deps.accessLog));
  app.use(requestDeadline(deps.requestDeadlineMs ?? 10_000));
  const detectChannel = channelDetector(deps.formats.map((f) => f.format));
  // Signatures are computed over the exact bytes: the body is read raw, whatever its content type.
  const rawBody = express.raw({ type: () => true, limit: deps.bodyLimitBytes });

  for (const { format, authenticate } of deps.formats) {
    app.post(
      format.path,
      rawBody,
      createWebhookReceiver({
        endpoint: format.channel,
        authenticate,
        detectChannel,
        inbox: deps.inbox,
        metrics: deps.metrics,
        logger: deps.logger,
        clock: deps.clock,
        onStored: deps.onStored,
      }),
      countUnreadableBodies(format.channel, deps.metrics, deps.logger),
    );
  }

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const toggle = deps.toggle.status();
    const startup = deps.storeStartup?.() ?? { state: 'ready' };
    let store: 'ok' | 'starting' | 'unavailable' = 'ok';
    let storeError: string | null = null;
    if (startup.state !== 'ready') {
      store = startup.state === 'waiting' ? 'starting' : 'unavailable';
      storeError = startup.lastError;
    } else {
      try {
        // A write check with its own limit: a frozen store is "not ready" now, not after the load balancer gave up.
        await withTimeout(deps.store.ping(), deps.readyzTimeoutMs ?? 2000, 'the store check');
      } catch (error) {
        store = 'unavailable';
        storeError = error instanceof Error ? error.message : String(error);
      }
    }
    res.status(store === 'ok' ? 200 : 503).json({
      status: store === 'ok' ? 'ready' : 'not-ready',
      store,
      storeError,
      flags: toggle,
      warnings: [...deps.warnings, ...flagWarnings(toggle)],
    });
  });

  app.get('/metrics', ...(deps.metricsToken === undefined ? [] : [requireMetricsToken(deps.metricsToken)]), async (_req, res) => {
    await refreshBacklog(deps).catch(() => undefined);
    const text = deps.exportMetrics ? await deps.exportMetrics() : await deps.metrics.registry.metrics();
    res.set('content-type', deps.metrics.registry.contentType).send(text);
  });

  // Read-only and id-free, so readable without a token unless the operator set one.
  app.use(createCutoverLoginRoutes(deps.adminToken));
  app.get('/cutover', ...(deps.adminToken === undefined ? [] : [requireCutoverReader(deps.adminToken)]), async (req, res) => {
    const report = await deps.cutoverReport();
    if (req.accepts(['application/json', 'text/html']) === 'text/html') {
      res.type('html').set('content-security-policy', pageSecurityPolicy()).send(renderCutoverPage(report));
      return;
    }
    res.json(report);
  });

  app.get('/openapi.json', serveOpenApi(deps));

  const admin = express.Router();
  admin.use(requireAdmin(deps.adminToken));
  admin.use(createOperatorRoutes(deps));
  app.use('/admin', admin);

  app.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such route.')));
  app.use(createErrorHandler(deps.logger));
  return app;
}

/** Says which flags are in use when Unleash is not: the ones it last sent, or the bootstrap from flags/. */
function flagWarnings(toggle: ToggleSourceStatus): string[] {
  if (toggle.serverReachable !== false) return [];
  if (/\b(401|403)\b/.test(toggle.lastError ?? '')) {
    return ['Unleash refused the API token: the SDK stops polling until restart; flags come from flags/ (bootstrap)'];
  }
  return [toggle.source === 'unleash' ? 'Unleash is unreachable: using the last flags it sent' : 'Unleash is unreachable: using the bootstrap flags from flags/'];
}

function requireAdmin(adminToken: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (adminToken === undefined) {
      next(new HttpError(403, 'admin_disabled', 'Operator endpoints are off: set ADMIN_TOKEN to enable them.'));
      return;
    }
    const offered = req.headers.authorization ?? '';
    if (!safeEqual(offered, `Bearer ${adminToken}`)) {
      next(new HttpError(401, 'invalid_admin_token', 'A valid operator token is required.'));
      return;
    }
    next();
  };
}

function requireMetricsToken(metricsToken: string): RequestHandler {
  return (req, _res, next) => {
    if (!safeEqual(req.headers.authorization ?? '', `Bearer ${metricsToken}`)) {
      next(new HttpError(401, 'invalid_metrics_token', 'A valid metrics token is required.'));
      return;
    }
    next();
  };
}

async function refreshBacklog(deps: AppDeps): Promise<void> {
  const counts = await deps.store.counts();
  const { backlog, toggleServerReachable } = deps.metrics;
  backlog.set({ kind: 'inbox' }, counts.inboxPending);
  backlog.set({ kind: 'deliveries' }, counts.deliveriesPending);
  backlog.set({ kind: 'dead_letters' }, counts.deadLetters);
  backlog.set({ kind: 'quarantine' }, counts.quarantined);
  backlog.set({ kind: 'held' }, counts.held);
  const reachable = deps.toggle.status().serverReachable;
  toggleServerReachable.set(reachable === null ? -1 : reachable ? 1 : 0);
}
