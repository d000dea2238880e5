/**
 * The service's Prometheus metrics, on a registry src/formats/index.ts creates (never the global
 * one, never at import time). No id ever becomes a label: labels are channels, domain types,
 * outcomes and reasons, all from closed sets (unknown wire types are counted under one label).
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { DOMAIN_EVENT_TYPES, carriageOf, type DomainEventType } from '../domain/domain-event.js';
import { STATEMENT_KINDS, type StatementCounter, type StatementKind } from '../store/sql-driver.js';

/**
 * `processMetrics: false` for a second registry in the same process (the background thread's):
 * CPU, memory and event-loop figures are exported once, by the service's main registry.
 */
export function createMetrics(registry: Registry = new Registry(), options: { processMetrics?: boolean } = {}) {
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  return {
    registry,
    webhooks: counter('codat_cutover_webhooks_received_total', 'Webhook requests by endpoint and outcome (stored, duplicate, unauthorized, malformed_json, …).', ['endpoint', 'outcome']),
    authFailures: counter('codat_cutover_auth_failures_total', 'Refused webhook requests by endpoint and reason.', ['endpoint', 'reason']),
    domainEvents: counter('codat_cutover_domain_events_total', 'Domain events by channel, type and role (primary: delivered from this copy; shadow: recorded only).', ['channel', 'type', 'role']),
    ledgerDecisions: counter('codat_cutover_ledger_decisions_total', 'What the ledger did with each copy: deliver, match, hold, shadow, duplicate.', ['channel', 'action']),
    rescued: counter('codat_cutover_rescued_total', 'Occurrences delivered from the shadow channel because no primary copy came within the grace period.', ['type']),
    unrecognised: counter('codat_cutover_unrecognised_total', 'Authentic webhooks of a type this service does not know: kept, not delivered.', ['channel']),
    quarantined: counter('codat_cutover_quarantined_total', 'Authentic webhooks that could not be converted: kept in quarantine with the reason.', ['channel', 'reason']),
    deliveries: counter('codat_cutover_deliveries_total', 'Delivery attempts to the downstream by outcome (delivered, failed, dead).', ['outcome']),
    toggleEvaluations: counter('codat_cutover_toggle_evaluations_total', 'Evaluations of the codat-new-event-types toggle by result (on: new events primary).', ['result']),
    toggleServerReachable: gauge('codat_cutover_flag_server_reachable', '1 when Unleash answers, 0 when the last known flags are in use, -1 with no Unleash configured.', []),
    occurrences: counter('codat_cutover_occurrences_total', 'Occurrences of types both channels carry, counted once when their correlation window closes, by which channels delivered a copy (both, legacy_only, events_only).', ['type', 'seen']),
    channelLag: new Histogram<'type' | 'late_channel'>({
      name: 'codat_cutover_channel_lag_seconds',
      help: 'How much later the second copy of an occurrence arrived, by the channel that was late.',
      labelNames: ['type', 'late_channel'],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers: [registry],
    }),
    mismatches: counter('codat_cutover_mismatches_total', 'Occurrences whose legacy and new conversions disagree, by field.', ['type', 'field']),
    duplicates: counter('codat_cutover_duplicates_total', 'Duplicates absorbed: redelivered webhooks (transport) and second copies from one channel (ledger).', ['channel', 'layer']),
    ready: gauge('codat_cutover_ready', '1 when the readiness verdict says the flip (or, after it, the contract) is safe.', []),
    verdict: gauge('codat_cutover_verdict', '1 for the current readiness verdict.', ['verdict']),
    toggleEnabled: gauge('codat_cutover_toggle_enabled', '1 when codat-new-event-types is enabled in this environment.', []),
    toggleRolloutPercent: gauge('codat_cutover_toggle_rollout_percent', 'Share of companies on the new channel according to the toggle definition (0–100).', []),
    toggleChanges: counter('codat_cutover_toggle_changes_total', 'Observed changes of the toggle definition (enabled or rollout): a fast rate means flapping.', []),
    legacyContracted: counter('codat_cutover_legacy_contracted_total', 'Legacy copies stored and acknowledged but not delivered because the legacy consumer is contracted (codat-legacy-consumer off), by type.', ['type']),
    legacyConsumerEnabled: gauge('codat_cutover_legacy_consumer_enabled', '1 while codat-legacy-consumer is on; 0 once the operator contracted the legacy consumer.', []),
    backlog: gauge('codat_cutover_backlog', 'Rows waiting in the store by kind (inbox, deliveries, dead_letters, quarantine, held).', ['kind']),
    storeStatements: counter(
      'codat_cutover_store_statements_total',
      'Statements the service sent to its store, by dialect (postgres, sqlite) and kind: acknowledged and redoable transactions (their durability) and migration (the schema migrator). Every statement counts, BEGIN, COMMIT, ROLLBACK and SET LOCAL included: on PostgreSQL each is one round trip.',
      ['dialect', 'kind'],
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Exports the known label sets at 0 from the start: prom-client only exports a labelled series
 * after its first increment, and Prometheus' increase() cannot see a series' first step.
 */
export function initialiseKnownSeries(metrics: Metrics): void {
  for (const type of Object.keys(DOMAIN_EVENT_TYPES) as DomainEventType[]) {
    if (carriageOf(type) === 'both') {
      for (const seen of ['both', 'legacy_only', 'events_only']) metrics.occurrences.inc({ type, seen }, 0);
      metrics.rescued.inc({ type }, 0);
    }
  }
  for (const outcome of ['delivered', 'failed', 'dead']) metrics.deliveries.inc({ outcome }, 0);
  metrics.toggleChanges.inc(0);
  metrics.ready.set(0);
}

/**
 * What a driver calls for every statement it sends (src/store/sql-driver.ts, `StatementCounter`), bound to one
 * dialect's series, which start at 0. Given to the driver where it is created, never imported by it.
 */
export function storeStatementCounter(metrics: Metrics, dialect: 'postgres' | 'sqlite'): StatementCounter {
  const series = Object.fromEntries(STATEMENT_KINDS.map((kind) => [kind, metrics.storeStatements.labels({ dialect, kind })])) as Record<StatementKind, { inc(n?: number): void }>;
  for (const kind of STATEMENT_KINDS) series[kind].inc(0);
  return (kind) => series[kind].inc();
}

const isServiceMetric = (name: string) => name.startsWith('codat_cutover_');

/**
 * The text of /metrics when another thread counts too (src/jobs/): the service's counters are
 * summed with the thread's, and the process figures are exported as the main registry has them
 * (`AggregatorRegistry` would drop some, e.g. `process_start_time_seconds`, which it never aggregates).
 */
export async function exportWithThreadMetrics(registry: Registry, threadMetrics: MetricObjectWithValues<MetricValue<string>>[]): Promise<string> {
  const own = await registry.getMetricsAsJSON();
  const processTexts = await Promise.all(own.filter((m) => !isServiceMetric(m.name)).map((m) => registry.getSingleMetricAsString(m.name)));
  const merged = await AggregatorRegistry.aggregate([own.filter((m) => isServiceMetric(m.name)), threadMetrics]).metrics();
  return `${processTexts.join('\n\n')}\n\n${merged}`;
}
