/** How a claimed batch is cut into settle transactions by the pairing keys each one locks. */
import { describe, expect, it } from 'vitest';
import { groupsByKeys } from '../../src/ledger/ledger-store.js';
import { buildConversion, buildDomainEvent, buildUnrecognised } from '../support/builders.js';

const withEvents = (name: string, events: number) => ({ name, conversion: buildConversion(Array.from({ length: events }, () => buildDomainEvent()), 'events') });

describe('settle groups', () => {
  it('when a batch holds fewer keys than the bound, then it is one group', () => {
    const items = [withEvents('a', 3), withEvents('b', 1), { name: 'c', conversion: buildUnrecognised('events') }];
    expect(groupsByKeys(items, 10).map((group) => group.map((item) => item.name))).toEqual([['a', 'b', 'c']]);
  });

  it('when it holds more, then it is cut in order into groups within the bound, and a webhook above the bound goes alone', () => {
    const items = [withEvents('a', 4), withEvents('b', 4), withEvents('c', 3), withEvents('d', 25), withEvents('e', 1)];
    expect(groupsByKeys(items, 10).map((group) => group.map((item) => item.name))).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
  });

  it('when the batch is empty, then there is no group', () => {
    expect(groupsByKeys([], 10)).toEqual([]);
  });
});
