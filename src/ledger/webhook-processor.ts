/**
 * Takes stored webhooks out of the inbox, converts them into domain events and runs them
 * through the ledger. Runs after the HTTP answer, from the store, so a crash between the two
 * loses nothing: unsettled rows are claimed again when their lease runs out.
 */
import type { Channel, Conversion } from '../domain/domain-event.js';
import type { Clock, Logger, ToggleReader } from '../domain/ports.js';
import { primaryChannel } from '../domain/ports.js';
import type { Converter } from '../formats/webhook-format.js';
import type { Metrics } from '../observability/metrics.js';
import { contractConversion } from './legacy-contract.js';
import type { InboxStore, StoredWebhook } from '../webhooks/inbox-store.js';
import { PartlySettled, type LedgerPolicy, type LedgerStore, type SettleResult } from './ledger-store.js';

/**
 * The primary channel for each company id of a batch (null: a client-level event), read from the
 * toggle just before the batch is settled. Asynchronous because the toggle may live on another
 * thread than the processor (src/jobs/).
 */
export type PrimaryChannels = (companyIds: readonly (string | null)[]) => readonly Channel[] | Promise<readonly Channel[]>;

/** Reads the toggle once per event and counts each evaluation. */
export function primaryChannelsFromToggle(toggle: ToggleReader, metrics: Metrics): PrimaryChannels {
  return (companyIds) =>
    companyIds.map((companyId) => {
      const primary = primaryChannel(toggle, companyId);
      metrics.toggleEvaluations.inc({ result: primary === 'events' ? 'on' : 'off' });
      return primary;
    });
}

/** Is `codat-legacy-consumer` on (not contracted)? Read once per batch, right after the primary channels. */
export type LegacyConsumer = () => boolean | Promise<boolean>;

export interface WebhookProcessor {
  /**
   * Settles everything claimable now, batch after batch, and resolves with how many it settled; ends after the
   * batch in flight once `signal` aborts (what it leaves stays pending). The scheduler runs it (src/jobs/).
   */
  drain(signal?: AbortSignal): Promise<number>;
}

