/**
 * The shape of `flags/unleash-export.json`, the one source of truth for this service's flags: Unleash's
 * export format, the `data` object of `POST /api/admin/features-batch/export`, which an Unleash server also
 * reads at start-up through `IMPORT_FILE`. Only the parts that matter for evaluation are checked; the rest
 * is kept loose. export-to-bootstrap.ts turns it into what the Node SDK's bootstrap wants.
 */
import { z } from 'zod';

const constraintSchema = z.looseObject({
  contextName: z.string(),
  operator: z.string(),
  values: z.array(z.string()).optional(),
  value: z.union([z.string(), z.number()]).optional(),
  inverted: z.boolean().optional(),
  caseInsensitive: z.boolean().optional(),
});

const variantSchema = z.looseObject({
  name: z.string(),
  weight: z.number(),
  weightType: z.string().optional(),
  stickiness: z.string().optional(),
  payload: z.looseObject({ type: z.string(), value: z.string() }).optional(),
  overrides: z.array(z.looseObject({ contextName: z.string(), values: z.array(z.string()) })).optional(),
});

const exportFeatureSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().nullable().optional(),
  type: z.string().optional(),
  project: z.string().optional(),
  stale: z.boolean().optional(),
  impressionData: z.boolean().optional(),
  archived: z.boolean().optional(),
});

const exportStrategySchema = z.looseObject({
  name: z.string().min(1),
  featureName: z.string().min(1),
  title: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  constraints: z.array(constraintSchema).optional(),
  variants: z.array(variantSchema).optional(),
  disabled: z.boolean().nullable().optional(),
  segments: z.array(z.number()).optional(),
  sortOrder: z.number().optional(),
});

const exportFeatureEnvironmentSchema = z.looseObject({
  name: z.string().optional(),
  featureName: z.string().optional(),
  environment: z.string().optional(),
  enabled: z.boolean(),
  variants: z.array(variantSchema).optional(),
});

const exportDependencySchema = z.looseObject({
  feature: z.string(),
  dependencies: z.array(
    z.looseObject({
      feature: z.string(),
      enabled: z.boolean().optional(),
      variants: z.array(z.string()).optional(),
    }),
  ),
});

export const unleashExportSchema = z.looseObject({
  features: z.array(exportFeatureSchema),
  featureStrategies: z.array(exportStrategySchema),
  featureEnvironments: z.array(exportFeatureEnvironmentSchema).optional(),
  contextFields: z.array(z.looseObject({ name: z.string() })).optional(),
  featureTags: z.array(z.unknown()).optional(),
  segments: z.array(z.looseObject({ id: z.number(), name: z.string() })).optional(),
  tagTypes: z.array(z.unknown()),
  dependencies: z.array(exportDependencySchema).optional(),
  links: z.array(z.unknown()).optional(),
});

export type UnleashExport = z.infer<typeof unleashExportSchema>;
export type ExportConstraint = z.infer<typeof constraintSchema>;
export type ExportVariant = z.infer<typeof variantSchema>;

/** Checks that parsed JSON is an Unleash export (throws with the path of the first problem). */
export function parseUnleashExport(json: unknown): UnleashExport {
  const result = unleashExportSchema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : result.error.message;
    throw new Error(`Not an Unleash export (features-batch/export data): ${where}`);
  }
  return result.data;
}
