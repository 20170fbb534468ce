// Owns job deadlines as a gate sees them: the bounds and default of a job's timeout, and the
// tracker of live jobs' deadlines (add, remove, which are due now). Sans-I/O: the caller passes
// `now`; the tracker never reads a clock, and offers each due job again only after a pause, so
// an owner whose ledger step failed gets another chance without acting on every tick.

import { checkConfigIntegers } from './errors.js';

/** Shortest timeout a submission may ask for. */
export const MIN_JOB_TIMEOUT_MS = 1_000;
/** Longest timeout a submission may ask for (the ledger's `maxJobTimeoutMs` default). */
export const MAX_JOB_TIMEOUT_MS = 86_400_000;
/** Slack a default timeout adds to the job's planned duration: at least this … */
export const MIN_TIMEOUT_SLACK_MS = 60_000;
/** … or this share of the planned duration, whichever is longer. */
export const TIMEOUT_SLACK_SHARE = 0.5;

/**
 * The timeout of a job that did not ask for one: its planned duration plus max(60 s, 50 % of
 * it), at most `maxMs`. An unknown planned duration gets `maxMs`.
 */
export function defaultJobTimeoutMs(
  plannedMs: number | null,
  maxMs: number = MAX_JOB_TIMEOUT_MS,
): number {
  if (plannedMs === null || !Number.isFinite(plannedMs) || plannedMs < 0) return maxMs;
  const slack = Math.max(MIN_TIMEOUT_SLACK_MS, plannedMs * TIMEOUT_SLACK_SHARE);
  return Math.min(maxMs, Math.max(MIN_JOB_TIMEOUT_MS, Math.ceil(plannedMs + slack)));
}

/** Null when `timeoutMs` is a whole number of ms in [MIN_JOB_TIMEOUT_MS, maxMs], else why not. */
export function timeoutProblem(timeoutMs: number, maxMs: number): string | null {
  if (Number.isSafeInteger(timeoutMs) && timeoutMs >= MIN_JOB_TIMEOUT_MS && timeoutMs <= maxMs) {
    return null;
  }
  return `timeoutMs must be a whole number of milliseconds from ${MIN_JOB_TIMEOUT_MS} to ${maxMs}, got ${String(timeoutMs)}`;
}

export interface DueJob {
  readonly jobId: string;
  readonly deadlineMs: number;
}

export interface JobTimeoutsConfig {
  /** Jobs tracked at once (the ledger's `maxActiveJobs`); more are refused by `add`. */
  readonly maxJobs: number;
  /** A due job is offered again by `due` only after this long (its end may have failed). */
  readonly reofferAfterMs: number;
}

export const DEFAULT_JOB_TIMEOUTS_CONFIG: JobTimeoutsConfig = {
  maxJobs: 10_000,
  reofferAfterMs: 5_000,
};

interface Entry {
  deadlineMs: number;
  /** When `due` last offered it; null: never. */
  offeredAtMs: number | null;
}

export class JobTimeouts {
  private readonly cfg: JobTimeoutsConfig;
  private readonly jobs = new Map<string, Entry>();

  constructor(config: Partial<JobTimeoutsConfig> = {}) {
    this.cfg = checkConfigIntegers(
      'job timeouts config',
      { ...DEFAULT_JOB_TIMEOUTS_CONFIG, ...config },
      [
        ['maxJobs', 1],
        ['reofferAfterMs', 0],
      ],
    );
  }

  get size(): number {
    return this.jobs.size;
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  deadlineOf(jobId: string): number | undefined {
    return this.jobs.get(jobId)?.deadlineMs;
  }

  /**
   * Tracks `jobId` until `deadlineMs` (a job already tracked keeps its place in the re-offer
   * pause, with the new deadline). False, and nothing tracked, when full.
   */
  add(jobId: string, deadlineMs: number): boolean {
    const entry = this.jobs.get(jobId);
    if (entry !== undefined) {
      entry.deadlineMs = deadlineMs;
      return true;
    }
    if (this.jobs.size >= this.cfg.maxJobs) return false;
    this.jobs.set(jobId, { deadlineMs, offeredAtMs: null });
    return true;
  }

  /** Forgets `jobId` (it ended or was evicted); true when it was tracked. */
  remove(jobId: string): boolean {
    return this.jobs.delete(jobId);
  }

  clear(): void {
    this.jobs.clear();
  }

  /**
   * Jobs whose deadline is at or before `nowMs` and that were not offered in the last
   * `reofferAfterMs`, earliest deadline first; each is marked offered at `nowMs`.
   */
  due(nowMs: number): DueJob[] {
    const out: DueJob[] = [];
    for (const [jobId, e] of this.jobs) {
      if (e.deadlineMs > nowMs) continue;
      if (e.offeredAtMs !== null && nowMs - e.offeredAtMs < this.cfg.reofferAfterMs) continue;
      e.offeredAtMs = nowMs;
      out.push({ jobId, deadlineMs: e.deadlineMs });
    }
    return out.sort((a, b) => a.deadlineMs - b.deadlineMs || (a.jobId < b.jobId ? -1 : 1));
  }

  /** The earliest deadline tracked, or null when none is. */
  next(): number | null {
    let min: number | null = null;
    for (const e of this.jobs.values()) if (min === null || e.deadlineMs < min) min = e.deadlineMs;
    return min;
  }
}
