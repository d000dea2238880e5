/**
 * The Node SDK's bootstrap wants the client-API shape (`GET /api/client/features`: `{version: 2, features:
 * [{name, enabled, strategies, variants…}]}`), while `flags/unleash-export.json` is in Unleash's export format
 * (unleash-export-schema.ts). This module derives the first from the second, mirroring what the server's
 * client API serves for one environment. Pure: no I/O.
 */
import { parseUnleashExport, type ExportConstraint, type ExportVariant, type UnleashExport } from './unleash-export-schema.js';

// ---- The bootstrap (client API) shape ----

export interface BootstrapConstraint {
  contextName: string;
  operator: string;
  values: string[];
  value?: string | number;
  inverted: boolean;
  caseInsensitive: boolean;
}

export interface BootstrapVariant {
  name: string;
  weight: number;
  weightType?: string;
  stickiness?: string;
  payload?: { type: string; value: string };
  overrides?: Array<{ contextName: string; values: string[] }>;
}

export interface BootstrapStrategy {
  name: string;
  constraints: BootstrapConstraint[];
  parameters: Record<string, string>;
  variants: BootstrapVariant[];
}

export interface BootstrapDependency {
  feature: string;
  enabled?: boolean;
  variants?: string[];
}

export interface BootstrapFeature {
  name: string;
  type?: string;
  description?: string;
  project?: string;
  enabled: boolean;
  stale?: boolean;
  impressionData?: boolean;
  strategies: BootstrapStrategy[];
  variants: BootstrapVariant[];
  dependencies?: BootstrapDependency[];
}

export interface UnleashBootstrap {
  version: 2;
  features: BootstrapFeature[];
}

/** The server's `ensureStringValue`: the client API sends every strategy parameter as a string. */
function toParameterString(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  // Objects, and the numbers and booleans of parsed JSON, which read the same as String() would make them.
  return JSON.stringify(value);
}

function toConstraint(c: ExportConstraint): BootstrapConstraint {
  const out: BootstrapConstraint = {
    contextName: c.contextName,
    operator: c.operator,
    values: c.values ?? [],
    inverted: c.inverted ?? false,
    caseInsensitive: c.caseInsensitive ?? false,
  };
  if (c.value !== undefined) out.value = c.value;
  return out;
}

function toVariant(v: ExportVariant): BootstrapVariant {
  const out: BootstrapVariant = { name: v.name, weight: v.weight };
  if (v.weightType !== undefined) out.weightType = v.weightType;
  if (v.stickiness !== undefined) out.stickiness = v.stickiness;
  if (v.payload !== undefined) out.payload = { type: v.payload.type, value: v.payload.value };
  if (v.overrides !== undefined) {
    out.overrides = v.overrides.map((o) => ({ contextName: o.contextName, values: [...o.values] }));
  }
  return out;
}

/**
 * Converts an Unleash export to the SDK's bootstrap for `environment`.
 *
 * An export holds one environment (its strategies carry no environment of their own). If the file's
 * `featureEnvironments` name environments and `environment` is not one of them, this throws rather
 * than silently serving another environment's rules. A flag with no entry for the environment is
 * off, as a new flag is on the server. Archived flags and disabled strategies are left out, as the
 * client API does; strategies are ordered by `sortOrder`. Segments cannot be converted (the export
 * carries only their ids and names, not their constraints), so a strategy using one is an error.
 */
export function exportToBootstrap(input: UnleashExport, environment: string): UnleashBootstrap {
  const data = parseUnleashExport(input);
  const envEntries = data.featureEnvironments ?? [];
  const environments = new Set(envEntries.flatMap((e) => (e.environment === undefined ? [] : [e.environment])));
  if (environments.size > 0 && !environments.has(environment)) {
    throw new Error(
      `The flags export is for environment(s) ${[...environments].join(', ')}, not "${environment}"`,
    );
  }

  const features = data.features
    .filter((feature) => feature.archived !== true)
    .map((feature): BootstrapFeature => {
      const envEntry = envEntries.find(
        (e) =>
          (e.featureName ?? e.name) === feature.name &&
          (e.environment === undefined || e.environment === environment),
      );
      const strategies = data.featureStrategies
        .map((s, index) => ({ s, index }))
        .filter(({ s }) => s.featureName === feature.name && s.disabled !== true)
        .sort((a, b) => (a.s.sortOrder ?? 0) - (b.s.sortOrder ?? 0) || a.index - b.index)
        .map(({ s }): BootstrapStrategy => {
          if (s.segments !== undefined && s.segments.length > 0) {
            throw new Error(
              `Flag "${feature.name}": strategy "${s.name}" uses segments ${s.segments.join(', ')}; ` +
                'an export does not carry segment constraints, so it cannot be turned into a bootstrap',
            );
          }
          const parameters: Record<string, string> = {};
          for (const [key, value] of Object.entries(s.parameters ?? {})) {
            parameters[key] = toParameterString(value);
          }
          return {
            name: s.name,
            constraints: (s.constraints ?? []).map(toConstraint),
            parameters,
            variants: (s.variants ?? []).map(toVariant),
          };
        });

      const out: BootstrapFeature = {
        name: feature.name,
        enabled: envEntry?.enabled ?? false,
        strategies,
        variants: (envEntry?.variants ?? []).map(toVariant),
      };
      if (feature.type !== undefined) out.type = feature.type;
      if (feature.description !== undefined && feature.description !== null) out.description = feature.description;
      if (feature.project !== undefined) out.project = feature.project;
      if (feature.stale !== undefined) out.stale = feature.stale;
      if (feature.impressionData !== undefined) out.impressionData = feature.impressionData;
      const deps = data.dependencies?.find((d) => d.feature === feature.name)?.dependencies;
      if (deps !== undefined && deps.length > 0) {
        out.dependencies = deps.map((d) => {
          const dep: BootstrapDependency = { feature: d.feature, enabled: d.enabled ?? true };
          if (d.variants !== undefined && d.variants.length > 0) dep.variants = [...d.variants];
          return dep;
        });
      }
      return out;
    });

  return { version: 2, features };
}
