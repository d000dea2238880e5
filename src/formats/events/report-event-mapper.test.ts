import { describe, expect, it } from 'vitest';
import { COMPANY, eventsOf, payloadOf, reportEvent, sampleRecord, summary } from './event-samples.fixtures.js';
import { convertEventWebhook } from './event-webhook-mapper.js';

describe('convertEventWebhook over report variants the samples do not show', () => {
  it('when a report event uses the singular `report.` prefix, then it converts like `reports.`', () => {
    const body = sampleRecord('event-reports.categorizedBankStatement.generate.successful.json');
    body['eventType'] = 'report.categorizedBankStatement.generate.successful';

    expect(eventsOf(convertEventWebhook(body)).map(summary)).toEqual([reportEvent('report.generated', 'categorizedBankStatement')]);
  });

  it('when a report has no id, then the key falls back to company and report type, windowed', () => {
    const body = sampleRecord('event-reports.creditModel.generate.successful.json');
    delete payloadOf(body)['id'];

    const [event] = eventsOf(convertEventWebhook(body));
    expect(event?.correlationKey).toBe(`report.generated|${COMPANY}|creditModel`);
    expect(event?.keyStrength).toBe('windowed');
  });
});
