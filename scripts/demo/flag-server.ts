/**
 * The demo's flag server: serves flags/unleash-export.json in Unleash's client API shape
 * (GET /api/client/features), with the rollout and the two toggles set by the demo as it goes. The service reads
 * it through the Unleash SDK exactly as it reads a real server (UNLEASH_URL), so each flip reaches it by polling,
 * the way an operator's change in the Unleash UI would. Only what the SDK asks for is answered.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LEGACY_CONSUMER_TOGGLE, NEW_EVENT_TYPES_TOGGLE } from '../../src/domain/ports.js';
import { exportToBootstrap } from '../../src/flags/export-to-bootstrap.js';
import { parseUnleashExport, type UnleashExport } from '../../src/flags/unleash-export-schema.js';

export interface FlagState {
  newEventTypes: boolean;
  rolloutPercent: number;
  legacyConsumer: boolean;
}

export interface FlagServer {
  readonly url: string;
  set(state: Partial<FlagState>): void;
  close(): Promise<void>;
}

function exportFor(file: string, state: FlagState): UnleashExport {
  const source = parseUnleashExport(JSON.parse(readFileSync(file, 'utf8')));
  return {
    ...source,
    featureEnvironments: (source.featureEnvironments ?? []).map((e) =>
      e.featureName === NEW_EVENT_TYPES_TOGGLE ? { ...e, enabled: state.newEventTypes } : e.featureName === LEGACY_CONSUMER_TOGGLE ? { ...e, enabled: state.legacyConsumer } : e,
    ),
    featureStrategies: source.featureStrategies.map((s) =>
      s.featureName === NEW_EVENT_TYPES_TOGGLE && s.name === 'flexibleRollout' ? { ...s, parameters: { ...s.parameters, rollout: String(state.rolloutPercent) } } : s,
    ),
  };
}

export async function startFlagServer(file: string): Promise<FlagServer> {
  const state: FlagState = { newEventTypes: false, rolloutPercent: 0, legacyConsumer: true };
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET' && req.url?.startsWith('/api/client/features')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(exportToBootstrap(exportFor(file, state), 'development')));
      return;
    }
    // Registration and anything else the SDK may send: accepted, nothing to keep.
    res.writeHead(202).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    set: (next) => Object.assign(state, next),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
