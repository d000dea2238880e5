import { describe, expect, it } from 'vitest';
import { machineCpuSeconds, parseProcStatCpu } from '../../scripts/bench/processes.js';

// The bench's CPU budget reads /proc/stat: a wrong field would print a plausible but meaningless ceiling.
describe('the bench reading the machine CPU', () => {
  it('when /proc/stat is read, then busy time is user + nice + system + irq + softirq + steal, and idle and iowait count only in the total', () => {
    const stat = 'cpu  58135 7 16349 63022 4024 11 2403 5 0 0\ncpu0 29000 3 8000 31000 2000 5 1200 2 0 0\n';
    expect(parseProcStatCpu(stat)).toEqual({ busy: 769.1, total: 1439.56 });
  });

  it('when the text is not /proc/stat, then it says so instead of returning zeros', () => {
    expect(() => parseProcStatCpu('intr 1 2 3')).toThrow('not /proc/stat');
  });

  it('when this process burns CPU for 300 ms, then the machine busy time grows by at least that, within the total', () => {
    const before = machineCpuSeconds();
    const end = performance.now() + 300;
    while (performance.now() < end);
    const after = machineCpuSeconds();
    // Clock ticks are 10 ms; other processes may add busy time, never remove it.
    expect(after.busy - before.busy).toBeGreaterThanOrEqual(0.2);
    expect(after.busy - before.busy).toBeLessThanOrEqual(after.total - before.total + 0.02);
  });
});
