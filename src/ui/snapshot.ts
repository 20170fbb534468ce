// The live view's input: what the main thread knows about a run right now, already merged.
// Produced by the run aggregate once per refresh; consumed by the terminal renderers.

export interface LiveStepRow {
  name: string;
  count: number;
  ok: number;
  failed: number;
  /** Cumulative percentiles in milliseconds; null before the first sample. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface LiveWorkflow {
  name: string;
  status: 'waiting' | 'running' | 'stopping' | 'completed' | 'interrupted' | 'failed' | 'skipped';
  executor: string;
  elapsedMs: number;
  /** Planned duration of this workflow, or null when it is not known in advance. */
  plannedMs: number | null;
  activeVus: number;
  allocatedVus: number;
  /** Actions (step executions) per second over the last second. */
  rpsNow: number;
  count: number;
  ok: number;
  failed: number;
  dropped: number;
  /** Actions per second, one point per second since the workflow started (bounded, oldest merged). */
  rpsSeries: number[];
  steps: LiveStepRow[];
}

export interface LiveSnapshot {
  file: string;
  workers: number;
  elapsedMs: number;
  /** Planned duration of the whole run, or null when unknown. */
  plannedMs: number | null;
  /** A one-line state such as "running", "stopping: waiting for in-flight requests (2s grace)". */
  phase: string;
  workflows: LiveWorkflow[];
}
