import { readFileSync } from 'node:fs';
import { InMemStorageProvider, Unleash, type ClientFeaturesResponse } from 'unleash-client';
import { afterEach, describe, expect, it } from 'vitest';
import { exportToBootstrap, type UnleashBootstrap } from '../../src/flags/export-to-bootstrap.js';
import { parseUnleashExport, type UnleashExport } from '../../src/flags/unleash-export-schema.js';

const repoExport = (): UnleashExport =>
  parseUnleashExport(JSON.parse(readFileSync(new URL('../../flags/unleash-export.json', import.meta.url), 'utf8')));

/**
 * A crafted export: a constraint on companyId, an inverted case-insensitive constraint, a disabled
 * strategy, sortOrder, a numeric parameter, environment variants, and a flag with no environment entry.
 */
const crafted = (): UnleashExport =>
  parseUnleashExport({
    features: [
      { name: 'crafted-constrained', description: 'constrained', type: 'experiment', project: 'default', stale: false, impressionData: true, archived: false },
      { name: 'crafted-no-env', type: 'release', project: 'default', stale: false, impressionData: false, archived: false },
    ],
    featureStrategies: [
      { name: 'default', featureName: 'crafted-constrained', title: 'off for now', parameters: {}, constraints: [], variants: [], disabled: true, segments: [], sortOrder: 0 },
      {
        name: 'flexibleRollout',
        featureName: 'crafted-constrained',
        title: null,
        parameters: { groupId: 'crafted-constrained', rollout: 100, stickiness: 'companyId' },
        constraints: [{ contextName: 'companyId', operator: 'IN', values: ['c-1', 'c-2'], inverted: false, caseInsensitive: false }],
        variants: [],
        disabled: false,
        segments: [],
        sortOrder: 2,
      },
      {
        name: 'default',
        featureName: 'crafted-constrained',
        title: null,
        parameters: {},
        constraints: [{ contextName: 'region', operator: 'STR_STARTS_WITH', values: ['EU'], inverted: true, caseInsensitive: true }],
        variants: [],
        disabled: false,
        segments: [],
        sortOrder: 1,
      },
      { name: 'flexibleRollout', featureName: 'crafted-no-env', parameters: { groupId: 'crafted-no-env', rollout: '50', stickiness: 'default' }, constraints: [] },
    ],
    featureEnvironments: [
      {
        enabled: true,
        featureName: 'crafted-constrained',
        environment: 'development',
        name: 'crafted-constrained',
        variants: [
          { name: 'a', weight: 500, weightType: 'variable', stickiness: 'companyId', overrides: [] },
          { name: 'b', weight: 500, weightType: 'variable', stickiness: 'companyId', overrides: [], payload: { type: 'string', value: 'bee' } },
        ],
      },
    ],
    contextFields: [
      { name: 'companyId', description: 'Codat company id', stickiness: true, sortOrder: 0, legalValues: [] },
      { name: 'region', description: 'region', stickiness: false, sortOrder: 1, legalValues: [] },
    ],
    featureTags: [],
    segments: [],
    tagTypes: [],
    dependencies: [],
    links: [],
  });

/** Offline SDK instances made by a test; destroyed after it (NODE_ENV=test keeps SDK timers alive). */
const instances: Unleash[] = [];
afterEach(() => {
  for (const u of instances.splice(0)) u.destroy();
});

async function offlineSdk(bootstrap: UnleashBootstrap): Promise<Unleash> {
  const unleash = new Unleash({
    url: 'http://127.0.0.1:9/never-contacted/',
    appName: 'export-to-bootstrap-test',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: bootstrap.features as unknown as ClientFeaturesResponse['features'] },
  });
  instances.push(unleash);
  unleash.on('error', () => {});
  await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
  return unleash;
}

