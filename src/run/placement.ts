// Owns the contract between a run and where its work executes (docs/cluster-jobs.md, "One run,
// two placements"): the calls a run makes and the reports it gets back. Calls and reports are
// plain serialisable data, so a placement may carry them to threads or to cluster workers.
import type { NetworkTotals, PublishedValue } from '../engine/job.js';
import type { ExecutorShare } from '../engine/plan.js';
import type { StatsWindow } from '../stats/types.js';

/** A workflow bundle by content address: its SHA-256 (hex) and the file it was built from. */
export interface BundleRef {
  hash: string;
  /** The workflow file as the user named it (absolute), to name lines in error samples. */
  source: string;
}

/** Output a unit dropped because the workflow printed faster than it could be shown. */
export interface DroppedOutput {
  writes: number;
  bytes: number;
}

/** Runs one workflow's setup or teardown hook once. */
export interface HookCall {
  bundle: BundleRef;
  workflow: string;
  hook: 'setup' | 'teardown';
  timeoutMs: number;
  /** Overrides the workflow's baseUrl (salvo run --target); null keeps the workflow's own. */
  baseUrl: string | null;
  /** Values the workflow's dependencies published, by dependency name. */
  context: Record<string, unknown>;
  /** What setup returned (teardown only); undefined (absent on the wire) when nothing. */
  data?: unknown;
}

export interface RunningHookCall {
  /** The hook's return value (JSON round-tripped); rejects with a HookError. */
  readonly result: Promise<unknown>;
  /** Ends the hook at once; `result` rejects naming `reason`. Idempotent. */
  stop(reason: string): void;
  /** Output the hook dropped; final once `result` settles. */
  readonly droppedOutput?: DroppedOutput;
}

/** Spreads one workflow (its `share` of the executor) over the placement's units. */
export interface WorkflowCall {
  bundle: BundleRef;
  workflow: string;
  share: ExecutorShare;
  /**
   * Where this placement's units sit among all units running the workflow (VU ids stay unique
   * across machines): units are numbered `first`, `first + 1`, … of `total`. Null: the
   * placement's units are all there is.
   */
  lanes: { first: number; total: number } | null;
  /** What setup returned; undefined (absent on the wire) when nothing. */
  data?: unknown;
  context: Record<string, unknown>;
  baseUrl: string | null;
  windowMs: number;
  /** How long in-flight iterations may finish after a cancel. */
  cancelGraceMs: number;
}

/** How one unit's part of a workflow ended. */
export interface PlacementPart {
  /** The unit, as messages name it: `worker 0` locally, `dc-a/w1#2` in a cluster. */
  unit: string;
  /** Why the part failed (an error outcome, a crash, a terminated unit); absent when it did not. */
  failure?: string;
  /** The part ended by a cancel. */
  cancelled: boolean;
  published: Record<string, PublishedValue>;
  /** Requests written and bytes on the wire; absent when the unit never finalized. */
  network?: NetworkTotals;
  /** Iterations still running when the graceful stop ran out. */
  interrupted: number;
  notes: string[];
  droppedOutput?: DroppedOutput;
}

export interface PlacementReport {
  parts: PlacementPart[];
}

export interface PlacedWorkflow {
  /** Resolves once every unit's part has ended; never rejects for a part's failure. */
  readonly done: Promise<PlacementReport>;
  /** Starts cancel → drain → finalize on every unit still running. Idempotent. */
  cancel(reason: string): void;
  /**
   * Ends every part whose unit has sent nothing for `quietMs` (every part still running when
   * 0): a unit that does not yield cannot be asked to stop. Returns how many it ended.
   */
  terminateStalled(quietMs: number, why: string): number;
}

/** Where a run's work executes: threads of this machine, or workers of a cluster. */
export interface Placement {
  /** How many units work is spread over (threads locally, worker threads in a cluster). */
  readonly size: number;
  /** Runs one hook once, somewhere. */
  runHook(call: HookCall): RunningHookCall;
  /**
   * Spreads one workflow over the placement; every statistics window reaches `onWindow` with
   * its source (unique per unit and stable while it runs). May throw when the call cannot be
   * sent at all (data that does not serialise); the run fails the workflow with the message.
   */
  runWorkflow(
    call: WorkflowCall,
    onWindow: (source: string, window: StatsWindow) => void,
  ): PlacedWorkflow;
}
