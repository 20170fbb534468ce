// The one small interface every reporter implements (built-in sinks and user objects alike),
// and the data it receives: a run start, a stream of one-window samples, a final summary.
// Shapes only; delivery, isolation and retries live in runner.ts.
import type { RunResults, SeriesWindow } from '../stats/types.js';

export type { SeriesWindow, WindowStep, WindowWorkflow } from '../stats/types.js';

/** Labels every sample of a run carries (e.g. `run`, and in a distributed run `dc`, `worker`). */
export type Labels = Readonly<Record<string, string>>;

export interface ReportStart {
  runId: string;
  file: string;
  /** Epoch milliseconds. */
  startedAtMs: number;
  workflows: readonly string[];
  labels: Labels;
}

/** One window of the run as reporters receive it: the results' series point plus labels. */
export interface ReportWindow extends SeriesWindow {
  labels: Labels;
}

/**
 * One group of a distributed run's breakdown (a datacenter or a worker) with its own merged
 * result. Local runs have none; reporters that support labels emit each group with them.
 */
export interface BreakdownGroup {
  labels: Labels;
  results: RunResults;
}

export interface FinalReport {
  results: RunResults;
  /** Window samples kept for the run (bounded; see sampler.ts). */
  series: readonly SeriesWindow[];
  labels: Labels;
  breakdown?: readonly BreakdownGroup[];
}

/**
 * A reporter. Every method is optional and may be async; the runner calls them one at a time,
 * in order, with a timeout and retries, so an implementation needs no locking. A method that
 * throws is retried with backoff; one that keeps failing marks the reporter failed in the
 * summary without affecting the run or the other reporters.
 *
 * @example
 * const seen: ReportWindow[] = [];
 * workflow('w', { reporters: [{ name: 'mine', windows: (batch) => void seen.push(...batch) }] });
 */
export interface Reporter {
  /** Shown in the summary; unique within a run (the runner appends #2, #3 otherwise). */
  readonly name: string;
  start?(start: ReportStart): unknown;
  /** Windows in order; several at once when the reporter fell behind (batching). */
  windows?(batch: readonly ReportWindow[]): unknown;
  final?(report: FinalReport): unknown;
  close?(): unknown;
}

export type ReporterState = 'ok' | 'degraded' | 'failed';

/** How one reporter fared, for the summary and the results notes. */
export interface ReporterOutcome {
  name: string;
  state: ReporterState;
  /** Windows delivered, and windows dropped because the buffer was full or the reporter failed. */
  delivered: number;
  dropped: number;
  /** Failed calls that were retried. */
  retries: number;
  finalDelivered: boolean;
  /** The latest failure, if any. */
  error?: string;
}
