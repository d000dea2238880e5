import { describe, expect, it } from 'vitest';
import { parseBenchArguments } from './arguments.js';

// A wrong default here silently changes what every published figure means.
describe('the bench command line', () => {
  it('when nothing is given, then three runs of 15,000 occurrences of the seven default sides, closed loop', () => {
    expect(parseBenchArguments([])).toMatchObject({ runs: 3, occurrences: 15_000, warmup: 500, connections: 32, rate: undefined, sides: ['embedded', 'durable-sqlite', 'postgres', 'durable-postgres', 'naive', 'relay', 'express'], quick: false });
  });

  it('when --quick is given, then one short run, which explicit options still override', () => {
    expect(parseBenchArguments(['--quick'])).toMatchObject({ runs: 1, occurrences: 5_000, warmup: 200 });
    expect(parseBenchArguments(['--quick', '--runs', '2'])).toMatchObject({ runs: 2, occurrences: 5_000 });
  });

  it('when a side is not one the bench knows, then it says which', () => {
    expect(() => parseBenchArguments(['--sides', 'embedded,sqlite'])).toThrow('--sides: sqlite is not one of');
  });

  it('when a count is not a positive whole number, then it is refused rather than read as NaN', () => {
    expect(() => parseBenchArguments(['--runs', 'three'])).toThrow('--runs must be a positive whole number');
    expect(() => parseBenchArguments(['--occurrences', '0'])).toThrow('--occurrences must be a positive whole number');
    expect(parseBenchArguments(['--warmup', '0']).warmup).toBe(0);
  });
});
