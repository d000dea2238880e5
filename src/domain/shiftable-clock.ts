/**
 * A clock that can be moved forward: the wall clock plus an offset held in shared memory, so that a worker thread
 * (the embedded store's background thread, src/jobs/) reads the same time as the thread that moves it.
 * For `npm run demo`, which lets hours of observation pass in seconds; the service itself runs on `systemClock`.
 */
import type { Clock } from './ports.js';

export interface ShiftableClock extends Clock {
  /** One Float64: the offset in ms. Passed to the background thread, which builds its clock from it. */
  readonly offset: SharedArrayBuffer;
  advance(ms: number): void;
}

export function clockFromOffset(offset: SharedArrayBuffer): Clock {
  const view = new Float64Array(offset);
  return { now: () => Date.now() + (view[0] ?? 0) };
}

export function createShiftableClock(): ShiftableClock {
  const offset = new SharedArrayBuffer(8);
  const view = new Float64Array(offset);
  return {
    offset,
    now: () => Date.now() + (view[0] ?? 0),
    advance(ms) {
      view[0] = (view[0] ?? 0) + ms;
    },
  };
}

export const isShiftable = (clock: Clock): clock is ShiftableClock => 'offset' in clock && clock.offset instanceof SharedArrayBuffer;
