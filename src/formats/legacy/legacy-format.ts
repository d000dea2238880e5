import type { WebhookFormat } from '../webhook-format.js';
import { convertLegacyWebhook, isLegacyShapedBody } from './legacy-webhook-mapper.js';
import { legacyWebhookBodySchema } from './legacy-webhook-schema.js';

/** Codat's legacy "rules" webhooks: `AlertId`, `RuleType`, `CompanyId`, …, `Data`. */
export const legacyFormat: WebhookFormat = {
  channel: 'legacy',
  path: '/webhooks/codat/legacy',
  wireSchema: legacyWebhookBodySchema,
  looksLike: isLegacyShapedBody,
  convert: convertLegacyWebhook,
};