export function createWebhookProcessor(deps: {
  store: Pick<InboxStore, 'claimPending'> & Pick<LedgerStore, 'settleBatch'>;
  /** By channel; a channel whose format was removed (the contract phase) converts nothing: its webhooks stay unrecognised. */
  converters: Readonly<Partial<Record<Channel, Converter>>>;
  primaryChannels: PrimaryChannels;
  /** Absent: never contracted. */
  legacyConsumer?: LegacyConsumer;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  graceMs: number;
  windowMs: number;
  batchSize?: number;
  leaseMs?: number;
}): WebhookProcessor {
  const { store, converters, metrics, logger, clock } = deps;
  // The pipeline sets it by store (settleBatchSize, src/jobs/pipeline.ts).
  const batchSize = deps.batchSize ?? 50;
  const leaseMs = deps.leaseMs ?? 15_000;

  /** The ledger's policy for one batch: every event's primary channel, read once before settling. */
  async function policyFor(conversions: readonly Conversion[]): Promise<LedgerPolicy> {
    const companyIds = conversions.flatMap((c) => (c.kind === 'converted' ? c.events.map((e) => e.companyId) : []));
    const channels = await deps.primaryChannels(companyIds);
    const primaries = new Map(companyIds.map((companyId, i) => [companyId, channels[i]]));
    return {
      graceMs: deps.graceMs,
      windowMs: deps.windowMs,
      primaryFor(companyId) {
        const primary = primaries.get(companyId);
        if (!primary) throw new Error(`no primary channel was read for company ${String(companyId)}`);
        return primary;
      },
    };
  }

  function convert(webhook: StoredWebhook): Conversion {
    let body: unknown;
    try {
      body = JSON.parse(webhook.body.toString('utf8'));
    } catch {
      return { kind: 'invalid', source: { channel: webhook.channel, id: null, type: null }, reason: 'malformed_json' };
    }
    // Identifiers neither database can hold are quarantined by the store (src/domain/conversion-screening.ts).
    const converter = converters[webhook.channel];
    if (!converter) return { kind: 'unrecognised', source: { channel: webhook.channel, id: null, type: null }, reason: 'format_removed' };
    return converter(body);
  }

  /** Debug lines by request id and occurrence id: with the receiver's and the delivery's, a webhook's whole life. */
  function logSettled(webhook: StoredWebhook, result: SettleResult): void {
    const log = webhook.requestId ? logger.child({ requestId: webhook.requestId }) : logger;
    log.debug('webhook converted', { inboxId: webhook.inboxId, channel: webhook.channel, state: result.state, detail: result.detail, copies: result.copies.length });
    for (const copy of result.copies) {
      log.debug('occurrence decided', { occurrenceId: copy.occurrenceId, type: copy.type, channel: copy.channel, action: copy.action, reason: copy.reason });
    }
  }

  function count(webhook: StoredWebhook, result: SettleResult, conversion: Conversion | undefined): void {
    logSettled(webhook, result);
    if (result.state === 'unrecognised') metrics.unrecognised.inc({ channel: webhook.channel });
    if (result.detail === 'contracted') {
      // Counted from what settled, so a batch that rolls back and is claimed again is not counted twice.
      const types = conversion?.kind === 'converted' ? (conversion.contracted ?? []) : [];
      for (const type of types) metrics.legacyContracted.inc({ type });
    }
    if (result.state === 'quarantined') metrics.quarantined.inc({ channel: webhook.channel, reason: result.detail ?? 'unknown' });
    for (const copy of result.copies) {
      metrics.ledgerDecisions.inc({ channel: copy.channel, action: copy.action });
      metrics.domainEvents.inc({ channel: copy.channel, type: copy.type, role: copy.action === 'deliver' ? 'primary' : 'shadow' });
      if (copy.action === 'duplicate') metrics.duplicates.inc({ channel: copy.channel, layer: 'ledger' });
      if (copy.lagMs !== null && copy.lateChannel !== null) {
        metrics.channelLag.observe({ type: copy.type, late_channel: copy.lateChannel }, copy.lagMs / 1000);
      }
      for (const field of copy.mismatches) metrics.mismatches.inc({ type: copy.type, field });
    }
  }

  async function drain(signal?: AbortSignal): Promise<number> {
    let settled = 0;
    while (!signal?.aborted) {
      const batch = await store.claimPending(clock.now(), batchSize, leaseMs);
      if (batch.length === 0) return settled;
      const converted = batch.map((webhook) => ({ webhook, conversion: convert(webhook) }));

      const policy = await policyFor(converted.map((item) => item.conversion));
      const contracted = deps.legacyConsumer ? !(await deps.legacyConsumer()) : false;
      const items = contracted
        ? converted.map(({ webhook, conversion }) => ({ webhook, conversion: contractConversion(webhook.channel, conversion, policy) }))
        : converted;
      const countAll = (results: readonly (SettleResult | undefined)[]) =>
        results.forEach((result, i) => {
          const webhook = batch[i];
          if (webhook && result) count(webhook, result, items[i]?.conversion);
        });
      try {
        countAll(await store.settleBatch(items, policy));
        settled += batch.length;
      } catch (error) {
        if (!(error instanceof PartlySettled)) throw error;
        // What committed is counted now (it will not be claimed again). What failed keeps its lease, so the pass
        // goes on with the next batch, and it is claimed again when the lease ends (or quarantined, at the bound).
        countAll(error.settled);
        settled += error.settled.filter((result) => result !== undefined).length;
        logger.warn('some stored webhooks could not be settled; they are retried when their lease ends', {
          failed: error.settled.filter((result) => result === undefined).length,
          error: String(error.failure),
        });
      }
      // Let requests in between batches: SQLite work is synchronous and would otherwise hold the loop.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return settled;
  }

  return { drain };
}
