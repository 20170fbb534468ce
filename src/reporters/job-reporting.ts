// A cluster job's reporting on its owner gate: the job's reporters (file paths confined to
// <reports dir>/<job>/) driven by the same ReportSession as `salvo run`, sampled on the gate's
// clock once per window, the whole job labelled `dc="*"` and each datacenter `dc="<name>"`; at
// the end the final report (with the per-DC breakdown) is delivered once, the kept series and
// the reporters' failures go into the results. A failing or slow reporter never fails the job.
// Also keeps the newest sampled windows (whole job and each DC) for the job's live stream to
// watchers (`salvo watch --dashboard`).
import { join } from 'node:path';
import { describeError } from '../errors.js';
import type { RunResults, SeriesWindow, StatsWindow } from '../stats/types.js';
import type { ReporterConfig } from './config.js';
import {
  addDcSeries,
  addDcSteps,
  DC_SERIES_BUDGET_BYTES,
  DcGroups,
  type GroupWorkflow,
} from './dc-groups.js';
import { confineReporter } from './job-config.js';
import { entryFor } from './registry.js';
import type { ReporterEntry, ReporterPolicy } from './runner.js';
import { ReportSession, describeOutcomes, type RunSource } from './session.js';
import type { BreakdownGroup, Reporter, ReporterOutcome, ReportWindow } from './types.js';

/** Points of a job's series kept in its results (the report's charts). */
export const JOB_SERIES_POINTS = 300;
/**
 * Sample rounds (each: the whole job's window and each DC's) a live snapshot carries, so a
 * watcher that misses a snapshot or two misses no window (it drops the ones it has).
 */
export const LIVE_ROUNDS = 3;
/** Bytes (as JSON) of kept windows a new watcher's first snapshot may carry as history. */
export const HISTORY_BUDGET_BYTES = 256 * 1024;
/**
 * Bytes (as JSON) a job's results may reach with the DCs' series added: the results travel in
 * one `job.result` frame (1 MiB at most) with the job's other fields.
 */
export const RESULTS_BUDGET_BYTES = 768 * 1024;

export interface JobReportingOptions {
  /**
   * Where file reporters write, one directory per job (`<reportsDir>/<job>/`). Null: this gate
   * runs no reporters, and refuses jobs that carry some.
   */
  readonly reportsDir: string | null;
  readonly policy?: Partial<ReporterPolicy>;
  readonly maxSeriesPoints?: number;
  /**
   * Reporters the gate process adds to every job it owns, after the job's own (e.g. its
   * dashboard, `salvo gate --dashboard-port`); isolated like the others.
   */
  readonly observers?: (job: string, file: string) => readonly Reporter[];
}

export interface JobReportingSpec {
  readonly job: string;
  readonly file: string;
  readonly workflows: readonly GroupWorkflow[];
  /** Validated configs (validateJobReporters). */
  readonly reports: readonly ReporterConfig[];
  readonly windowMs: number;
}

export interface JobReportingEnd {
  readonly outcomes: ReporterOutcome[];
  /** One line for logs and the client, or undefined when the job had no reporter. */
  readonly summary: string | undefined;
}

/** The directory a job's file reporters write to. */
export function jobReportsDir(reportsDir: string, job: string): string {
  return join(reportsDir, job);
}

const withoutLabels = ({ labels, ...point }: ReportWindow): SeriesWindow => (void labels, point);

export class JobReporting {
  private readonly session: ReportSession;
  private groups: DcGroups | null = null;
  private startedAtMs = 0;
  private state: 'new' | 'running' | 'finishing' | 'done' = 'new';
  /** The newest LIVE_ROUNDS sample rounds, oldest first. */
  private readonly recent: (readonly ReportWindow[])[] = [];

  /** Throws ReporterConfigError when a config cannot run here (e.g. a path escaping the dir). */
  constructor(
    private readonly spec: JobReportingSpec,
    options: JobReportingOptions,
  ) {
    const entries: ReporterEntry[] = [];
    spec.reports.forEach((config, i) => {
      const dir = options.reportsDir === null ? null : jobReportsDir(options.reportsDir, spec.job);
      const what = `reports[${i}] (${config.kind})`;
      const confined = dir === null ? config : confineReporter(config, dir, what);
      entries.push(entryFor(confined, `job ${spec.job}`));
    });
    for (const reporter of options.observers?.(spec.job, spec.file) ?? [])
      entries.push({ reporter });
    this.session = new ReportSession(entries, {
      windowMs: spec.windowMs,
      labels: { job: spec.job },
      groupKeys: ['dc'],
      manual: true,
      maxPoints: options.maxSeriesPoints ?? JOB_SERIES_POINTS,
      ...(options.policy !== undefined ? { policy: options.policy } : {}),
    });
  }

