// Owns the time a run reads: wall-clock milliseconds and a periodic tick. `salvo run` uses the
// system clock; a gate runs its jobs on its Runtime (virtual time in the simulator).
import type { Clock, Timers } from '../runtime/types.js';

export interface RunClock {
  /** Wall-clock epoch milliseconds. */
  now(): number;
  /** Calls `fn` every `periodMs` until cancelled. */
  every(periodMs: number, fn: () => void): { cancel(): void };
}

export const systemClock: RunClock = {
  now: () => Date.now(),
  every: (periodMs, fn) => {
    const timer = setInterval(fn, periodMs);
    return { cancel: () => clearInterval(timer) };
  },
};

/** A run clock on a node's Runtime. */
export function runtimeClock(runtime: { clock: Clock; timers: Timers }): RunClock {
  return {
    now: () => runtime.clock.wallMs(),
    every: (periodMs, fn) => runtime.timers.every(periodMs, fn),
  };
}
