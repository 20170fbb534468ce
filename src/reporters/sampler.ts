// Turns the run's cumulative statistics, read once per window, into one-window samples: counts
// are differences of totals and latency percentiles come from the difference of the exact
// cumulative histograms (bucket-exact). Keeps a bounded series of the samples for the final
// report and the HTML page. Pure: the caller supplies the clock and the statistics.
import { histogramHighestEquivalent, percentileRank } from '../stats/histogram.js';
import type { SparseHistogram, WorkflowResult } from '../stats/types.js';
import type { Labels, ReportWindow, WindowStep, WindowWorkflow } from './types.js';

/** Samples kept for the final report; past it, every other old sample is dropped. */
export const MAX_SERIES_POINTS = 1200;

interface StepState {
  count: number;
  failed: number;
  histogram: SparseHistogram;
  errors: Record<string, number>;
}

/** `cur − prev` of two cumulative sparse histograms (both ascending by bucket index). */
export function subtractBuckets(cur: readonly number[], prev: readonly number[]): number[] {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < cur.length; i += 2) {
    const index = cur[i]!;
    let n = cur[i + 1]!;
    while (j < prev.length && prev[j]! < index) j += 2;
    if (j < prev.length && prev[j] === index) n -= prev[j + 1]!;
    if (n > 0) out.push(index, n);
  }
  return out;
}

/** Percentile `p` of sparse buckets in microseconds, clamped to [min, max]; null when empty. */
export function bucketPercentile(
  buckets: readonly number[],
  p: number,
  min: number,
  max: number,
): number | null {
  let total = 0;
  for (let i = 1; i < buckets.length; i += 2) total += buckets[i]!;
  if (total === 0) return null;
  const rank = percentileRank(p, total);
  let seen = 0;
  for (let i = 0; i < buckets.length; i += 2) {
    seen += buckets[i + 1]!;
    if (seen >= rank) return Math.max(min, Math.min(max, histogramHighestEquivalent(buckets[i]!)));
  }
  return max;
}

const toMs = (us: number | null): number | null => (us === null ? null : Math.round(us) / 1000);

export class WindowSampler {
  private readonly labels: Labels;
  readonly maxPoints: number;
  private readonly prev = new Map<string, Map<string, StepState>>();
  private readonly points: ReportWindow[] = [];
  private seq = 0;
  private lastAtMs: number | undefined;

  /**
   * `nominalMs`: the workers' window length. Statistics arrive one window late, so a sample
   * taken sooner than that after the previous one (the last one, after the run) still holds
   * about a window's work: its rate is taken over at least `nominalMs`.
   */
  private readonly nominalMs: number;

  constructor(labels: Labels = {}, maxPoints = MAX_SERIES_POINTS, nominalMs = 1000) {
    this.labels = labels;
    this.maxPoints = maxPoints;
    this.nominalMs = nominalMs;
  }

  /**
   * One window from the cumulative results now. `vus` gives each workflow's busy VUs now.
   * The first window spans from `startedAtMs`.
   */
  sample(
    atMs: number,
    startedAtMs: number,
    workflows: readonly WorkflowResult[],
    vus: ReadonlyMap<string, number>,
  ): ReportWindow {
    const intervalMs = Math.max(1, atMs - (this.lastAtMs ?? startedAtMs));
    this.lastAtMs = atMs;
    const out: WindowWorkflow[] = [];
    for (const wf of workflows) {
      let prevSteps = this.prev.get(wf.name);
      if (!prevSteps) {
        prevSteps = new Map();
        this.prev.set(wf.name, prevSteps);
      }
      const steps: WindowStep[] = [];
      const errors: Record<string, number> = {};
      let count = 0;
      let failed = 0;
      for (const step of wf.steps) {
        const before = prevSteps.get(step.name);
        const dCount = step.count - (before?.count ?? 0);
        const dFailed = step.failed - (before?.failed ?? 0);
        const buckets = subtractBuckets(step.histogram.buckets, before?.histogram.buckets ?? []);
        const { min, max } = step.histogram;
        steps.push({
          name: step.name,
          count: dCount,
          failed: dFailed,
          p50Ms: toMs(bucketPercentile(buckets, 50, min, max)),
          p90Ms: toMs(bucketPercentile(buckets, 90, min, max)),
          p99Ms: toMs(bucketPercentile(buckets, 99, min, max)),
          maxMs: toMs(bucketPercentile(buckets, 100, min, max)),
        });
        for (const [kind, n] of Object.entries(step.errors)) {
          const d = n - (before?.errors[kind] ?? 0);
          if (d > 0) errors[kind] = (errors[kind] ?? 0) + d;
        }
        count += dCount;
        failed += dFailed;
        prevSteps.set(step.name, {
          count: step.count,
          failed: step.failed,
          histogram: step.histogram,
          errors: { ...step.errors },
        });
      }
      out.push({
        name: wf.name,
        vus: vus.get(wf.name) ?? 0,
        count,
        failed,
        rps: Math.round((count * 1_000_000) / Math.max(intervalMs, this.nominalMs)) / 1000,
        errors,
        total: { count: wf.totals.count, ok: wf.totals.ok, failed: wf.totals.failed },
        steps,
        thresholds: wf.thresholds,
      });
    }
    const window: ReportWindow = {
      seq: ++this.seq,
      atMs,
      elapsedMs: atMs - startedAtMs,
      intervalMs,
      workflows: out,
      labels: this.labels,
    };
    this.keep(window);
    return window;
  }

  private keep(window: ReportWindow): void {
    this.points.push(window);
    if (this.points.length > this.maxPoints) {
      // Thin the older half: keep every other point there, all of the newer half.
      const half = Math.floor(this.points.length / 2);
      const older = this.points.slice(0, half).filter((_, i) => i % 2 === 0);
      this.points.splice(0, half, ...older);
    }
  }

  series(): ReportWindow[] {
    return [...this.points];
  }
}
