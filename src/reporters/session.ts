// A run's reporting: samples the run once per window (sampler.ts), hands each window to the
// reporter runner, and at the end delivers the final report and returns the outcomes and the
// kept series. The run only calls start/stop/finish; nothing here can fail or slow it.
import { describeError } from '../errors.js';
import type { WorkflowResult, RunResults } from '../stats/types.js';
import { ReporterRunner, type ReporterEntry, type ReporterPolicy } from './runner.js';
import { WindowSampler } from './sampler.js';
import type { Labels, ReporterOutcome, ReportStart, ReportWindow } from './types.js';

export interface RunSource {
  startedAtMs: number;
  workflowResults(): WorkflowResult[];
  /** Busy VUs per workflow now. */
  vus(): ReadonlyMap<string, number>;
}

export class ReportSession {
  readonly runner: ReporterRunner;
  private readonly sampler: WindowSampler;
  private readonly windowMs: number;
  private readonly labels: Labels;
  private timer: NodeJS.Timeout | undefined;
  private source: RunSource | undefined;
  /** Sampling problems (never thrown): reported with the outcomes. */
  readonly problems: string[] = [];

  constructor(
    entries: readonly ReporterEntry[],
    options: { windowMs: number; labels?: Labels; policy?: Partial<ReporterPolicy> },
  ) {
    this.runner = new ReporterRunner(entries, options.policy);
    this.labels = options.labels ?? {};
    this.sampler = new WindowSampler(this.labels, undefined, options.windowMs);
    this.windowMs = options.windowMs;
  }

  start(info: Omit<ReportStart, 'labels'>, source: RunSource): void {
    this.source = source;
    this.runner.start({ ...info, labels: this.labels });
    this.timer = setInterval(() => this.sample(), this.windowMs);
    this.timer.unref();
  }

  /** Takes one sample now (also called by the timer); returns it, or undefined on a problem. */
  sample(nowMs = Date.now()): ReportWindow | undefined {
    const source = this.source;
    if (!source) return undefined;
    try {
      const window = this.sampler.sample(
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
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  series(): ReportWindow[] {
    return this.sampler.series();
  }

  /** Delivers the final report (bounded by the policy's deadline) and returns the outcomes. */
  async finish(results: RunResults): Promise<ReporterOutcome[]> {
    this.stop();
    return this.runner.finish({ results, series: this.series(), labels: this.labels });
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
