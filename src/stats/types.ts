// The data shapes statistics travel in: a worker thread's one-second window, and the
// versioned results document (`salvo.results/v1`). Shapes only; no behaviour lives here.

/**
 * A histogram in transit: only non-empty buckets. `buckets` is flattened pairs
 * `[bucketIndex, count, bucketIndex, count, …]` in ascending index order, where the index is
 * the one `Histogram` (src/stats/histogram.ts) uses; both ends use the same layout constants,
 * so merging is exact. `sum`/`sumSquares` are of the recorded values in microseconds.
 */
export interface SparseHistogram {
  count: number;
  min: number;
  max: number;
  sum: number;
  sumSquares: number;
  buckets: number[];
  /** Samples above the histogram's range (2^43−1), recorded as its top value. Absent when 0. */
  clamped?: number;
}

/** What one step did during one window on one thread. */
export interface StepWindow {
  count: number;
  ok: number;
  failed: number;
  /** Failures by kind: `connect_refused`, `timeout`, `status_503`, `check:<name>`, `exception`… */
  errors: Record<string, number>;
  /** One sample message per error kind (the first seen in the window), for the summary. */
  errorSamples: Record<string, string>;
  /** HTTP status codes seen, as strings ("200": 41). */
  statuses: Record<string, number>;
  /** Step duration in microseconds, successes and failures alike. */
  latency: SparseHistogram;
}

export interface CheckWindow {
  passes: number;
  fails: number;
}

export type MetricWindow =
  | { kind: 'counter'; value: number }
  | { kind: 'gauge'; value: number; min: number; max: number; atMs: number }
  | { kind: 'rate'; trues: number; total: number }
  | { kind: 'trend'; values: SparseHistogram };

/**
 * One thread's statistics for one workflow over one window (about a second), as shipped to
 * the main thread. Windows of a job carry consecutive `seq` numbers from 1, so the receiver
 * can merge each exactly once.
 */
export interface StatsWindow {
  workflow: string;
  seq: number;
  /** Wall-clock bounds of the window, epoch milliseconds. */
  startMs: number;
  endMs: number;
  /** VUs busy at the end of the window, and VUs allocated (open model: the pool size). */
  activeVus: number;
  allocatedVus: number;
  iterations: { started: number; completed: number; failed: number; dropped: number };
  steps: Record<string, StepWindow>;
  /** Check outcomes by step, then by check name. */
  checks: Record<string, Record<string, CheckWindow>>;
  metrics: Record<string, MetricWindow>;
  /**
   * The thread's event-loop delay samples (µs) since its previous window, whichever of the
   * thread's jobs ships them (src/stats/loop-delay.ts). Absent when there were none.
   */
  loopDelay?: SparseHistogram;
}

// ─── Results document, schema "salvo.results/v1" (schema/salvo.results.v1.json) ───

export const RESULTS_SCHEMA = 'salvo.results/v1' as const;

