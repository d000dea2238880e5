/**
 * The one runner of periodic work (settling stored webhooks, delivery, the readiness monitor, retention):
 * each job runs on its interval and when woken, never twice at once; a wake during a run asks for one more
 * run right after, however many wakes came. `stop()` ends every timer, tells the runs in flight to end after
 * their batch (the signal) and waits for them.
 */
import type { Logger } from '../domain/ports.js';

/** A job's pass. It should return soon after `signal` aborts (between batches): what it leaves is done next time. */
export type Job = (signal: AbortSignal) => Promise<unknown>;

export interface Scheduler {
  schedule(id: string, job: Job, everyMs: number): void;
  /** Runs the job soon: now when idle, once more after the run in flight otherwise. */
  wake(id: string): void;
  /** Stops every job and resolves once the runs in flight have ended. */
  stop(): Promise<void>;
}

interface Scheduled {
  readonly job: Job;
  readonly timer: NodeJS.Timeout;
  running: Promise<void> | null;
  again: boolean;
}

export function createScheduler(logger: Logger): Scheduler {
  const jobs = new Map<string, Scheduled>();
  const stopping = new AbortController();

  function run(id: string, entry: Scheduled): void {
    if (stopping.signal.aborted) return;
    if (entry.running) {
      entry.again = true;
      return;
    }
    entry.running = (async () => {
      do {
        entry.again = false;
        try {
          await entry.job(stopping.signal);
        } catch (error) {
          logger.error('a periodic job failed; it runs again at its next turn', { job: id, error: String(error) });
        }
      } while (entry.again && !stopping.signal.aborted);
    })().finally(() => {
      entry.running = null;
    });
  }

  return {
    schedule(id, job, everyMs) {
      if (jobs.has(id)) throw new Error(`job ${id} is already scheduled`);
      if (stopping.signal.aborted) throw new Error('the scheduler is stopped');
      const timer = setInterval(() => run(id, entry), everyMs);
      // Periodic work never keeps the process alive by itself: the server (or a test) does.
      timer.unref();
      const entry: Scheduled = { job, timer, running: null, again: false };
      jobs.set(id, entry);
    },
    wake(id) {
      const entry = jobs.get(id);
      if (entry) run(id, entry);
    },
    async stop() {
      stopping.abort();
      for (const entry of jobs.values()) clearInterval(entry.timer);
      await Promise.all([...jobs.values()].flatMap((entry) => entry.running ?? []));
    },
  };
}
