import { describe, expect, it } from 'vitest';
import { type DomainEventType } from '../../domain/domain-event.js';
import { body, type Body, COMPANY, CONNECTION, convertOne, loadSample, without } from './legacy-samples.fixtures.js';

describe('convertLegacyWebhook connection transitions', () => {
  const transitions: readonly [string, unknown, string, DomainEventType][] = [
    ['absent', undefined, 'PendingAuth', 'connection.created'],
    ['null', null, 'PendingAuth', 'connection.created'],
    ['empty', '', 'PendingAuth', 'connection.created'],
    ['PendingAuth', 'PendingAuth', 'Linked', 'connection.connected'],
    ['absent', undefined, 'Linked', 'connection.connected'],
    ['Linked', 'Linked', 'Unlinked', 'connection.disconnected'],
    ['Linked', 'Linked', 'Deauthorized', 'connection.disconnected'],
    ['Unlinked', 'Unlinked', 'Linked', 'connection.reconnected'],
    ['Deauthorized', 'Deauthorized', 'Linked', 'connection.reconnected'],
    ['pendingauth (lower case)', 'pendingauth', 'LINKED', 'connection.connected'],
  ];

  it.each(transitions)('when the old status is %s and the new one %s, then it is %s', (_label, oldStatus, newStatus, type) => {
    const data: Body = { newStatus, platformKey: 'gbol' };
    if (oldStatus !== undefined) data['oldStatus'] = oldStatus;

    const event = convertOne(body('DataConnectionStatusChanged', data));

    expect(event.type).toBe(type);
    expect(event.keyStrength).toBe('windowed');
    expect(event.correlationKey).toBe(`${type}|${COMPANY}|${CONNECTION}`);
    // The status is compared case-insensitively but carried as received.
    expect(event.data).toEqual({ status: newStatus, integrationKey: 'gbol' });
  });

  it('when the transition is PendingAuth → Deauthorized (no connection.* event describes it), then it is connection.statusChanged with both statuses', () => {
    const event = convertOne(
      body('DataConnectionStatusChanged', { oldStatus: 'PendingAuth', newStatus: 'Deauthorized', platformKey: 'gbol' }),
    );

    expect(event.type).toBe('connection.statusChanged');
    expect(event.keyStrength).toBe('windowed');
    expect(event.correlationKey).toBe(`connection.statusChanged|${COMPANY}|${CONNECTION}|PendingAuth->Deauthorized`);
    expect(event.data).toEqual({ status: 'Deauthorized', oldStatus: 'PendingAuth', integrationKey: 'gbol' });
  });

  it('when there is no old status and the new one is Unlinked, then it is connection.statusChanged with `-` as the old status', () => {
    const event = convertOne(body('DataConnectionStatusChanged', { newStatus: 'Unlinked' }));

    expect(event.type).toBe('connection.statusChanged');
    expect(event.correlationKey).toBe(`connection.statusChanged|${COMPANY}|${CONNECTION}|-->Unlinked`);
    expect(event.data).toEqual({ status: 'Unlinked', oldStatus: null, integrationKey: null });
  });

  it('when the new status is a value Codat may add later, then it is connection.statusChanged carrying it', () => {
    const event = convertOne(body('DataConnectionStatusChanged', { oldStatus: 'Linked', newStatus: 'Suspended' }));

    expect(event.type).toBe('connection.statusChanged');
    expect(event.data['status']).toBe('Suspended');
  });

  it('when the new status is absent or null, then it is connection.deleted paired on the company, the connection where it is given', () => {
    for (const data of [{ oldStatus: 'Linked' }, { oldStatus: 'Linked', newStatus: null }]) {
      const event = convertOne(body('DataConnectionStatusChanged', data));

      expect(event.type).toBe('connection.deleted');
      expect(event.pairingKey).toBe(`connection.deleted|${COMPANY}`);
      expect(event.keyQualifiers).toEqual([event.connectionId]);
    }
  });

  it('when DataConnectionId is missing, then Data.dataConnectionId is the connection id', () => {
    const sample = loadSample('legacy-DataConnectionStatusChanged.json');

    expect(convertOne(without(sample, 'DataConnectionId'))).toEqual(convertOne(sample));
  });
});
