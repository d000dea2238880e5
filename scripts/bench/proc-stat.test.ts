import { describe, expect, it } from 'vitest';
import { parseProcIo, parseProcStatCpu, parseProcessStat } from './proc-stat.js';

// The bench's CPU budget reads /proc: a wrong field would print a plausible but meaningless ceiling.
describe('the bench reading CPU from /proc', () => {
  it('when /proc/stat is read, then busy is user + nice + system + irq + softirq + steal; idle and iowait count only in the total, guest not at all', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice: every value distinct, guest non-zero.
    const stat = 'cpu  58135 7 16349 63022 4024 11 2403 5 900 13\ncpu0 29000 3 8000 31000 2000 5 1200 2 450 6\n';
    expect(parseProcStatCpu(stat)).toEqual({ busy: 769.1, total: 1439.56 });
  });

  it('when the text is not /proc/stat, then it says so instead of returning zeros', () => {
    expect(() => parseProcStatCpu('intr 1 2 3')).toThrow('not /proc/stat');
  });

  it("when a process's stat is read, then its own CPU is utime + stime and its reaped children's is cutime + cstime, even with spaces and parentheses in the name", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority ...
    const stat = '2197 (postgres: a (b)) S 1 2197 2197 0 -1 4194560 900 8000 3 40 23 91 27196 13719 20 0 1 0 100 2000000 5000';
    expect(parseProcessStat(stat)).toEqual({ command: 'postgres: a (b)', ownSeconds: 1.14, reapedChildrenSeconds: 409.15 });
  });

  it('when /proc/PID/io is read, then the bytes written are write_bytes, not wchar (which counts writes the page cache absorbed too)', () => {
    const io = 'rchar: 6976\nwchar: 90000\nsyscr: 10\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 40960\ncancelled_write_bytes: 4096\n';
    expect(parseProcIo(io)).toEqual({ writeBytes: 40960 });
    expect(parseProcIo('rchar: 1\n').writeBytes).toBeNaN();
  });
});
