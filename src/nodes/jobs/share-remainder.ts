// Owns what is left of one thread's executor share after it ran for a while: the share a
// replacement part runs when the worker that ran it is lost. Time-based executors keep the
// schedule's remaining time (stages cut at the elapsed point, the level there becoming the
// start); shared iterations keep the iterations not yet counted. Pure; never throws.

import type { Stage } from '../../api/executors.js';
import type { ExecutorShare } from '../../engine/plan.js';

/** The level a staged schedule (starting at `start`) has reached `atMs` into it, and what is left. */
function cutStages(
  start: number,
  stages: readonly Stage[],
  atMs: number,
  integer: boolean,
): { start: number; stages: Stage[] } | null {
  let level = start;
  let t = 0;
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i]!;
    if (atMs < t + s.durationMs) {
      const into = atMs - t;
      const raw = level + ((s.target - level) * into) / s.durationMs;
      const at = integer ? Math.round(raw) : raw;
      return {
        start: at,
        stages: [{ durationMs: s.durationMs - into, target: s.target }, ...stages.slice(i + 1)],
      };
    }
    t += s.durationMs;
    level = s.target;
  }
  return null;
}

/**
 * The share left after `elapsedMs` of running, of which `iterationsDone` iterations were counted;
 * null when nothing is left (the schedule has ended or every iteration was counted).
 */
export function remainingShare(
  share: ExecutorShare,
  elapsedMs: number,
  iterationsDone: number,
): ExecutorShare | null {
  const at = Math.max(0, Math.floor(elapsedMs));
  const c = share.config;
  switch (c.type) {
    case 'constant-vus':
      return c.durationMs - at > 0
        ? { ...share, config: { ...c, durationMs: c.durationMs - at } }
        : null;
    case 'constant-arrival-rate':
      return c.durationMs - at > 0
        ? { ...share, config: { ...c, durationMs: c.durationMs - at } }
        : null;
    case 'ramping-vus': {
      const cut = cutStages(c.startVus, c.stages, at, true);
      return cut === null
        ? null
        : { ...share, config: { ...c, startVus: cut.start, stages: cut.stages } };
    }
    case 'ramping-arrival-rate': {
      const cut = cutStages(c.startRate, c.stages, at, false);
      return cut === null
        ? null
        : { ...share, config: { ...c, startRate: cut.start, stages: cut.stages } };
    }
    case 'shared-iterations': {
      const left = c.iterations - Math.max(0, Math.floor(iterationsDone));
      const time = c.maxDurationMs - at;
      if (left <= 0 || time <= 0) return null;
      return {
        ...share,
        config: { ...c, iterations: left, vus: Math.min(c.vus, left), maxDurationMs: time },
      };
    }
  }
}