export interface LatencySummary {
  min: number;
  max: number;
  mean: number;
  stdev: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

/** Counts per interval since the workflow started: `counts[i]` covers [i·intervalMs, (i+1)·intervalMs). */
export interface Timeline {
  intervalMs: number;
  counts: number[];
  failures: number[];
}

export interface StepResult {
  name: string;
  count: number;
  ok: number;
  failed: number;
  /** count / workflow duration in seconds. */
  rps: number;
  errors: Record<string, number>;
  errorSamples: Record<string, string>;
  statuses: Record<string, number>;
  /** Step duration in milliseconds (microsecond resolution). */
  latencyMs: LatencySummary;
  timeline: Timeline;
  /** The exact histogram, so results can be merged again later without loss. */
  histogram: SparseHistogram;
}

export interface CheckResult {
  step: string;
  name: string;
  passes: number;
  fails: number;
}

export type MetricResult =
  | { name: string; kind: 'counter'; value: number; ratePerSecond: number }
  | { name: string; kind: 'gauge'; value: number; min: number; max: number }
  | { name: string; kind: 'rate'; rate: number; trues: number; total: number }
  | {
      name: string;
      kind: 'trend';
      summary: LatencySummary;
      count: number;
      histogram: SparseHistogram;
    };

export interface ThresholdResult {
  /** A step name, a custom metric name, or `*` for the whole workflow. */
  target: string;
  expression: string;
  /** The measured value the expression compared, in the expression's unit; null if no data. */
  actual: number | null;
  unit: 'ms' | '%' | '/s' | '';
  passed: boolean;
  /** Why the threshold could not be evaluated (unknown target, no data, wrong kind…). */
  message?: string;
  /** Marked `abortOnFail`: its failure stops the run early. */
  abortOnFail?: true;
  /** This threshold failed during the run and stopped it (see `run.abortedBy`). */
  abortedRun?: true;
}

/** Which abortOnFail threshold stopped the run early, and when. */
export interface RunAbort {
  workflow: string;
  target: string;
  expression: string;
  /** The measured value that failed it, in `unit`. */
  actual: number;
  unit: ThresholdResult['unit'];
  /** After the workflow's start. */
  afterMs: number;
}

export type WorkflowStatus = 'completed' | 'interrupted' | 'failed' | 'skipped';

export interface WorkflowResult {
  name: string;
  status: WorkflowStatus;
  /** Why the workflow failed or was skipped. */
  error?: string;
  executor: { type: string } & Record<string, unknown>;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number;
  vus: { max: number; allocated: number };
  /** `interrupted`: started but never ended (abandoned at the run's end or its interruption). */
  iterations: {
    started: number;
    completed: number;
    failed: number;
    dropped: number;
    interrupted?: number;
  };
  /** Step executions (a step that sends no request is counted too). */
  totals: { count: number; ok: number; failed: number; rps: number };
  /**
   * HTTP requests actually written (retries included) and bytes on the wire, from the worker
   * threads that finished their share (a thread terminated for not yielding cannot report).
   */
  network?: { requests: number; bytesSent: number; bytesReceived: number };
  steps: StepResult[];
  checks: CheckResult[];
  metrics: MetricResult[];
  thresholds: ThresholdResult[];
  timeline: Timeline;
}

/** Event-loop delay figures (ms) of one worker thread or of all merged. */
export type LoopDelaySummary = LatencySummary & { samples: number };

export interface LoopDelayResult {
  /** The sampling timer's period; each sample is how much later than it the timer ran. */
  resolutionMs: number;
  /** The summary warns when `merged.p99` exceeds it. */
  warnP99Ms: number;
  exceeded: boolean;
  merged: LoopDelaySummary;
  threads: (LoopDelaySummary & { worker: number })[];
  /** The merged samples in microseconds. */
  histogram: SparseHistogram;
}

/** How the load generator itself fared: its pauses show up as latency or missing load. */
export interface GeneratorResult {
  eventLoopDelay: LoopDelayResult;
}

export interface RunResults {
  schema: typeof RESULTS_SCHEMA;
  run: {
    id: string;
    file: string;
    startedAt: string;
    endedAt: string;
    durationMs: number;
    status: 'completed' | 'interrupted' | 'failed';
    exitCode: number;
    workers: number;
    salvoVersion: string;
    nodeVersion: string;
    host: { platform: string; arch: string; cpus: number; hostname: string };
    /** Run-level problems worth a line in the summary (hook failures, unreachable target…). */
    notes: string[];
    /** Console output of workflow code dropped because it came faster than it could be shown. */
    droppedOutput?: { writes: number; bytes: number };
    /** Set when a threshold marked abortOnFail failed and stopped the run early. */
    abortedBy?: RunAbort;
  };
  thresholds: { total: number; passed: number; failed: number };
  workflows: WorkflowResult[];
  /** Written by every local run; absent in documents of older versions. */
  generator?: GeneratorResult;
  /** Per-window samples of the run (bounded), for charts over time. Absent in older files. */
  series?: SeriesWindow[];
  /** A job run on a Salvo cluster: its id and each datacenter's and worker's share. */
  distributed?: DistributedResult;
}

/** What one datacenter or worker contributed (from the windows the owner gate merged). */
export interface SourceShare {
  windows: number;
  requests: number;
  ok: number;
  failed: number;
  iterationsCompleted: number;
  iterationsFailed: number;
}

/** One step of one workflow as one datacenter ran it (from that DC's merged histograms). */
export interface DcStepResult {
  workflow: string;
  step: string;
  count: number;
  failed: number;
  latencyMs: LatencySummary;
}

export interface DistributedResult {
  job: string;
  dcs: Record<
    string,
    SourceShare & {
      status: string;
      workers: Record<string, SourceShare>;
      /** Each step's count and latency in this DC. Absent in older files. */
      steps?: DcStepResult[];
      /** This DC's per-window samples (bounded, thinned like `series`). Absent in older files. */
      series?: SeriesWindow[];
    }
  >;
}

// ─── Per-window series (filled by src/reporters/sampler.ts) ───

/** One step over one window: counts in the window, latency percentiles of the window. */
export interface WindowStep {
  name: string;
  count: number;
  failed: number;
  /** Null when the step had no sample in the window. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface WindowWorkflow {
  name: string;
  /** VUs busy at the window's end. */
  vus: number;
  /** Actions in the window, and per second over it. */
  count: number;
  failed: number;
  rps: number;
  /** Failures in the window by kind. */
  errors: Record<string, number>;
  /** Totals since the workflow started. */
  total: { count: number; ok: number; failed: number };
  steps: WindowStep[];
  /** Thresholds evaluated on the totals so far. */
  thresholds: ThresholdResult[];
}

/** What happened during one window (about a second) of the run, merged over every thread. */
export interface SeriesWindow {
  /** 1-based, consecutive within a run. */
  seq: number;
  /** Window end, epoch milliseconds, and offset from the run's start. */
  atMs: number;
  elapsedMs: number;
  intervalMs: number;
  workflows: WindowWorkflow[];
}
