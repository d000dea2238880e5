import { describe, expect, it } from 'vitest';
import { body, type Body, COMPANY, CONNECTION, convertOne, PUSH_KEY } from './legacy-samples.fixtures.js';

describe('convertLegacyWebhook writes', () => {
  const writeBody = (status: unknown, rule = 'Push Operation Status Changed()'): Body =>
    body(rule, { dataType: 'invoices', status, pushOperationKey: PUSH_KEY });

  it('when the status is Pending, then it is write.pending with a strong key', () => {
    const event = convertOne(writeBody('Pending'));

    expect(event).toMatchObject({
      type: 'write.pending',
      correlationKey: `write|${PUSH_KEY}|Pending`,
      keyStrength: 'strong',
      data: { dataType: 'invoices', status: 'Pending' },
    });
  });

  it('when the status is one Codat may add later, then it is write.statusChanged keyed and carried as received', () => {
    const event = convertOne(writeBody('PartiallySucceeded'));

    expect(event).toMatchObject({
      type: 'write.statusChanged',
      correlationKey: `write|${PUSH_KEY}|PartiallySucceeded`,
      keyStrength: 'strong',
      data: { dataType: 'invoices', status: 'PartiallySucceeded' },
    });
  });

  it.each(['success', 'Successful', 'SUCCESS'])('when the status is spelled %s, then key and data use the enum spelling Success (as the new channel sends it)', (status) => {
    const event = convertOne(writeBody(status));

    expect(event.type).toBe('write.succeeded');
    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|Success`);
    expect(event.data['status']).toBe('Success');
  });

  it('when TimedOut arrives from both legacy rules, then both yield the same type and strong key (one occurrence)', () => {
    const viaTimedOutRule = convertOne(body('Push Operation Timed Out', { dataType: 'invoices', pushOperationKey: PUSH_KEY }));
    const viaStatusRule = convertOne(writeBody('TimedOut'));

    expect(viaTimedOutRule.type).toBe('write.timedOut');
    expect(viaStatusRule.type).toBe('write.timedOut');
    expect(viaTimedOutRule.correlationKey).toBe(`write|${PUSH_KEY}|TimedOut`);
    expect(viaStatusRule.correlationKey).toBe(viaTimedOutRule.correlationKey);
    expect(viaStatusRule.keyStrength).toBe('strong');
    expect(viaTimedOutRule.keyStrength).toBe('strong');
    expect(viaStatusRule.data).toEqual(viaTimedOutRule.data);
  });

  it('when only the deprecated pushOperationGuid is present, then it is the operation key', () => {
    const event = convertOne(body('Push Operation Timed Out', { dataType: 'invoices', pushOperationGuid: PUSH_KEY }));

    expect(event.correlationKey).toBe(`write|${PUSH_KEY}|TimedOut`);
  });

  it('when there is no operation key at all, then the key is company|connection|dataType|status and windowed', () => {
    const event = convertOne(body('Push Operation Status Changed()', { dataType: 'invoices', status: 'Failed' }));

    expect(event.type).toBe('write.failed');
    expect(event.correlationKey).toBe(`write|${COMPANY}|${CONNECTION}|invoices|Failed`);
    expect(event.keyStrength).toBe('windowed');
  });
});
