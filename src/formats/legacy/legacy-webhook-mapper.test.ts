import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ALERT,
  type Body,
  COMPANY,
  convertOne,
  loadSample,
  onlyEvent,
  SAMPLE_EXPECTATIONS,
  SAMPLES_DIR,
  without,
} from './legacy-samples.fixtures.js';
import { convertLegacyWebhook, isLegacyShapedBody } from './legacy-webhook-mapper.js';

describe('convertLegacyWebhook over the legacy samples', () => {
  it('when a legacy sample file exists, then this table has an expectation for it', () => {
    const files = readdirSync(SAMPLES_DIR).filter((file) => file.startsWith('legacy-') && file.endsWith('.json'));
    expect(SAMPLE_EXPECTATIONS.map((expectation) => expectation.file).sort()).toEqual(files.sort());
  });

  it.each(SAMPLE_EXPECTATIONS)('when $file is converted, then it yields one $type event', (expected) => {
    const sample = loadSample(expected.file);
    const conversion = convertLegacyWebhook(sample);

    expect(conversion.source).toEqual({ channel: 'legacy', id: sample['AlertId'], type: sample['RuleType'] });
    // What pairs copies (pairing key and qualifiers) is checked against the other channel in domain-mapping.test.ts.
    const { pairingKey: _pairingKey, keyQualifiers: _keyQualifiers, ...event } = onlyEvent(conversion);
    expect(event).toEqual({
      type: expected.type,
      correlationKey: expected.key,
      keyStrength: expected.strength,
      occurredAt: null,
      companyId: expected.companyId,
      connectionId: expected.connectionId,
      data: expected.data,
    });
  });
});

describe('convertLegacyWebhook envelope variants', () => {
  it('when the rule type is in `Type` (older OAS) instead of `RuleType`, then it converts the same and reports `Type` as the source type', () => {
    const sample = loadSample('legacy-PushOperationStatusChanged.json');
    const oldShape = { ...without(sample, 'RuleType'), Type: sample['RuleType'] };

    const conversion = convertLegacyWebhook(oldShape);

    expect(conversion.source.type).toBe('Push Operation Status Changed()');
    expect(onlyEvent(conversion)).toEqual(convertOne(sample));
  });

  it('when both `RuleType` and `Type` are present, then `RuleType` wins', () => {
    const conversion = convertLegacyWebhook({ ...loadSample('legacy-DataSyncCompleted.json'), Type: 'Sync Failed' });

    expect(conversion.source.type).toBe('Data sync completed');
    expect(onlyEvent(conversion).type).toBe('dataset.synced');
  });

  it('when `RuleType` is not a string, then `Type` is used instead', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');
    const conversion = convertLegacyWebhook({ ...sample, RuleType: 42, Type: 'Data sync completed' });

    expect(onlyEvent(conversion)).toEqual(convertOne(sample));
  });

  it.each([
    ['missing', (sample: Body) => without(sample, 'RuleId')],
    ['null', (sample: Body) => ({ ...sample, RuleId: null })],
    ['not a string', (sample: Body) => ({ ...sample, RuleId: { id: 1 } })],
  ])('when RuleId is %s (deprecated), then the body still converts', (_label, change) => {
    const sample = loadSample('legacy-DataConnectionStatusChanged.json');

    expect(convertOne(change(sample))).toEqual(convertOne(sample));
  });

  it('when only the fields the conversion needs are present, then the body converts (no field is required)', () => {
    const event = convertOne({ RuleType: 'Data sync completed', CompanyId: COMPANY });

    expect(event.correlationKey).toBe(`dataset.synced|${COMPANY}|-|-`);
    expect(event.data).toEqual({ dataType: null });
  });

  it('when AlertId is missing or not a string, then the source id is null', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');

    expect(convertLegacyWebhook(without(sample, 'AlertId')).source.id).toBeNull();
    expect(convertLegacyWebhook({ ...sample, AlertId: 123 }).source.id).toBeNull();
  });

  it('when unknown top-level fields are present, then they are ignored', () => {
    const sample = loadSample('legacy-DataSyncCompleted.json');

    expect(convertOne({ ...sample, SomethingNew: { nested: true }, Extra: [1, 2] })).toEqual(convertOne(sample));
  });
});

describe('isLegacyShapedBody', () => {
  it.each([
    ['a legacy sample', loadSample('legacy-DataSyncCompleted.json'), true],
    ['a body with only AlertId', { AlertId: ALERT }, true],
    ['a body with only Type', { Type: 'Sync Failed' }, true],
    ['a new-format sample', loadSample('event-read.completed.json'), false],
    ['a body with RuleType and eventType', { RuleType: 'Data sync completed', eventType: 'read.completed' }, false],
    ['an empty object', {}, false],
    ['a body whose legacy fields are null', { AlertId: null, RuleType: null }, false],
    ['an array', [{ AlertId: ALERT }], false],
    ['null', null, false],
    ['a string', 'AlertId', false],
  ])('when the body is %s, then it returns %s', (_label, input, expected) => {
    expect(isLegacyShapedBody(input)).toBe(expected);
  });
});
