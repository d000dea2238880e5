/**
 * The whole cutover against real servers: a real Unleash server provisioned from flags/, two
 * service replicas (child processes) on one real PostgreSQL, a recording downstream. The toggle is
 * flipped through Unleash's Admin API while webhooks flow.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertEventWebhook } from '../../src/formats/events/event-webhook-mapper.js';
import { convertLegacyWebhook } from '../../src/formats/legacy/legacy-webhook-mapper.js';
import { generateOccurrence, seededRandom, type GeneratedOccurrence } from '../../tools/occurrence-generator.js';
import { allSampleNames, sampleText } from '../support/samples.js';
import { TEST_SECRET, signedHeaders } from '../../tools/signing.js';
import { startDownstreamRecorder, waitFor, type RecordedRequest } from './support/downstream-recorder.js';
import { createTestDatabase } from '../../tools/postgres.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { startUnleashServer, type UnleashTestServer } from './support/unleash-server.js';

const FLAG = 'codat-new-event-types';
const GRACE_SECONDS = 15;
/** Unleash clients poll every 250 ms here; the server bumps its revision once a second (UNLEASH.md: median 0.75 s). */
const PROPAGATION_MS = 4000;

/**
 * The samples with every UUID replaced consistently and the rate-limit expiries moved to another
 * day, so that each set is a fresh batch of occurrences (rate limits are keyed on their expiry).
 */
function freshSamples(): Map<string, string> {
  const replacements = new Map<string, string>();
  const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  const expiry = /"(expiryDate|ExpiresUtc)":"([^"]+)"/g;
  const shiftDays = 1 + Math.floor(Math.random() * 100_000);
  const shifted = (date: string) => new Date(Date.parse(date) + shiftDays * 86_400_000).toISOString();
  return new Map(allSampleNames().map((name) => [name, JSON.stringify(JSON.parse(sampleText(name)))
    .replace(uuid, (found) => {
      const fresh = replacements.get(found) ?? randomUUID();
      replacements.set(found, fresh);
      return fresh;
    })
    .replace(expiry, (_all, field: string, date: string) => `"${field}":"${shifted(date)}"`)]));
}

const channelOf = (r: RecordedRequest) => (r.body.source as { channel: string }).channel;