  /** The reporters' names (as the outcomes will list them). */
  get names(): string[] {
    return this.session.runner.names;
  }

  /** Starts the reporters; `source` is the whole job as the gate's run merges it. */
  start(startedAtMs: number, source: RunSource): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.startedAtMs = startedAtMs;
    this.groups = new DcGroups(this.spec.workflows, (workflow) => {
      const w = source.workflowResults().find((r) => r.name === workflow);
      return w?.startedAt ? Date.parse(w.startedAt) : startedAtMs;
    });
    this.session.start(
      {
        runId: this.spec.job,
        file: this.spec.file,
        startedAtMs,
        workflows: this.spec.workflows.map((w) => w.name),
      },
      source,
    );
  }

  /** One window the gate merged from `dc` (each window once). */
  window(dc: string, source: string, window: StatsWindow): void {
    if (this.state !== 'running' || this.groups === null) return;
    const taken = this.groups.apply(dc, source, window);
    if (taken?.isNew === true)
      this.session.addGroup({ dc }, this.groups.source(dc, this.startedAtMs));
  }

  /** Samples the job and each DC now (the gate calls it once per window). */
  sample(nowMs: number): void {
    if (this.state !== 'running') return;
    this.session.sample(nowMs);
    const round = this.session.lastRound();
    if (round.length === 0) return;
    this.recent.push(round);
    if (this.recent.length > LIVE_ROUNDS) this.recent.shift();
  }

  /** The windows of the newest sample rounds (labelled `dc`), for a live snapshot. */
  liveWindows(): ReportWindow[] {
    return this.state === 'running' ? this.recent.flat() : [];
  }

  /**
   * Every kept window (the whole job's, then each DC's) for a new watcher, when they fit
   * HISTORY_BUDGET_BYTES; else only the newest rounds.
   */
  history(): ReportWindow[] {
    if (this.state !== 'running') return [];
    const all = [...this.session.series(), ...this.session.groupSeries().flatMap((g) => g.series)];
    return JSON.stringify(all).length <= HISTORY_BUDGET_BYTES ? all : this.liveWindows();
  }

  /**
   * Takes the last sample, puts the kept series into `results`, delivers the final report with
   * the per-DC breakdown (bounded by the policy's deadline) and notes failed reporters in
   * `results`. Never throws; a second call finds nothing to do.
   */
  async finish(results: RunResults, nowMs: number): Promise<JobReportingEnd> {
    if (this.state !== 'running') return { outcomes: [], summary: undefined };
    this.state = 'finishing';
    this.session.stop(nowMs);
    results.series = this.session.series().map(withoutLabels);
    let breakdown: BreakdownGroup[];
    try {
      breakdown = this.groups?.breakdown(results) ?? [];
    } catch (error) {
      results.run.notes.push(`reporting: per-datacenter breakdown failed: ${describeError(error)}`);
      breakdown = [];
    }
    if (results.distributed !== undefined) {
      const seriesByDc = new Map<string, SeriesWindow[]>();
      for (const g of this.session.groupSeries()) {
        const dc = g.labels['dc'];
        if (dc !== undefined) seriesByDc.set(dc, g.series.map(withoutLabels));
      }
      try {
        addDcSteps(results.distributed, breakdown);
        // What room the job.result frame leaves (the results and the rest of the message).
        const room = RESULTS_BUDGET_BYTES - JSON.stringify(results).length;
        addDcSeries(
          results.distributed,
          seriesByDc,
          Math.max(0, Math.min(DC_SERIES_BUDGET_BYTES, room)),
        );
      } catch (error) {
        results.run.notes.push(`reporting: per-datacenter details failed: ${describeError(error)}`);
      }
    }
    const outcomes = await this.session.finish(results, breakdown);
    this.state = 'done';
    for (const problem of this.session.problems) results.run.notes.push(`reporting: ${problem}`);
    for (const o of outcomes) {
      if (o.state === 'failed')
        results.run.notes.push(`reporter '${o.name}' failed: ${o.error ?? 'unknown error'}`);
    }
    return {
      outcomes,
      summary: outcomes.length > 0 ? `reporters: ${describeOutcomes(outcomes)}` : undefined,
    };
  }

  /** Stops every reporter at once (the job lost its owner, the gate is stopping). */
  async abort(reason: string): Promise<ReporterOutcome[]> {
    if (this.state === 'done') return this.session.runner.outcomes();
    this.state = 'done';
    this.session.stop();
    return this.session.runner.abort(reason);
  }
}
