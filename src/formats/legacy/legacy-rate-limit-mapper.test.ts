import { describe, expect, it } from 'vitest';
import { COMPANY, convertOne } from './legacy-samples.fixtures.js';

describe('convertLegacyWebhook rate limits', () => {
  it.each([
    '2024-11-05T00:00:00Z',
    '2024-11-05T00:00:00.000Z',
    '2024-11-05T01:00:00+01:00',
    '2024-11-05T00:00:00',
    '2024-11-05T00:00:00.0000000',
  ])('when ExpiresUtc is "%s", then the key holds the same ISO instant', (expiresUtc) => {
    const event = convertOne({ RuleType: 'Rate Limit Reached', Data: { DailyQuota: 12000, ExpiresUtc: expiresUtc } });

    expect(event.correlationKey).toBe('client.rateLimitReached|2024-11-05T00:00:00.000Z');
    expect(event.keyStrength).toBe('strong');
  });

  it('when ExpiresUtc is not a parseable date, then the raw string is the key part and the key stays strong', () => {
    const event = convertOne({ RuleType: 'Rate Limit Reached', Data: { ExpiresUtc: 'tomorrow-ish' } });

    expect(event.correlationKey).toBe('client.rateLimitReached|tomorrow-ish');
    expect(event.keyStrength).toBe('strong');
  });

  it('when quotas arrive as numeric strings, then data holds numbers; a non-numeric string is carried as is', () => {
    const event = convertOne({ RuleType: 'Rate Limit Reset', Data: { DailyQuota: ' 12000 ', QuotaRemaining: 'unknown' } });

    expect(event.data).toEqual({ dailyQuota: 12000, quotaRemaining: 'unknown' });
  });

  it('when a rate-limit body has a CompanyId, then it is kept although none is required', () => {
    expect(convertOne({ RuleType: 'Rate Limit Reached', CompanyId: COMPANY }).companyId).toBe(COMPANY);
  });
});
