/**
 * The pairing rule on its own (src/domain/ledger.ts, docs/correlation.md): which occurrence a copy joins,
 * given its placement in time, its key's qualifiers and where it came from.
 */
import { describe, expect, it } from 'vitest';
import { buildKey, optionalPart } from '../../src/domain/correlation-key.js';
import { choosePairing, placementOf, qualifiersAgree, type CopyToPair, type PairingCandidate } from '../../src/domain/ledger.js';

const T = Date.UTC(2026, 11, 2, 10, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WINDOW = 15 * MINUTE;

function candidate(overrides: Partial<PairingCandidate> & { id: string }): PairingCandidate {
  return { placedAt: T, qualifiers: ['conn-a'], sameChannelSourceType: null, sameChannelSeen: false, otherChannelSeen: true, ...overrides };
}

const legacyCopy = (at: number, qualifiers: (string | null)[] = [null]): CopyToPair => ({ placement: { at, timed: false }, qualifiers, sourceType: 'Data sync completed' });
const newCopy = (at: number, qualifiers: (string | null)[] = ['conn-a'], sourceType = 'read.completed'): CopyToPair => ({ placement: { at, timed: true }, qualifiers, sourceType });

describe('buildKey', () => {
  it('when parts are optional, then the pairing key leaves them out and the qualifiers carry them in order', () => {
    expect(buildKey(['dataset.synced', 'company', optionalPart(undefined), optionalPart('invoices')])).toEqual({
      correlationKey: 'dataset.synced|company|-|invoices',
      pairingKey: 'dataset.synced|company',
      keyQualifiers: [null, 'invoices'],
    });
  });

  it('when no part is optional, then the key is its own pairing key', () => {
    expect(buildKey(['write', 'push-1', 'Success'])).toEqual({ correlationKey: 'write|push-1|Success' });
  });
});

describe('qualifiersAgree', () => {
  it.each([
    [[null], ['conn-a'], true],
    [['conn-a'], [null], true],
    [['conn-a'], ['conn-a'], true],
    [['conn-a'], ['conn-b'], false],
    [['conn-a', null], [null, 'invoices'], true],
    [['conn-a', 'bills'], ['conn-a', 'invoices'], false],
  ] as const)('when %j meets %j, then they agree: %s', (a, b, agree) => {
    expect(qualifiersAgree(a, b)).toBe(agree);
  });
});

describe('placementOf', () => {
  it('when generatedDate is a time Codat could have sent, then the copy is placed there, however late it arrives', () => {
    expect(placementOf('2026-12-02T10:00:00.1234567Z', T + 27 * HOUR)).toEqual({ at: T + 123, timed: true });
    // Codat's date-times without an offset are UTC.
    expect(placementOf('2026-12-02T10:00:00', T + MINUTE)).toEqual({ at: T, timed: true });
  });

  it.each([null, 'not a date', '2024-09-01T23:59:99Z', '2026-12-02T10:30:00Z', '2026-10-01T10:00:00Z'])(
    'when generatedDate is %j (absent, unparseable, in the future or older than a replay), then the copy is placed at its arrival',
    (generatedDate) => {
      expect(placementOf(generatedDate, T)).toEqual({ at: T, timed: false });
    },
  );
});

describe('choosePairing', () => {
  it('when a copy without the connection finds occurrences of two connections, then it takes the earliest; with the connection, its own', () => {
    const a = candidate({ id: 'a', qualifiers: ['conn-a'], placedAt: T });
    const b = candidate({ id: 'b', qualifiers: ['conn-b'], placedAt: T + MINUTE });
    expect(choosePairing(legacyCopy(T + 2 * MINUTE), [b, a], WINDOW)).toEqual({ kind: 'pair', occurrenceId: 'a' });
    expect(choosePairing(legacyCopy(T + 2 * MINUTE, ['conn-b']), [a, b], WINDOW)).toEqual({ kind: 'pair', occurrenceId: 'b' });
  });

  it('when a copy names its connection, then an occurrence that names it is preferred to one that does not know it', () => {
    const unknown = candidate({ id: 'unknown', qualifiers: [null], placedAt: T });
    const same = candidate({ id: 'same', qualifiers: ['conn-a'], placedAt: T + MINUTE });
    expect(choosePairing(newCopy(T + 2 * MINUTE), [unknown, same], WINDOW)).toEqual({ kind: 'pair', occurrenceId: 'same' });
  });

  it('when the only occurrence near a copy already has a copy from its channel under the same source type, then the copy opens a new occurrence', () => {
    const carried = candidate({ id: 'carried', sameChannelSeen: true, sameChannelSourceType: 'read.completed', otherChannelSeen: false });
    expect(choosePairing(newCopy(T + 10_000), [carried], WINDOW)).toEqual({ kind: 'new' });
  });

  it('when the same channel carried the occurrence under another event type within two minutes, then the copy is a retelling of it', () => {
    const initial = candidate({ id: 'initial', sameChannelSeen: true, sameChannelSourceType: 'read.completed.initial' });
    expect(choosePairing(newCopy(T + 30_000), [initial], WINDOW)).toEqual({ kind: 'retold', occurrenceId: 'initial' });
    expect(choosePairing(newCopy(T + 10 * MINUTE), [initial], WINDOW)).toEqual({ kind: 'new' });
  });

  it('when a new copy is placed by its generatedDate hours before its arrival, then it pairs with the occurrence there and not with the recurring one near its arrival', () => {
    const early = candidate({ id: 'early', placedAt: T });
    const recent = candidate({ id: 'recent', placedAt: T + 27 * HOUR });
    expect(choosePairing(newCopy(T + 20_000), [early, recent], WINDOW)).toEqual({ kind: 'pair', occurrenceId: 'early' });
  });

  it('when a legacy copy finds nothing near its arrival, then it joins only an occurrence Codat\'s schedule would retry at that arrival', () => {
    const retried = candidate({ id: 'retried', placedAt: T });
    // 5 s + 5 min + 30 min after the first attempt: the fourth.
    expect(choosePairing(legacyCopy(T + 35 * MINUTE + 5_000 + 40_000, ['conn-a']), [retried], WINDOW)).toEqual({ kind: 'pair', occurrenceId: 'retried' });
    expect(choosePairing(legacyCopy(T + 70 * MINUTE, ['conn-a']), [retried], WINDOW)).toEqual({ kind: 'new' });
    // A new copy is placed by Codat's time: it never looks back.
    expect(choosePairing(newCopy(T + 35 * MINUTE + 5_000), [candidate({ id: 'legacy-only', placedAt: T })], WINDOW)).toEqual({ kind: 'new' });
  });
});
