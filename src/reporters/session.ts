// A run's reporting: samples the run once per window (sampler.ts), hands each window to the
// reporter runner, and at the end delivers the final report and returns the outcomes and the
// kept series. The run only calls start/stop/finish; nothing here can fail or slow it. A
// distributed run also samples each group (a datacenter) with its labels, and samples on its
// owner's clock (`manual`) instead of a timer of its own.
import { describeError } from '../errors.js';
import type { WorkflowResult, RunResults } from '../stats/types.js';
import { ReporterRunner, type ReporterEntry, type ReporterPolicy } from './runner.js';
import { MAX_SERIES_POINTS, WindowSampler } from './sampler.js';
import type {
  BreakdownGroup,
  Labels,
  ReporterOutcome,
  ReportStart,
  ReportWindow,
} from './types.js';

export interface RunSource {
  startedAtMs: number;
  workflowResults(): WorkflowResult[];
  /** Busy VUs per workflow now. */
  vus(): ReadonlyMap<string, number>;
}

/** Groups (e.g. datacenters) one session samples besides the whole run. */
export const MAX_REPORT_GROUPS = 64;

export interface ReportSessionOptions {
  windowMs: number;
  labels?: Labels;
  policy?: Partial<ReporterPolicy>;
  /** Series points kept (default MAX_SERIES_POINTS). */
  maxPoints?: number;
  /** No timer: the owner calls `sample(nowMs)` once per window on its own clock. */
  manual?: boolean;
  /**
   * Label keys the groups are told apart by (e.g. `dc`): the whole run's windows carry each
   * with the value `*`, so every sample of a metric has the same label keys.
   */
  groupKeys?: readonly string[];
}

interface Group {
  readonly labels: Labels;
  readonly sampler: WindowSampler;
  readonly source: RunSource;
}

export class ReportSession {
  readonly runner: ReporterRunner;
  private readonly sampler: WindowSampler;
  private readonly windowMs: number;
  private readonly labels: Labels;
  private readonly manual: boolean;
  private readonly groups: Group[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private source: RunSource | undefined;
  /** The windows of the latest sample: the run's first, then each group's. */
  private round: ReportWindow[] = [];
  /** Sampling problems (never thrown): reported with the outcomes. */
  readonly problems: string[] = [];

  constructor(entries: readonly ReporterEntry[], options: ReportSessionOptions) {
    this.runner = new ReporterRunner(entries, options.policy);
    this.labels = options.labels ?? {};
    const whole: Record<string, string> = { ...this.labels };
    for (const key of options.groupKeys ?? []) whole[key] ??= '*';
    this.sampler = new WindowSampler(
      whole,
      options.maxPoints ?? MAX_SERIES_POINTS,
      options.windowMs,
    );
    this.windowMs = options.windowMs;
    this.manual = options.manual === true;
  }

  start(info: Omit<ReportStart, 'labels'>, source: RunSource): void {
    this.source = source;
    this.sampling = true;
    this.runner.start({ ...info, labels: this.labels });
    if (this.manual) return;
    this.timer = setInterval(() => this.sample(), this.windowMs);
    this.timer.unref();
  }

  /**
   * Samples `source` as one more group from the next window on, its windows labelled with
   * `labels` (over the session's own). False when the session has as many groups as it may.
   */
  addGroup(labels: Labels, source: RunSource): boolean {
    if (this.groups.length >= MAX_REPORT_GROUPS) return false;
    const all = { ...this.labels, ...labels };
    this.groups.push({
      labels: all,
      sampler: new WindowSampler(all, this.sampler.maxPoints, this.windowMs),
      source,
    });
    return true;
  }

  /**
   * Takes one sample now (also called by the timer) of the run and of each group, and hands
   * them to the reporters; returns the run's, or undefined on a problem or after `stop`.
   */
  sample(nowMs = Date.now()): ReportWindow | undefined {
    const source = this.source;
    if (!source || !this.sampling) return undefined;
    const window = this.sampleOne(this.sampler, source, nowMs);
    const round = window === undefined ? [] : [window];
    for (const g of this.groups) {
      const w = this.sampleOne(g.sampler, g.source, nowMs);
      if (w !== undefined) round.push(w);
    }
    this.round = round;
    return window;
  }

  private sampleOne(
    sampler: WindowSampler,
    source: RunSource,
    nowMs: number,
  ): ReportWindow | undefined {
    try {
      const window = sampler.sample(
        nowMs,
        source.startedAtMs,
        source.workflowResults(),
        source.vus(),
      );
      this.runner.push(window);
      return window;
    } catch (error) {
      if (this.problems.length < 10) this.problems.push(`sampling failed: ${describeError(error)}`);
      return undefined;
    }
  }

  /** Stops the timer and takes the last sample (the tail of the run since the previous one). */
  stop(nowMs?: number): void {
    if (!this.sampling) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sample(nowMs);
    this.sampling = false;
  }

  /** The whole run's kept windows. */
  series(): ReportWindow[] {
    return this.sampler.series();
  }

  /** The windows of the latest sample (the run's, then each group's, labelled). */
  lastRound(): readonly ReportWindow[] {
    return this.round;
  }

  /** Each group's kept windows, with its labels. */
  groupSeries(): { labels: Labels; series: ReportWindow[] }[] {
    return this.groups.map((g) => ({ labels: g.labels, series: g.sampler.series() }));
  }

  /** Delivers the final report (bounded by the policy's deadline) and returns the outcomes. */
  async finish(
    results: RunResults,
    breakdown?: readonly BreakdownGroup[],
  ): Promise<ReporterOutcome[]> {
    this.stop();
    return this.runner.finish({
      results,
      series: this.series(),
      labels: this.labels,
      ...(breakdown !== undefined ? { breakdown } : {}),
    });
  }
}

/** One line for the terminal: each reporter's state, failed ones with their last error. */
export function describeOutcomes(outcomes: readonly ReporterOutcome[]): string {
  return outcomes
    .map((o) => {
      if (o.state === 'failed') return `${o.name} FAILED (${o.error ?? 'unknown error'})`;
      const extra = [
        `${o.delivered} window${o.delivered === 1 ? '' : 's'}`,
        o.retries > 0 ? `${o.retries} retr${o.retries === 1 ? 'y' : 'ies'}` : '',
        o.dropped > 0 ? `${o.dropped} dropped` : '',
      ].filter((s) => s !== '');
      return `${o.name} ok (${extra.join(', ')})`;
    })
    .join(', ');
}
