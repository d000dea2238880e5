/**
 * What the bench reads about its processes from /proc: resident set, its peak, and CPU time, per
 * process, per main thread, for every process of a name (PostgreSQL's backends) and for the machine.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStatus {
  /** Resident set now, MB. */
  readonly rssMb: number;
  /** Peak resident set since the process started (VmHWM), MB. */
  readonly peakRssMb: number;
  /** User + system CPU time so far, seconds. */
  readonly cpuSeconds: number;
  /**
   * Bytes the process has caused to be written to storage so far (`write_bytes` of /proc/PID/io, counted when
   * a page is dirtied, so before the kernel writes it back): its database's WAL, its checkpoints and anything else.
   */
  readonly writtenBytes: number;
}

const CLOCK_TICKS = 100;

export function readProc(pid: number): ProcStatus | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const cpu = (statFile: string) => parseProcessStat(readFileSync(statFile, 'utf8')).ownSeconds;
    return {
      rssMb: kb('VmRSS') / 1024,
      peakRssMb: kb('VmHWM') / 1024,
      cpuSeconds: cpu(`/proc/${pid}/stat`),
      writtenBytes: parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8')).writeBytes,
    };
  } catch {
    return null;
  }
}

/** `write_bytes` of one /proc/PID/io (NaN when absent: a kernel without I/O accounting). */
export function parseProcIo(io: string): { writeBytes: number } {
  return { writeBytes: Number(/^write_bytes:\s+(\d+)$/m.exec(io)?.[1] ?? NaN) };
}

/**
 * CPU seconds the whole machine has spent busy so far (every process, the kernel included; /proc/stat),
 * and its seconds in total (busy + idle, summed over cores). Shows whether the cores were the limit.
 */
export function machineCpuSeconds(): { busy: number; total: number } {
  return parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
}

/** The first (all-cores) `cpu` line of /proc/stat, in seconds. */
export function parseProcStatCpu(procStat: string): { busy: number; total: number } {
  const fields = (procStat.split('\n')[0] ?? '').trim().split(/\s+/);
  if (fields[0] !== 'cpu') throw new Error(`not /proc/stat: ${fields[0] ?? '(empty)'}`);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields.slice(1, 9).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle + iowait) / CLOCK_TICKS };
}

/** Command name and CPU seconds from one `/proc/PID/stat`: its own (`utime`, `stime`) and its ended, reaped children's (`cutime`, `cstime`). */
export function parseProcessStat(stat: string): { command: string; ownSeconds: number; reapedChildrenSeconds: number } {
  // The command may hold spaces and parentheses: it ends at the last ')'. Fields from the state (field 3) on follow.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ownSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    reapedChildrenSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
  };
}

/**
 * CPU seconds used so far by every process with this command name (e.g. all `postgres` backends), those that
 * have ended included: a backend that exits is reaped by the postmaster, whose `cutime`/`cstime` then hold its
 * CPU. Counting only live processes made the figure fall when connections closed (a drain once read −20 %).
 * A backend reaped while /proc is being read would be missed (or counted twice); the read is repeated until the
 * reaped children's total held still across it.
 */
export function cpuSecondsOf(command: string): number {
  const read = () => {
    let own = 0;
    let reaped = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = parseProcessStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
        if (stat.command !== command) continue;
        own += stat.ownSeconds;
        reaped += stat.reapedChildrenSeconds;
      } catch {
        // gone meanwhile
      }
    }
    return { own, reaped };
  };
  let last = read();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const again = read();
    if (again.reaped === last.reaped) return again.own + again.reaped;
    last = again;
  }
  return last.own + last.reaped;
}
