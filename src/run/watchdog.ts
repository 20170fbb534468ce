// Owns the hard end of a placed workflow. Each unit ends its part by itself at the planned
// duration plus the graceful stop; past that point a unit gone silent is not yielding (a step
// in a busy loop) and is ended, and a while later every unit still on it is. What they
// reported before stays in the statistics.
import { formatMs } from '../api/duration.js';
import type { RunClock } from './clock.js';
import type { PlacedWorkflow } from './placement.js';

/** How often the watchdog looks at the units still running a finished workflow. */
export const WATCHDOG_TICK_MS = 250;
/** Past the planned end, a unit silent this long (its window is due every second) is ended. */
export const STALLED_QUIET_MS = 1500;
/** Past the planned end, every unit still running is ended after this. */
export const HARD_END_SLACK_MS = 4000;

export interface WatchedWorkflow {
  name: string;
  /** The executor's planned active phase. */
  plannedMs: number;
  gracefulStopMs: number;
}

/** Watches `placed` from now on; cancel the returned handle once it is done. */
export function watchHardEnd(
  clock: RunClock,
  workflow: WatchedWorkflow,
  placed: PlacedWorkflow,
): { cancel(): void } {
  const startedAt = clock.now();
  const endAt = startedAt + workflow.plannedMs + workflow.gracefulStopMs;
  return clock.every(WATCHDOG_TICK_MS, () => {
    const now = clock.now();
    if (now < endAt) return;
    const late = formatMs(now - startedAt);
    if (now >= endAt + HARD_END_SLACK_MS) {
      placed.terminateStalled(0, `was still running '${workflow.name}' ${late} after it started`);
    } else {
      placed.terminateStalled(
        STALLED_QUIET_MS,
        `stopped responding while running '${workflow.name}' (a step that never yields, such as a busy loop?) and was still busy ${late} after it started`,
      );
    }
  });
}
