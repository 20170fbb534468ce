// Owns `abortOnFail`: deciding, from a workflow's merged statistics and `now`, whether one of
// its thresholds marked abortOnFail has failed and so ends the run early, and marking that
// threshold in the results. Sans-I/O: the run loop calls `check` after each merged window.
import { evaluateThreshold, type ParsedThreshold, type ThresholdSubject } from './thresholds.js';
import type { RunAbort, WorkflowResult } from './types.js';

/** Watches the abortOnFail thresholds of one workflow. */
export class AbortOnFailWatch {
  private readonly rules: readonly ParsedThreshold[];
  private fired: RunAbort | undefined;

  constructor(
    private readonly workflow: string,
    thresholds: readonly ParsedThreshold[],
  ) {
    this.rules = thresholds.filter((t) => t.abortOnFail !== undefined);
  }

  /** Whether the workflow has any threshold marked abortOnFail. */
  get armed(): boolean {
    return this.rules.length > 0;
  }

  /** The abort this watch decided, if it did. */
  get decision(): RunAbort | undefined {
    return this.fired;
  }

  /**
   * Evaluates each abortOnFail threshold whose delay has passed since `startedAtMs`, on the
   * statistics so far. The first that fails on measured data (not merely for lack of data)
   * decides the abort, returned once; later calls return undefined.
   */
  check(subject: ThresholdSubject, startedAtMs: number, nowMs: number): RunAbort | undefined {
    if (this.fired !== undefined) return undefined;
    const elapsedMs = Math.max(0, nowMs - startedAtMs);
    for (const rule of this.rules) {
      if (elapsedMs < (rule.abortOnFail?.delayMs ?? 0)) continue;
      const result = evaluateThreshold(rule, subject, nowMs);
      if (result.passed || result.actual === null) continue;
      this.fired = {
        workflow: this.workflow,
        target: rule.target,
        expression: rule.expression,
        actual: result.actual,
        unit: result.unit,
        afterMs: Math.round(elapsedMs),
      };
      return this.fired;
    }
    return undefined;
  }
}

/** One line for the run's notes and the summary. */
export function describeAbort(abort: RunAbort): string {
  const actual = `${Math.round(abort.actual * 1000) / 1000}${abort.unit}`;
  return `the run was stopped early: threshold '${abort.target}: ${abort.expression}' of workflow '${abort.workflow}' (abortOnFail) failed at ${actual} after ${(abort.afterMs / 1000).toFixed(1)}s`;
}

/**
 * The workflow's result with the threshold that aborted the run marked `abortedRun` and
 * failed: it failed when it stopped the run, whatever the final statistics say.
 */
export function markAbortingThreshold(
  result: WorkflowResult,
  abort: RunAbort | undefined,
): WorkflowResult {
  if (abort === undefined || abort.workflow !== result.name) return result;
  let marked = false;
  const thresholds = result.thresholds.map((t) => {
    if (marked || t.target !== abort.target || t.expression !== abort.expression) return t;
    marked = true;
    return { ...t, passed: false, abortedRun: true as const };
  });
  return { ...result, thresholds };
}

/**
 * The run-level side: one watch per workflow, the run's single abort decision, and what it
 * changes in the results. The run loop calls `check` after each merged window and, when it
 * returns an abort, stops every workflow as it would on an interrupt.
 */
export class RunAbortOnFail {
  private readonly watches = new Map<string, AbortOnFailWatch>();
  private abort: RunAbort | undefined;

  constructor(workflows: readonly { name: string; thresholds: readonly ParsedThreshold[] }[]) {
    for (const w of workflows) {
      const watch = new AbortOnFailWatch(w.name, w.thresholds);
      if (watch.armed) this.watches.set(w.name, watch);
    }
  }

  /** The abort decided so far, if any. */
  get decision(): RunAbort | undefined {
    return this.abort;
  }

  /** Checks workflow `name`'s abortOnFail thresholds; returns the abort when this call decides it. */
  check(
    name: string,
    subject: ThresholdSubject,
    startedAtMs: number,
    nowMs: number,
  ): RunAbort | undefined {
    if (this.abort !== undefined) return undefined;
    const decided = this.watches.get(name)?.check(subject, startedAtMs, nowMs);
    if (decided !== undefined) this.abort = decided;
    return decided;
  }

  /** The workflows' results with the aborting threshold marked failed. */
  markResults(workflows: readonly WorkflowResult[]): WorkflowResult[] {
    return workflows.map((w) => markAbortingThreshold(w, this.abort));
  }
}