describe('exportToBootstrap', () => {
  it('turns the repo flags file into the client-API shape: codat-new-event-types off, 100% rollout on companyId; codat-legacy-consumer on', () => {
    expect(exportToBootstrap(repoExport(), 'development')).toEqual({
      version: 2,
      features: [
        {
          name: 'codat-new-event-types',
          type: 'release',
          enabled: false,
          project: 'default',
          stale: false,
          impressionData: false,
          description: expect.any(String),
          strategies: [
            {
              name: 'flexibleRollout',
              constraints: [],
              parameters: { groupId: 'codat-new-event-types', rollout: '100', stickiness: 'companyId' },
              variants: [],
            },
          ],
          variants: [],
        },
        {
          name: 'codat-legacy-consumer',
          type: 'kill-switch',
          enabled: true,
          project: 'default',
          stale: false,
          impressionData: false,
          description: expect.any(String),
          strategies: [{ name: 'default', constraints: [], parameters: {}, variants: [] }],
          variants: [],
        },
      ],
    });
  });

  it('the repo file keeps the legacy consumer on (not contracted) for every company', async () => {
    const sdk = await offlineSdk(exportToBootstrap(repoExport(), 'development'));
    expect(sdk.isEnabled('codat-legacy-consumer', { properties: { companyId: 'c-1' } })).toBe(true);
    expect(sdk.isEnabled('codat-legacy-consumer', {})).toBe(true);
  });

  it('the repo file evaluates off for every company; switched on, on for companies and "(client)" but never without a companyId', async () => {
    const off = await offlineSdk(exportToBootstrap(repoExport(), 'development'));
    expect(off.isEnabled('codat-new-event-types', { properties: { companyId: 'c-1' } })).toBe(false);
    expect(off.isEnabled('codat-new-event-types', { properties: { companyId: '(client)' } })).toBe(false);

    const on = repoExport();
    on.featureEnvironments = (on.featureEnvironments ?? []).map((e) => ({ ...e, enabled: true }));
    const sdk = await offlineSdk(exportToBootstrap(on, 'development'));
    expect(sdk.isEnabled('codat-new-event-types', { properties: { companyId: 'c-1' } })).toBe(true);
    expect(sdk.isEnabled('codat-new-event-types', { properties: { companyId: '(client)' } })).toBe(true);
    // A flexibleRollout on a custom stickiness field is off when the field is missing.
    expect(sdk.isEnabled('codat-new-event-types', {})).toBe(false);
  });

  it('converts a crafted export with constraints as the server serves it', () => {
    // Expected = what unleash-server 8.2.0 served at GET /api/client/features after importing this
    // very file with IMPORT_FILE (query/meta dropped; the server also sends `description: null`
    // for a flag without one, which the converter leaves out).
    expect(exportToBootstrap(crafted(), 'development')).toEqual({
      version: 2,
      features: [
        {
          name: 'crafted-constrained',
          type: 'experiment',
          enabled: true,
          project: 'default',
          stale: false,
          strategies: [
            {
              name: 'default',
              constraints: [{ values: ['EU'], inverted: true, operator: 'STR_STARTS_WITH', contextName: 'region', caseInsensitive: true }],
              parameters: {},
              variants: [],
            },
            {
              name: 'flexibleRollout',
              constraints: [{ values: ['c-1', 'c-2'], inverted: false, operator: 'IN', contextName: 'companyId', caseInsensitive: false }],
              parameters: { groupId: 'crafted-constrained', rollout: '100', stickiness: 'companyId' },
              variants: [],
            },
          ],
          variants: [
            { name: 'a', weight: 500, overrides: [], stickiness: 'companyId', weightType: 'variable' },
            { name: 'b', weight: 500, payload: { type: 'string', value: 'bee' }, overrides: [], stickiness: 'companyId', weightType: 'variable' },
          ],
          description: 'constrained',
          impressionData: true,
        },
        {
          name: 'crafted-no-env',
          type: 'release',
          enabled: false,
          project: 'default',
          stale: false,
          strategies: [
            {
              name: 'flexibleRollout',
              constraints: [],
              parameters: { groupId: 'crafted-no-env', rollout: '50', stickiness: 'default' },
              variants: [],
            },
          ],
          variants: [],
          impressionData: false,
        },
      ],
    });
  });

  it('the crafted bootstrap evaluates its constraints in the SDK', async () => {
    const sdk = await offlineSdk(exportToBootstrap(crafted(), 'development'));
    const on = (companyId: string, region: string): boolean =>
      sdk.isEnabled('crafted-constrained', { properties: { companyId, region } });
    expect(on('c-1', 'eu-west')).toBe(true); // in the IN list
    expect(on('c-9', 'eu-west')).toBe(false); // not listed, region starts with "EU" (case-insensitive, inverted)
    expect(on('c-9', 'us-east')).toBe(true); // the inverted constraint lets it through
    expect(sdk.isEnabled('crafted-no-env', { userId: 'u' })).toBe(false);
    expect(['a', 'b']).toContain(sdk.getVariant('crafted-constrained', { properties: { companyId: 'c-1', region: 'eu' } }).name);
  });

  it('refuses an export of another environment', () => {
    expect(() => exportToBootstrap(repoExport(), 'production')).toThrow(/environment\(s\) development, not "production"/);
  });

  it('leaves archived flags out and refuses strategies that use segments', () => {
    const archived = crafted();
    archived.features = archived.features.map((f) => (f.name === 'crafted-no-env' ? { ...f, archived: true } : f));
    expect(exportToBootstrap(archived, 'development').features.map((f) => f.name)).toEqual(['crafted-constrained']);

    const withSegment = crafted();
    withSegment.featureStrategies = withSegment.featureStrategies.map((s) =>
      s.featureName === 'crafted-no-env' ? { ...s, segments: [7] } : s,
    );
    expect(() => exportToBootstrap(withSegment, 'development')).toThrow(/uses segments 7/);
  });

  it('rejects a file that is not in the export format (e.g. the bootstrap shape itself)', () => {
    const bootstrapShape = exportToBootstrap(repoExport(), 'development');
    expect(() => parseUnleashExport(bootstrapShape)).toThrow(/Not an Unleash export/);
  });
});
