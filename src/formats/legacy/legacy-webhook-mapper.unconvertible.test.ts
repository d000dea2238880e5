import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DomainEventType, isDomainEventType } from '../../domain/domain-event.js';
import { ALERT, body, COMPANY, convertOne, loadSample, without } from './legacy-samples.fixtures.js';
import { LEGACY_RULE_NAMES, type LegacyRule } from './legacy-rule-types.js';
import { convertLegacyWebhook, isLegacyShapedBody } from './legacy-webhook-mapper.js';

describe('convertLegacyWebhook unrecognised and invalid bodies', () => {
  it('when the RuleType is unknown, then the body is unrecognised with the raw type in the reason', () => {
    const conversion = convertLegacyWebhook(body('Invoice Paid Eventually'));

    expect(conversion).toEqual({
      kind: 'unrecognised',
      source: { channel: 'legacy', id: ALERT, type: 'Invoice Paid Eventually' },
      reason: 'unknown_rule_type:Invoice Paid Eventually',
    });
  });

  it('when the RuleType is very long, then the reason is capped but the source keeps it whole', () => {
    const ruleType = 'x'.repeat(10_000);
    const conversion = convertLegacyWebhook(body(ruleType));

    expect(conversion.kind).toBe('unrecognised');
    expect(conversion.source.type).toBe(ruleType);
    if (conversion.kind === 'unrecognised') expect(conversion.reason.length).toBeLessThan(300);
  });

  it.each([
    ['absent', without(body('x'), 'RuleType')],
    ['blank', body('   ')],
    ['not a string', body('x', undefined, { RuleType: 12 })],
  ])('when the rule type is %s, then the body is unrecognised (missing_rule_type)', (_label, input) => {
    const conversion = convertLegacyWebhook(input);

    expect(conversion.kind).toBe('unrecognised');
    if (conversion.kind === 'unrecognised') expect(conversion.reason).toBe('missing_rule_type');
    expect(conversion.source.type).toBeNull();
  });

  it.each([
    ['an array', [loadSample('legacy-DataSyncCompleted.json')]],
    ['a string', '{"RuleType":"Data sync completed"}'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
  ])('when the body is %s, then it is invalid (body_not_object)', (_label, input) => {
    expect(convertLegacyWebhook(input)).toEqual({
      kind: 'invalid',
      source: { channel: 'legacy', id: null, type: null },
      reason: 'body_not_object',
    });
  });

  const companyScopedRules = (Object.keys(LEGACY_RULE_NAMES) as LegacyRule[]).filter(
    (rule) => rule !== 'ClientRateLimitReached' && rule !== 'ClientRateLimitReset',
  );

  it.each(companyScopedRules)('when a %s body has no CompanyId, then it is invalid (missing_company_id)', (rule) => {
    const conversion = convertLegacyWebhook(without(body(rule), 'CompanyId'));

    expect(conversion).toEqual({
      kind: 'invalid',
      source: { channel: 'legacy', id: ALERT, type: rule },
      reason: 'missing_company_id',
    });
  });

  it.each([
    ['null', null],
    ['blank', ''],
    ['a number', 42],
  ])('when CompanyId is %s, then a company-scoped body is invalid', (_label, companyId) => {
    const conversion = convertLegacyWebhook(body('Data sync completed', { dataType: 'invoices' }, { CompanyId: companyId }));

    expect(conversion.kind).toBe('invalid');
  });

  it('when an object throws on every read, then the conversion is invalid instead of throwing', () => {
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
        ownKeys: () => {
          throw new Error('boom');
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('boom');
        },
      },
    );

    expect(() => convertLegacyWebhook(hostile)).not.toThrow();
    expect(convertLegacyWebhook(hostile).kind).toBe('invalid');
    expect(isLegacyShapedBody(hostile)).toBe(false);
  });
});

describe('convertLegacyWebhook prototype safety', () => {
  it('when Data holds __proto__, constructor and prototype keys, then Object.prototype is not polluted and the body converts', () => {
    const input: unknown = JSON.parse(
      `{"AlertId":"${ALERT}","RuleType":"Rate Limit Reached","__proto__":{"pollutedTop":true},` +
        '"Data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"pollutedCtor":true}},' +
        '"PROTOTYPE":{"pollutedProto":true},"DailyQuota":5}}',
    );

    const event = convertOne(input);

    expect(event.data).toEqual({ dailyQuota: 5 });
    const probe: Record<string, unknown> = {};
    expect(probe['polluted']).toBeUndefined();
    expect(probe['pollutedTop']).toBeUndefined();
    expect(probe['pollutedCtor']).toBeUndefined();
    expect(probe['pollutedProto']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('when Data names __proto__ as a field the mapper reads, then nothing is read from the prototype', () => {
    const input: unknown = JSON.parse(
      `{"RuleType":"DataConnectionStatusChanged","CompanyId":"${COMPANY}","Data":{"__proto__":{"newStatus":"Linked"}}}`,
    );

    expect(convertOne(input).type).toBe('connection.deleted');
  });
});

describe('convertLegacyWebhook totality (property-based)', () => {
  const ruleTypes = fc.constantFrom(...Object.values(LEGACY_RULE_NAMES).flat(), 'Unknown', '');
  const legacyish = fc.record(
    {
      AlertId: fc.oneof(fc.uuid(), fc.anything()),
      RuleType: fc.oneof(ruleTypes, fc.anything()),
      Type: fc.oneof(ruleTypes, fc.anything()),
      RuleId: fc.anything(),
      CompanyId: fc.oneof(fc.uuid(), fc.anything()),
      DataConnectionId: fc.oneof(fc.uuid(), fc.anything()),
      Data: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.anything()),
    },
    { requiredKeys: [] },
  );

  it('when given any value at all, then it never throws and returns a known kind', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), legacyish), (input) => {
        const conversion = convertLegacyWebhook(input);
        expect(['converted', 'unrecognised', 'invalid']).toContain(conversion.kind);
        expect(typeof isLegacyShapedBody(input)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('when a legacy-ish body converts, then every event has a domain type, occurredAt null, its key prefix and non-blank ids', () => {
    const keyPrefixOf = (type: DomainEventType): string =>
      type.startsWith('write.') ? 'write|' : type === 'expenses.syncFinished' ? 'expenses.sync|' : `${type}|`;
    const isNullOrNonBlank = (id: string | null): boolean => id === null || id.trim() !== '';
    fc.assert(
      fc.property(legacyish, (input) => {
        const conversion = convertLegacyWebhook(input);
        if (conversion.kind !== 'converted') return;
        for (const event of conversion.events) {
          expect(isDomainEventType(event.type)).toBe(true);
          expect(event.occurredAt).toBeNull();
          expect(event.correlationKey.startsWith(keyPrefixOf(event.type))).toBe(true);
          expect(isNullOrNonBlank(event.companyId) && isNullOrNonBlank(event.connectionId)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
