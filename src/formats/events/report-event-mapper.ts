/** `report[s].{reportType}.generate.{successful,unsuccessful}` events → `report.generated` / `report.generationFailed`. */
import type { DomainEventType } from '../../domain/domain-event.js';
import type { Outcome } from './event-types.js';
import { MISSING_COMPANY_ID, MISSING_PAYLOAD, event, identifier, type Context, type PayloadResult } from './event-mapping-helpers.js';
import { reportPayloadSchema } from './event-webhook-schema.js';

export function convertReport(reportType: string, outcome: Outcome, payload: object, ctx: Context): PayloadResult {
  const parsed = reportPayloadSchema.safeParse(payload);
  if (!parsed.success) return MISSING_PAYLOAD;
  const companyId = identifier(parsed.data.referenceCompany?.id);
  if (companyId === null) return MISSING_COMPANY_ID;
  const type: DomainEventType = outcome === 'successful' ? 'report.generated' : 'report.generationFailed';
  const reportId = identifier(parsed.data.id);
  const data = { reportType };
  // The report type is part of the key: Codat's samples reuse one report id across report types.
  if (reportId !== null) return [event(ctx, type, [type, reportType, reportId], 'strong', companyId, null, data)];
  return [event(ctx, type, [type, companyId, reportType], 'windowed', companyId, null, data)];
}