describe('cutover end to end (real Unleash, PostgreSQL, two replicas)', () => {
  let unleash: UnleashTestServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let recorder: Awaited<ReturnType<typeof startDownstreamRecorder>>;
  let replicas: ServiceProcess[] = [];

  async function post(replica: ServiceProcess, channel: string, body: string, webhookId = `msg_${randomUUID()}`): Promise<number> {
    const response = await fetch(`${replica.url}/webhooks/codat/${channel}`, { method: 'POST', headers: signedHeaders(body, { id: webhookId }), body });
    await response.arrayBuffer();
    return response.status;
  }

  async function sendSamples(set: Map<string, string>): Promise<void> {
    let i = 0;
    for (const [name, body] of set) {
      const replica = replicas[i++ % replicas.length];
      if (!replica) throw new Error('no replica');
      expect(await post(replica, name.startsWith('legacy-') ? 'legacy' : 'events', body), name).toBe(202);
    }
  }

  /** Deliveries whose source is one of the set's webhooks (by AlertId / id: fresh in every set). */
  const deliveriesFor = (set: Map<string, string>) => {
    const sourceIds = new Set([...set.values()].map((body) => {
      const parsed = JSON.parse(body) as { AlertId?: string; id?: string };
      return parsed.AlertId ?? parsed.id;
    }));
    return recorder.received.filter((r) => sourceIds.has((r.body.source as { id: string }).id));
  };

  beforeAll(async () => {
    [unleash, database, recorder] = await Promise.all([startUnleashServer(), createTestDatabase(), startDownstreamRecorder()]);
    const env = {
      DATABASE_URL: database.url,
      UNLEASH_URL: unleash.url,
      UNLEASH_API_TOKEN: unleash.clientToken,
      UNLEASH_REFRESH_MS: '250',
      DOWNSTREAM_URL: recorder.url,
      CODAT_EVENTS_SECRET: TEST_SECRET,
      CODAT_LEGACY_SECRET: TEST_SECRET,
      CUTOVER_GRACE_SECONDS: String(GRACE_SECONDS),
      CORRELATION_WINDOW_SECONDS: '600',
    };
    // Together, as a deployment starts them: they take turns creating the schema. Both are kept even if one fails
    // to start, so that afterAll ends the other.
    const started = await Promise.allSettled(['cutover-a', 'cutover-b'].map((name) => startServiceProcess({ ...env, UNLEASH_APP_NAME: name })));
    replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    await Promise.all([unleash?.stop(), recorder?.close()]);
    await database?.drop();
  });

  it('when the toggle is off in Unleash, then only legacy-derived events reach the downstream', async () => {
    const set = freshSamples();
    const expectedLegacy = [...set].filter(([n]) => n.startsWith('legacy-'))
      .flatMap(([, body]) => { const c = convertLegacyWebhook(JSON.parse(body)); return c.kind === 'converted' ? c.events : []; });
    await sendSamples(set);
    await waitFor(() => deliveriesFor(set).length >= expectedLegacy.length, 20_000, 'legacy deliveries');
    const delivered = deliveriesFor(set);
    // Taken before the grace period ends: no rescue has happened yet.
    expect(delivered.map(channelOf).every((c) => c === 'legacy')).toBe(true);
    expect(delivered.map((d) => d.body.type).sort()).toEqual(expectedLegacy.map((e) => e.type).sort());
  });

  it('when the toggle is flipped on through the Admin API, then new-event-derived events are delivered, plus the legacy types with no replacement', async () => {
    await unleash.admin.enable(FLAG);
    await new Promise((r) => setTimeout(r, PROPAGATION_MS));
    const set = freshSamples();
    const converted = [...set].filter(([n]) => n.startsWith('event-'))
      .flatMap(([, body]) => { const c = convertEventWebhook(JSON.parse(body)); return c.kind === 'converted' ? c.events : []; });
    // The read.completed* samples share one generatedDate, company and connection: a data type in several of them
    // is one read told under several event types, delivered once (docs/correlation.md).
    const expectedEvents = [...new Map(converted.map((e) => [`${e.type}|${e.correlationKey}`, e])).values()];
    await sendSamples(set);
    await waitFor(() => deliveriesFor(set).length >= expectedEvents.length + 2, 20_000, 'new-event deliveries').catch((error: unknown) => {
      const got = deliveriesFor(set).map((d) => `${channelOf(d)}:${String(d.body.type)}`).sort();
      throw new Error(`${String(error)}; expected ${expectedEvents.length} from events + 2 from legacy, got ${got.length}: ${got.join(', ')}`);
    });
    const delivered = deliveriesFor(set);
    const fromLegacy = delivered.filter((d) => channelOf(d) === 'legacy').map((d) => d.body.type).sort();
    expect(fromLegacy).toEqual(['company.accountCategoriesUpdated', 'expenses.syncStarted']);
    expect(delivered.filter((d) => channelOf(d) === 'events')).toHaveLength(expectedEvents.length);
    const ids = delivered.map((d) => d.idempotencyKey);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('when the toggle flips many times while both replicas take traffic, then each occurrence is delivered once', async () => {
    const random = seededRandom(99);
    const occurrences: GeneratedOccurrence[] = Array.from({ length: 600 }, () => generateOccurrence({ random, oneSidedShare: 0.1, redeliveryShare: 0.1 }));
    const sends = occurrences.flatMap((o) => o.copies.map((copy) => ({ o, copy })));
    for (let i = sends.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [sends[i], sends[j]] = [sends[j]!, sends[i]!];
    }
    let flips = 0;
    let on = true;
    const flipper = setInterval(() => {
      on = !on;
      flips += 1;
      (on ? unleash.admin.enable(FLAG) : unleash.admin.disable(FLAG)).catch(() => undefined);
    }, 500);
    try {
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < sends.length) {
          const send = sends[next++];
          if (!send) return;
          const replica = replicas[Math.floor(random() * replicas.length)];
          if (!replica) return;
          expect([200, 202]).toContain(await post(replica, send.copy.channel, send.copy.body, send.copy.webhookId));
          await new Promise((r) => setTimeout(r, 50));
        }
      }));
    } finally {
      clearInterval(flipper);
    }
    const companies = new Set(occurrences.map((o) => o.companyId));
    const count = () => {
      const per = new Map<string, number>();
      for (const r of recorder.received) {
        if (!companies.has(r.body.companyId as string)) continue;
        const key = `${String(r.body.companyId)}|${String(r.body.type)}`;
        per.set(key, (per.get(key) ?? 0) + 1);
      }
      return per;
    };
    const mustArrive = occurrences.filter((o) => o.kind !== 'events-only');
    await waitFor(() => { const per = count(); return mustArrive.every((o) => per.has(`${o.companyId}|${o.domainType}`)); },
      (GRACE_SECONDS + 30) * 1000, 'every occurrence to be delivered (rescues included)');
    await new Promise((r) => setTimeout(r, 1500));
    const per = count();
    const doubled = [...per.values()].filter((n) => n > 1).length;
    const lost = mustArrive.filter((o) => !per.has(`${o.companyId}|${o.domainType}`)).length;
    console.log(`end-to-end: occurrences=${occurrences.length} copies=${sends.length} flips=${flips} replicas=${replicas.length} deliveries=${[...per.values()].reduce((a, b) => a + b, 0)} lost=${lost} doubled=${doubled}`);
    expect(flips).toBeGreaterThanOrEqual(8);
    expect({ lost, doubled }).toEqual({ lost: 0, doubled: 0 });
  });
});
