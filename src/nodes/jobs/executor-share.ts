// Owns the check of an executor share that arrived over the wire (a DC's share of a workflow,
// or one thread's share), and the numbers the dispatch needs from it: its peak VUs and its
// planned length. Returns what is wrong as text; never throws on bad input.

import { EXECUTOR_TYPES, maxVusOf, plannedDurationMs } from '../../api/executors.js';
import { splitExecutor, type ExecutorShare } from '../../engine/plan.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const count = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;
const stagesOk = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.length > 0 &&
  v.length <= 1000 &&
  v.every(
    (s) => isRecord(s) && count(s.durationMs) && typeof s.target === 'number' && s.target >= 0,
  );

/** What is wrong with `v` as an ExecutorShare, or null when it is well formed. */
export function shareProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'share must be an object';
  if (typeof v.phase !== 'number' || !(v.phase >= 0 && v.phase < 1))
    return 'share.phase must be in [0, 1)';
  const c = v.config;
  if (!isRecord(c)) return 'share.config must be an object';
  if (!(EXECUTOR_TYPES as readonly unknown[]).includes(c.type))
    return `unknown executor type ${JSON.stringify(c.type)}`;
  if (!count(c.gracefulStopMs)) return 'gracefulStopMs must be a non-negative integer';
  switch (c.type) {
    case 'constant-vus':
      return count(c.vus) && (c.vus as number) >= 1 && count(c.durationMs)
        ? null
        : 'constant-vus needs vus ≥ 1 and durationMs';
    case 'ramping-vus':
      return count(c.startVus) && stagesOk(c.stages)
        ? null
        : 'ramping-vus needs startVus and stages';
    case 'shared-iterations':
      return count(c.vus) && (c.vus as number) >= 1 && count(c.iterations) && count(c.maxDurationMs)
        ? null
        : 'shared-iterations needs vus ≥ 1, iterations and maxDurationMs';
    case 'constant-arrival-rate':
      return positive(c.rate) &&
        positive(c.timeUnitMs) &&
        count(c.durationMs) &&
        count(c.preAllocatedVus) &&
        count(c.maxVus) &&
        (c.maxVus as number) >= 1
        ? null
        : 'constant-arrival-rate needs rate, timeUnitMs, durationMs, preAllocatedVus and maxVus ≥ 1';
    default:
      return typeof c.startRate === 'number' &&
        positive(c.timeUnitMs) &&
        stagesOk(c.stages) &&
        count(c.preAllocatedVus) &&
        count(c.maxVus) &&
        (c.maxVus as number) >= 1
        ? null
        : 'ramping-arrival-rate needs startRate, timeUnitMs, stages, preAllocatedVus and maxVus ≥ 1';
  }
}

/** Peak VUs of a checked share (at least 1). */
export function shareVus(share: ExecutorShare): number {
  return Math.max(1, Math.floor(maxVusOf(share.config)));
}

/** Planned active length of a checked share, in ms. */
export function shareDurationMs(share: ExecutorShare): number {
  return plannedDurationMs(share.config);
}

/** A share's planned length with its graceful stop (as the gate plans a job's length). */
export function plannedShareMs(share: ExecutorShare): number {
  return shareDurationMs(share) + share.config.gracefulStopMs;
}

/**
 * Splits a DC's share over `threads` threads (as the local pool splits a workflow over its
 * threads); a thread whose share would be empty gets a one-VU copy of the smallest share so
 * every reserved core has work (the split never gives a thread more VUs than cores).
 */
export function splitShare(share: ExecutorShare, threads: number): ExecutorShare[] {
  const parts = splitExecutor(share.config, threads);
  const fallback = parts.find((p) => p !== null) ?? share;
  return parts.map((p, i) => ({
    ...(p ?? fallback),
    phase: (share.phase + (p?.phase ?? i / threads)) % 1,
  }));
}
