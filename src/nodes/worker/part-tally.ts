// Owns what a worker counts itself for one part: the requests (step executions) of every window
// it produced and each step's latency histogram merged exactly, logged when the part ends so an
// operator (and the process tests) can check the job's merged result against the workers' own.

import { Histogram } from '../../stats/histogram.js';
import type { SparseHistogram, StatsWindow } from '../../stats/types.js';

/** Steps one tally keeps (a workflow has at most this many; extra ones are counted only). */
const MAX_TALLIED_STEPS = 1_000;

export class PartTally {
  requests = 0;
  windows = 0;
  /** Iterations finished (passed or failed): the part's progress. */
  iterations = 0;
  private readonly steps = new Map<string, { count: number; latency: Histogram }>();

  add(window: StatsWindow): void {
    this.windows++;
    this.iterations += window.iterations.completed + window.iterations.failed;
    for (const [name, step] of Object.entries(window.steps)) {
      this.requests += step.count;
      let tally = this.steps.get(name);
      if (tally === undefined) {
        if (this.steps.size >= MAX_TALLIED_STEPS) continue;
        tally = { count: 0, latency: new Histogram() };
        this.steps.set(name, tally);
      }
      tally.count += step.count;
      tally.latency.mergeSparse(step.latency);
    }
  }

  /** The tally as a log field: per step its count and its exact latency histogram. */
  toJSON(): {
    requests: number;
    windows: number;
    steps: Record<string, { count: number; latency: SparseHistogram }>;
  } {
    const steps: Record<string, { count: number; latency: SparseHistogram }> = {};
    for (const [name, s] of this.steps)
      steps[name] = { count: s.count, latency: s.latency.toSparse() };
    return { requests: this.requests, windows: this.windows, steps };
  }
}
